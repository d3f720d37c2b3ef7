import CTickwireShim
import Glibc
import Reactor

/// The pipe on which workers say they listen. The supervisor reads it on its
/// reactor; every worker inherits the write end as WorkerEnvironment's
/// descriptor and writes one `INDEX PID` line.
final class ReadyPipe {
    private(set) var readFD: Int32 = -1
    private(set) var writeFD: Int32 = -1
    /// A line cut by a read boundary, kept for the next read.
    private var partial: [UInt8] = []

    init() throws(SystemError) {
        var fds: [Int32] = [-1, -1]
        try systemCallOrThrow("pipe2") { fds.withUnsafeMutableBufferPointer { tw_pipe_cloexec_nonblocking($0.baseAddress) } }
        readFD = fds[0]
        writeFD = fds[1]
    }

    deinit {
        precondition(readFD < 0 && writeFD < 0, "ReadyPipe released without close()")
    }

    /// Every complete `INDEX PID` line available now.
    func readReports() throws(SystemError) -> [(index: Int, pid: Int32)] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let result = try systemCall("read(ready pipe)") {
                buffer.withUnsafeMutableBytes { Glibc.read(readFD, $0.baseAddress, $0.count) }
            }
            guard case .done(let count) = result, count > 0 else { break }
            partial += buffer[0..<count]
        }
        var reports: [(index: Int, pid: Int32)] = []
        while let newline = partial.firstIndex(of: UInt8(ascii: "\n")) {
            let fields = String(decoding: partial[..<newline], as: UTF8.self).split(separator: " ")
            partial.removeSubrange(...newline)
            if fields.count == 2, let index = Int(fields[0]), let pid = Int32(fields[1]) {
                reports.append((index, pid))
            }
        }
        return reports
    }

    func close() {
        for fd in [readFD, writeFD] where fd >= 0 { closeDescriptor(fd) }
        readFD = -1
        writeFD = -1
    }
}

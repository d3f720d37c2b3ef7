import CTickwireShim
import Glibc

/// Reads and writes on non-blocking stream sockets. Every call returns at once.
public enum SocketIO {
    /// What one read produced.
    public enum ReadOutcome: Equatable {
        case bytes(Int)
        /// The peer closed its side in order.
        case endOfStream
        case wouldBlock
    }

    public static func read(fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> ReadOutcome {
        switch try systemCall("read", { Glibc.read(fd, buffer.baseAddress, buffer.count) }) {
        case .wouldBlock: return .wouldBlock
        case .done(0): return .endOfStream
        case .done(let count): return .bytes(count)
        }
    }

    /// Sends what it can of `bytes` without blocking; returns the count sent
    /// (0 when the socket buffer is full).
    public static func send(fd: Int32, bytes: UnsafeRawBufferPointer) throws(SystemError) -> Int {
        guard bytes.count > 0 else { return 0 }
        var vector = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count)
        switch try systemCall("sendmsg", { tw_sendmsg_nosignal(fd, &vector, 1) }) {
        case .wouldBlock: return 0
        case .done(let count): return count
        }
    }
}

import CTickwireShim
import Glibc

/// SIGTERM and SIGINT delivered as reads on a signalfd. The signals are
/// blocked for the process first, so they can only arrive through this fd and
/// a signal handler never runs in the middle of reactor code.
public final class SignalSource {
    public let fd: Int32
    private let signals: [Int32]

    public init(signals: [Int32] = [SIGTERM, SIGINT]) throws(SystemError) {
        self.signals = signals
        self.fd = try systemCallOrThrow("signalfd") {
            signals.withUnsafeBufferPointer { tw_signalfd_for($0.baseAddress, Int32($0.count)) }
        }
    }

    /// Drains pending signals; returns their numbers in arrival order.
    public func readPending() throws(SystemError) -> [Int32] {
        var received: [Int32] = []
        let size = tw_signalfd_siginfo_size()
        let info = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { info.deallocate() }
        while true {
            let result = try systemCall("read(signalfd)") { Glibc.read(fd, info, size) }
            guard case .done(let count) = result, count == size else { return received }
            received.append(tw_signalfd_siginfo_signo(info))
        }
    }

    /// Closes the fd and unblocks the signals, so a second signal after the
    /// reactor is gone gets the default action instead of being swallowed.
    public func close() {
        closeDescriptor(fd)
        _ = signals.withUnsafeBufferPointer { tw_unblock_signals($0.baseAddress, Int32($0.count)) }
    }
}

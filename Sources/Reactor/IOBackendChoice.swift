/// The backend `--io` asks for. io_uring is opt-in: Docker's and containerd's
/// default seccomp profiles block it, and then epoll runs instead.
public enum IOBackendChoice: String, CaseIterable, Sendable {
    /// Level-triggered epoll.
    case epoll
    /// io_uring polls and batched sends, falling back to epoll when the
    /// kernel refuses io_uring.
    case ioUring = "io_uring"
}

/// The backend that was opened, and why io_uring was passed over, if it was.
public struct OpenedBackend {
    public let backend: PollerBackend
    /// Set when io_uring was asked for but could not be set up (seccomp EPERM,
    /// ENOSYS, kernel.io_uring_disabled, a kernel without the poll opcodes).
    public let fallbackReason: SystemError?
    /// io_uring's batched sends; nil on epoll, or when the kernel polls but
    /// cannot send through io_uring (then `sendBatchFailure` says why).
    public let sendBatch: UringSendBatch?
    public let sendBatchFailure: SystemError?
}

extension PollerBackend {
    /// Opens the chosen backend; an io_uring that cannot be set up falls back
    /// to epoll and says why. Only epoll's own failure is thrown.
    public static func open(_ choice: IOBackendChoice) throws(SystemError) -> OpenedBackend {
        var reason: SystemError?
        if choice == .ioUring {
            do {
                let poller = try UringPoller()
                do {
                    return OpenedBackend(backend: .ioUring(poller), fallbackReason: nil,
                                         sendBatch: try UringSendBatch(), sendBatchFailure: nil)
                } catch {
                    return OpenedBackend(backend: .ioUring(poller), fallbackReason: nil,
                                         sendBatch: nil, sendBatchFailure: error)
                }
            } catch {
                reason = error
            }
        }
        return OpenedBackend(backend: .epoll(try EpollPoller()), fallbackReason: reason,
                             sendBatch: nil, sendBatchFailure: nil)
    }
}

/// The readiness backends the reactor can run on. An enum rather than an
/// existential so each call is a direct, inlinable switch on the hot path.
public enum PollerBackend {
    /// Level-triggered epoll: the default, and the fallback.
    case epoll(EpollPoller)
    /// io_uring single-shot polls, submitted in one batch with each wait.
    case ioUring(UringPoller)

    public var poller: any Poller {
        switch self {
        case .epoll(let poller): return poller
        case .ioUring(let poller): return poller
        }
    }

    @inline(__always)
    func poll(timeoutNanos: Int64, _ body: (ReadyEvent) -> Void) throws(SystemError) {
        switch self {
        case .epoll(let poller): try poller.poll(timeoutNanos: timeoutNanos, body)
        case .ioUring(let poller): try poller.poll(timeoutNanos: timeoutNanos, body)
        }
    }
}

import Glibc

/// What an errno means to the code that got it, decided in one place for
/// every path that reports one: system calls (`systemCall`), io_uring
/// completions (a negated errno in `res`), and OpenSSL's SSL_ERROR_SYSCALL
/// (errno left by the read or write OpenSSL made itself).
public enum ErrnoClass: Equatable {
    /// A signal interrupted the call before it did anything: make it again.
    case interrupted
    /// A non-blocking call found the descriptor not ready: wait for readiness.
    case wouldBlock
    /// A real failure of this call, for the caller to handle or report.
    case failed(SystemError)

    /// Classifies `code` from the call named `call`. EBADF and EFAULT trap:
    /// they mean our own bookkeeping is wrong, and carrying on would read or
    /// write someone else's descriptor or memory. `nonBlocking: false` is for
    /// calls that cannot legitimately say EAGAIN, where it is a failure.
    @inline(__always)
    public static func of(_ code: Int32, call: @autoclosure () -> String, nonBlocking: Bool = true) -> ErrnoClass {
        switch code {
        case EINTR:
            return .interrupted
        case EAGAIN where nonBlocking, EWOULDBLOCK where nonBlocking:
            return .wouldBlock
        case EBADF, EFAULT:
            preconditionFailure("\(call()) failed with errno \(code): a descriptor or buffer was invalid")
        default:
            return .failed(SystemError(call: call(), errno: code))
        }
    }
}

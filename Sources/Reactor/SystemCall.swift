import CTickwireShim
import Glibc

/// An errno that a system call returned, with the call's name for the log.
public struct SystemError: Error, CustomStringConvertible, Equatable {
    public let call: String
    public let errno: Int32

    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String {
        "\(call): \(String(cString: strerror(errno))) (errno \(errno))"
    }

    /// The same errno with what it stopped in front, so that "bind: Address
    /// already in use" says which of several listeners: "gRPC listener
    /// (--listen): bind(0.0.0.0:50051): Address already in use".
    public func within(_ context: String) -> SystemError {
        SystemError(call: "\(context): \(call)", errno: errno)
    }
}

/// What a non-blocking call did: progress, or "come back when ready".
public enum IOResult<Value> {
    case done(Value)
    case wouldBlock
}

/// The one wrapper every system call goes through. It retries EINTR, turns
/// EAGAIN into `.wouldBlock` for non-blocking calls, and traps on EBADF and
/// EFAULT (ErrnoClass decides which is which).
@inline(__always)
public func systemCall<T: BinaryInteger>(
    _ name: StaticString, blocking: Bool = false, _ body: () -> T
) throws(SystemError) -> IOResult<T> {
    while true {
        let result = body()
        if result >= 0 { return .done(result) }
        switch ErrnoClass.of(tw_errno(), call: "\(name)", nonBlocking: !blocking) {
        case .interrupted: continue
        case .wouldBlock: return .wouldBlock
        case .failed(let error): throw error
        }
    }
}

/// For calls that cannot return EAGAIN (setup calls, epoll_ctl, close).
@inline(__always)
@discardableResult
public func systemCallOrThrow<T: BinaryInteger>(_ name: StaticString, _ body: () -> T) throws(SystemError) -> T {
    switch try systemCall(name, blocking: true, body) {
    case .done(let value): return value
    case .wouldBlock: preconditionFailure("blocking call \(name) reported EAGAIN")
    }
}

/// Closes a descriptor we own. EINTR after close must not be retried on Linux
/// (the descriptor is already gone), so this does not go through `systemCall`.
public func closeDescriptor(_ fd: Int32) {
    precondition(fd >= 0, "closing an invalid descriptor")
    _ = Glibc.close(fd)
}

/// Which readiness a registration asks for.
public struct Interest: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let read = Interest(rawValue: 1)
    public static let write = Interest(rawValue: 2)
}

/// What the kernel reported for one descriptor.
public struct Readiness: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let readable = Readiness(rawValue: 1)
    public static let writable = Readiness(rawValue: 2)
    /// Peer hung up or the socket is in error: read to learn which.
    public static let hangup = Readiness(rawValue: 4)
}

public struct ReadyEvent: Sendable {
    public let token: EventToken
    public let readiness: Readiness
}

/// The whole contract between the reactor and a readiness backend, kept as
/// small as Redis's ae backends: everything above it never knows whether it
/// runs on epoll or io_uring.
public protocol Poller: AnyObject {
    var backendName: String { get }
    /// Whether `poll`'s timeout is kept to the nanosecond (else it is rounded
    /// up to whole milliseconds, and an exact timer fires up to 1 ms late).
    var waitsInNanoseconds: Bool { get }
    func register(fd: Int32, token: EventToken, interest: Interest) throws(SystemError)
    func modify(fd: Int32, token: EventToken, interest: Interest) throws(SystemError)
    /// Call before closing the descriptor. epoll forgets a closed descriptor
    /// by itself; an io_uring poll holds the file (the socket stays open) and
    /// the registration until it is removed here.
    func unregister(fd: Int32) throws(SystemError)
    /// Waits at most `timeoutNanos` (-1: forever) and hands each event to
    /// `body`. Nanoseconds, not epoll_wait's milliseconds: a linger window of
    /// a few hundred microseconds must end when it says (TimerPrecision).
    func poll(timeoutNanos: Int64, _ body: (ReadyEvent) -> Void) throws(SystemError)
    func close()
}

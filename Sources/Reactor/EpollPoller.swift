import CTickwireShim
import Glibc

/// Level-triggered epoll. Level triggering lets a handler read once per wakeup
/// and leave the rest for the next iteration, which keeps connections fair.
public final class EpollPoller: Poller {
    private var epollFD: Int32
    private let events: UnsafeMutableRawPointer
    private let eventCapacity: Int
    private let eventSize: Int

    public var backendName: String { "epoll" }
    public var waitsInNanoseconds: Bool { tw_epoll_waits_in_nanoseconds() != 0 }

    public init(eventCapacity: Int = 1024) throws(SystemError) {
        precondition(eventCapacity > 0)
        self.epollFD = try systemCallOrThrow("epoll_create1") { tw_epoll_create() }
        self.eventCapacity = eventCapacity
        self.eventSize = tw_epoll_event_size()
        // Raw bytes because epoll_event is packed; the shim reads its fields.
        self.events = UnsafeMutableRawPointer.allocate(byteCount: eventCapacity * eventSize, alignment: 8)
        // One wait that cannot block, so the startup log already knows
        // whether epoll_pwait2 works here (waitsInNanoseconds).
        _ = tw_epoll_wait_nanos(epollFD, events.assumingMemoryBound(to: epoll_event.self), 1, 0)
    }

    deinit {
        precondition(epollFD < 0, "EpollPoller released without close()")
        events.deallocate()
    }

    public func register(fd: Int32, token: EventToken, interest: Interest) throws(SystemError) {
        try systemCallOrThrow("epoll_ctl(ADD)") {
            tw_epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, Self.mask(interest), token.packed)
        }
    }

    public func modify(fd: Int32, token: EventToken, interest: Interest) throws(SystemError) {
        try systemCallOrThrow("epoll_ctl(MOD)") {
            tw_epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, Self.mask(interest), token.packed)
        }
    }

    public func unregister(fd: Int32) throws(SystemError) {
        try systemCallOrThrow("epoll_ctl(DEL)") { tw_epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, 0, 0) }
    }

    public func poll(timeoutNanos: Int64, _ body: (ReadyEvent) -> Void) throws(SystemError) {
        let count: Int32
        switch try systemCall("epoll_pwait2", blocking: true, {
            // Safe because `events` holds eventCapacity entries of the kernel's layout.
            tw_epoll_wait_nanos(epollFD, events.assumingMemoryBound(to: epoll_event.self), Int32(eventCapacity),
                                timeoutNanos)
        }) {
        case .done(let n): count = n
        case .wouldBlock: return
        }
        for index in 0..<Int(count) {
            let event = (events + index * eventSize).assumingMemoryBound(to: epoll_event.self)
            guard let token = EventToken(packed: tw_epoll_event_token(event)) else { continue }
            body(ReadyEvent(token: token, readiness: Self.readiness(tw_epoll_event_mask(event))))
        }
    }

    public func close() {
        guard epollFD >= 0 else { return }
        closeDescriptor(epollFD)
        epollFD = -1
    }

    private static func mask(_ interest: Interest) -> UInt32 {
        var mask = UInt32(EPOLLRDHUP.rawValue)
        if interest.contains(.read) { mask |= UInt32(EPOLLIN.rawValue) }
        if interest.contains(.write) { mask |= UInt32(EPOLLOUT.rawValue) }
        return mask
    }

    private static func readiness(_ mask: UInt32) -> Readiness {
        var readiness: Readiness = []
        if mask & UInt32(EPOLLIN.rawValue) != 0 { readiness.insert(.readable) }
        if mask & UInt32(EPOLLOUT.rawValue) != 0 { readiness.insert(.writable) }
        if mask & UInt32(EPOLLERR.rawValue | EPOLLHUP.rawValue | EPOLLRDHUP.rawValue) != 0 {
            readiness.insert(.hangup)
        }
        return readiness
    }
}

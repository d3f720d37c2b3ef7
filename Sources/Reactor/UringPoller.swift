import CURing
import Glibc

/// io_uring as a readiness backend, with EpollPoller's level-triggered
/// semantics: a handler may read once per wakeup and is woken again while
/// data remains.
///
/// Each registered descriptor has one single-shot IORING_OP_POLL_ADD in
/// flight. When it completes, the poll is armed again before the next wait,
/// and arming re-checks the descriptor's state at once, so a socket left
/// readable reports again: that is level triggering. A multishot poll would
/// save those re-arms, but it fires on wakeups (new data), not on state, so a
/// handler that leaves bytes unread would never hear of them again.
///
/// Registrations, changes and re-arms are queued as SQEs during an iteration
/// and submitted together with the wait in one io_uring_enter.
public final class UringPoller: Poller {
    /// Where one descriptor's poll stands.
    enum PollState {
        /// No registration: a completion for this descriptor is stale.
        case unregistered
        /// A poll is queued or in the kernel, tagged with the current epoch.
        case armed
        /// The poll completed this iteration; it is armed again before the next wait.
        case fired
    }

    struct Registration {
        var state = PollState.unregistered
        var token = EventToken(kind: .listener)
        var interest: Interest = []
        /// Bumped whenever a poll is armed or dropped, so the completion of an
        /// earlier poll (cancelled, or for a closed descriptor whose number
        /// was reused) never matches the registration that follows it.
        var epoch: UInt32 = 0
    }

    private let ring: UnsafeMutablePointer<io_uring>
    private var isOpen = true
    private let completions: UnsafeMutablePointer<tw_uring_completion>
    private let completionCapacity: Int
    /// Indexed by descriptor; grown as higher descriptors are registered.
    private var registrations: [Registration] = []
    /// Descriptors whose poll fired and must be armed again before the next wait.
    private var rearmQueue: [Int32] = []

    /// The tag's top bit marks a poll removal (and liburing's own timeout,
    /// all ones): their completions carry nothing for the reactor.
    private static let controlTag: UInt64 = 1 << 63
    private static let epochMask: UInt32 = 0x7FFF_FFFF

    public var backendName: String { "io_uring" }
    /// The wait's timeout is a __kernel_timespec, with or without EXT_ARG.
    public var waitsInNanoseconds: Bool { true }

    /// Fails with io_uring_setup's errno (ENOSYS: no io_uring; EPERM: a seccomp
    /// profile or kernel.io_uring_disabled) or EOPNOTSUPP when the kernel is
    /// too old for poll requests that never drop a completion (Linux 5.6).
    public init(entries: UInt32 = 4096, completionCapacity: Int = 1024) throws(SystemError) {
        precondition(entries > 0 && completionCapacity > 0)
        ring = UnsafeMutablePointer<io_uring>.allocate(capacity: 1)
        let result = tw_uring_init(ring, entries)
        guard result == 0 else {
            ring.deallocate()
            throw SystemError(call: "io_uring_setup", errno: -result)
        }
        // Without NODROP a full completion queue loses events, and a lost poll
        // completion is a descriptor that never wakes again.
        guard tw_uring_features(ring) & UInt32(IORING_FEAT_NODROP) != 0, tw_uring_supports_poll(ring) != 0 else {
            tw_uring_exit(ring)
            ring.deallocate()
            throw SystemError(call: "io_uring probe (POLL_ADD, POLL_REMOVE, FEAT_NODROP)", errno: EOPNOTSUPP)
        }
        self.completionCapacity = completionCapacity
        completions = UnsafeMutablePointer<tw_uring_completion>.allocate(capacity: completionCapacity)
        rearmQueue.reserveCapacity(completionCapacity)
    }

    deinit {
        precondition(!isOpen, "UringPoller released without close()")
        completions.deallocate()
        ring.deallocate()
    }

    public func register(fd: Int32, token: EventToken, interest: Interest) throws(SystemError) {
        precondition(fd >= 0)
        growTable(toInclude: fd)
        // epoll_ctl(ADD) says EEXIST for a descriptor it already watches; so do we.
        guard registrations[Int(fd)].state == .unregistered else {
            throw SystemError(call: "io_uring poll register", errno: EEXIST)
        }
        registrations[Int(fd)].token = token
        registrations[Int(fd)].interest = interest
        try arm(fd)
    }

    public func modify(fd: Int32, token: EventToken, interest: Interest) throws(SystemError) {
        guard let state = state(of: fd), state != .unregistered else {
            throw SystemError(call: "io_uring poll modify", errno: ENOENT)
        }
        registrations[Int(fd)].token = token
        registrations[Int(fd)].interest = interest
        // A fired poll is re-armed with the new interest anyway. An armed one
        // is replaced: removal plus a fresh poll, rather than POLL_UPDATE,
        // whose ENOENT (the poll completed meanwhile) would leave nothing armed.
        if state == .armed {
            try removePoll(fd)
            try arm(fd)
        }
    }

    public func unregister(fd: Int32) throws(SystemError) {
        guard let state = state(of: fd), state != .unregistered else {
            throw SystemError(call: "io_uring poll unregister", errno: ENOENT)
        }
        // The kernel's poll holds a reference to the file, so closing the
        // descriptor alone would keep the socket open: the poll must go.
        if state == .armed { try removePoll(fd) }
        registrations[Int(fd)].state = .unregistered
        registrations[Int(fd)].epoch = (registrations[Int(fd)].epoch &+ 1) & Self.epochMask
    }

    public func poll(timeoutNanos: Int64, _ body: (ReadyEvent) -> Void) throws(SystemError) {
        precondition(isOpen, "poll after close()")
        try rearmFired()
        let waited = tw_uring_submit_and_wait(ring, timeoutNanos)
        if waited < 0 {
            switch -waited {
            case ETIME, EINTR: break  // the timeout passed, or a signal cut the wait short
            case EAGAIN, EBUSY: break  // the completion queue is backed up: draining it is the remedy
            default: throw SystemError(call: "io_uring_enter", errno: -waited)
            }
        }
        // At most completionCapacity per call, as epoll_wait's maxevents: the
        // rest stay queued, and the next wait returns at once.
        let count = Int(tw_uring_drain(ring, completions, UInt32(completionCapacity)))
        for index in 0..<count {
            let completion = completions[index]
            guard let event = fire(completion) else { continue }
            body(event)
        }
    }

    public func close() {
        guard isOpen else { return }
        // Exiting the ring cancels every poll and drops their file references.
        tw_uring_exit(ring)
        isOpen = false
    }

    // MARK: Completions

    /// The event a completion reports, or nil when it is stale or a control
    /// operation's. Marks the registration fired and queues its re-arm.
    private func fire(_ completion: tw_uring_completion) -> ReadyEvent? {
        guard completion.user_data & Self.controlTag == 0 else { return nil }
        let fd = Int32(truncatingIfNeeded: completion.user_data)
        let epoch = UInt32(truncatingIfNeeded: completion.user_data >> 32)
        guard state(of: fd) == .armed, registrations[Int(fd)].epoch == epoch else { return nil }
        registrations[Int(fd)].state = .fired
        rearmQueue.append(fd)
        // A poll that failed (not cancelled: that is always stale here) is
        // reported as a hangup, so the owner reads, learns the error and closes.
        let readiness = completion.res >= 0 ? Self.readiness(UInt32(bitPattern: completion.res)) : .hangup
        return ReadyEvent(token: registrations[Int(fd)].token, readiness: readiness)
    }

    private func rearmFired() throws(SystemError) {
        for fd in rearmQueue where registrations[Int(fd)].state == .fired {
            try arm(fd)
        }
        rearmQueue.removeAll(keepingCapacity: true)
    }

    // MARK: Submissions

    private func arm(_ fd: Int32) throws(SystemError) {
        let epoch = (registrations[Int(fd)].epoch &+ 1) & Self.epochMask
        let tag = UInt64(epoch) << 32 | UInt64(UInt32(bitPattern: fd))
        let mask = Self.mask(registrations[Int(fd)].interest)
        try enqueue("io_uring poll add") { tw_uring_queue_poll_add(ring, fd, mask, tag) }
        registrations[Int(fd)].epoch = epoch
        registrations[Int(fd)].state = .armed
    }

    private func removePoll(_ fd: Int32) throws(SystemError) {
        let target = UInt64(registrations[Int(fd)].epoch) << 32 | UInt64(UInt32(bitPattern: fd))
        try enqueue("io_uring poll remove") { tw_uring_queue_poll_remove(ring, target, Self.controlTag) }
    }

    /// Queues one SQE. A full submission queue is submitted early (without
    /// waiting) to make room; the batch is then merely split in two.
    private func enqueue(_ name: StaticString, _ prepare: () -> Int32) throws(SystemError) {
        precondition(isOpen, "\(name) after close()")
        if prepare() == 0 { return }
        let submitted = tw_uring_submit(ring)
        guard submitted >= 0 else { throw SystemError(call: "io_uring_submit", errno: -submitted) }
        let retried = prepare()
        guard retried == 0 else { throw SystemError(call: "\(name)", errno: -retried) }
    }

    // MARK: Table and masks

    private func state(of fd: Int32) -> PollState? {
        guard fd >= 0, Int(fd) < registrations.count else { return nil }
        return registrations[Int(fd)].state
    }

    private func growTable(toInclude fd: Int32) {
        guard Int(fd) >= registrations.count else { return }
        let count = max(Int(fd) + 1, registrations.count * 2, 64)
        registrations.append(contentsOf: repeatElement(Registration(), count: count - registrations.count))
    }

    private static func mask(_ interest: Interest) -> UInt32 {
        var mask = UInt32(TW_URING_POLLRDHUP)
        if interest.contains(.read) { mask |= UInt32(POLLIN) }
        if interest.contains(.write) { mask |= UInt32(POLLOUT) }
        return mask
    }

    private static func readiness(_ mask: UInt32) -> Readiness {
        var readiness: Readiness = []
        if mask & UInt32(POLLIN) != 0 { readiness.insert(.readable) }
        if mask & UInt32(POLLOUT) != 0 { readiness.insert(.writable) }
        if mask & UInt32(Int32(POLLERR) | Int32(POLLHUP) | TW_URING_POLLRDHUP) != 0 { readiness.insert(.hangup) }
        return readiness
    }
}

import Glibc
import CTickwireShim

/// What the reactor calls back into. One concrete type implements it (the
/// server), and `run` is generic over it, so dispatch is static, not dynamic.
public protocol ReactorHandler: AnyObject {
    /// A registered descriptor (not the signalfd) is ready.
    func handle(_ event: ReadyEvent, reactor: Reactor)
    /// A timer expired. The handler passes it to the component named by
    /// `token.owner`, which reads its own purpose from the token.
    func timerFired(_ token: TimerToken, reactor: Reactor)
    /// SIGTERM or SIGINT arrived through the signalfd.
    func signalReceived(_ signal: Int32, reactor: Reactor)
    /// Runs once per loop iteration just before the reactor sleeps (Redis's
    /// beforesleep): this is where connections flush their output, so many
    /// small messages share one write. Returns true when work is left that
    /// should run without waiting for an event.
    func beforeSleep(reactor: Reactor) -> Bool
}

/// The single-threaded event loop: one poller, one timer heap, one signalfd.
/// Nothing in it blocks except the poller's wait.
public final class Reactor {
    public let backend: PollerBackend
    /// io_uring's batched sends, when the backend has them: connections'
    /// output goes out through it in one call per iteration.
    public let sendBatch: UringSendBatch?
    public let clock: any ReactorClock
    /// Sleep in the poller, or spin on it (--busy-poll).
    public let waitPolicy: WaitPolicy
    public var phase: ShutdownPhase = .running
    /// Iterations and time spent working, for the metrics endpoint.
    public private(set) var loopStatistics = LoopStatistics()
    private var timers = TimerQueue()
    private var signals: SignalSource?
    /// Host-name lookups on this loop (nil until `startResolver`).
    public private(set) var resolver: DNSResolver?

    public init(backend: PollerBackend, sendBatch: UringSendBatch? = nil, clock: any ReactorClock = SystemClock(),
                waitPolicy: WaitPolicy = .sleep) {
        self.backend = backend
        self.sendBatch = sendBatch
        self.clock = clock
        self.waitPolicy = waitPolicy
    }

    public var backendName: String { backend.poller.backendName }

    /// Starts routing SIGTERM and SIGINT (by default) through a signalfd, and
    /// ignores SIGPIPE: OpenSSL writes with write(2), and a peer's reset must
    /// come back as EPIPE on that one socket, not kill the process.
    public func watchSignals(_ numbers: [Int32] = [SIGTERM, SIGINT]) throws(SystemError) {
        precondition(signals == nil, "signals are already watched")
        tw_ignore_sigpipe()
        let source = try SignalSource(signals: numbers)
        try backend.poller.register(fd: source.fd, token: EventToken(kind: .signal), interest: .read)
        signals = source
    }

    /// Sets up the DNS resolver (reads /etc/resolv.conf unless `servers` names
    /// servers). Call once, at startup, before anything looks a name up.
    public func startResolver(servers: DNSServerList) throws(ResolverError) {
        precondition(resolver == nil, "the resolver is already started")
        resolver = try DNSResolver(servers: servers, reactor: self)
    }

    public func register(fd: Int32, token: EventToken, interest: Interest) throws(SystemError) {
        try backend.poller.register(fd: fd, token: token, interest: interest)
    }

    public func modify(fd: Int32, token: EventToken, interest: Interest) throws(SystemError) {
        try backend.poller.modify(fd: fd, token: token, interest: interest)
    }

    public func unregister(fd: Int32) throws(SystemError) {
        try backend.poller.unregister(fd: fd)
    }

    @discardableResult
    public func schedule(afterNanos delay: Int64, _ token: TimerToken,
                         precision: TimerPrecision = .millisecond) -> TimerID {
        schedule(atNanos: clock.monotonicNanos() + max(0, delay), token, precision: precision)
    }

    @discardableResult
    public func schedule(atNanos deadline: Int64, _ token: TimerToken,
                         precision: TimerPrecision = .millisecond) -> TimerID {
        timers.schedule(deadlineNanos: precision.deadline(deadline), token: token)
    }

    public func cancel(_ timer: TimerID) {
        timers.cancel(timer)
    }

    /// Runs until the phase becomes `.stopped`.
    public func run<H: ReactorHandler>(_ handler: H) throws(SystemError) {
        while phase != .stopped {
            try runOnce(handler, maxWaitMs: -1)
        }
    }

    /// One iteration: flush, wait (at most `maxWaitMs`, -1 for no cap), dispatch
    /// ready descriptors, then fire due timers.
    public func runOnce<H: ReactorHandler>(_ handler: H, maxWaitMs: Int32) throws(SystemError) {
        let busy = handler.beforeSleep(reactor: self)
        if phase == .stopped { return }  // the flush hook may finish the stop; don't sleep after it
        let sleepStart = clock.monotonicNanos()
        let timeout = waitPolicy.timeoutNanos(workLeft: busy,
                                              timerTimeoutNanos: timers.timeoutNanos(nowNanos: sleepStart),
                                              maxWaitNanos: maxWaitMs < 0 ? -1 : Int64(maxWaitMs) * 1_000_000)
        loopStatistics.sleepStarted(atNanos: sleepStart)

        var wokeAt: Int64 = 0  // the first event's arrival: dispatching it is work, not sleep
        try backend.poll(timeoutNanos: timeout) { event in
            if wokeAt == 0 { wokeAt = clock.monotonicNanos() }
            switch event.token.kind {
            case .signal: deliverSignals(to: handler)
            case .resolver: resolver?.ready(event)
            default: handler.handle(event, reactor: self)
            }
        }

        let now = clock.monotonicNanos()
        // A spin that found nothing (no event, no timer due, no work left
        // over) is still asleep: counting it, and the next flush hook's empty
        // pass, as work would make a spinning loop look busy and engage
        // --flush-linger auto's window for no load at all.
        if waitPolicy == .spin && wokeAt == 0 && !busy && !timers.hasExpired(nowNanos: now) {
            loopStatistics.spunIdle()
        } else {
            loopStatistics.woke(atNanos: wokeAt == 0 ? now : wokeAt)
        }
        while phase != .stopped, let expiry = timers.popExpired(nowNanos: now) {
            if expiry.token.owner == .resolver {
                resolver?.timerFired()
            } else {
                handler.timerFired(expiry.token, reactor: self)
            }
        }
    }

    private func deliverSignals<H: ReactorHandler>(to handler: H) {
        guard let signals else { return }
        do {
            for number in try signals.readPending() {
                handler.signalReceived(number, reactor: self)
            }
        } catch {
            preconditionFailure("reading the signalfd failed: \(error)")
        }
    }

    /// Releases the resolver, the poller and the signalfd. Call once, after `run` returns.
    public func close() {
        resolver?.close()  // its sockets leave the poller while the poller is still open
        if let signals {
            try? backend.poller.unregister(fd: signals.fd)
            signals.close()
            self.signals = nil
        }
        backend.poller.close()
        sendBatch?.close()
    }
}

import Glibc
import Logging
import Reactor

/// `--workers N`: N copies of today's one-thread server, each its own process
/// with its own reactor, feed and connections, sharing the gRPC port through
/// SO_REUSEPORT (as nginx's worker processes do). The supervisor serves
/// nothing: it reserves the port, spawns the workers, forwards SIGTERM and
/// SIGINT to them, reaps them (SIGCHLD on its signalfd) and restarts one that
/// dies, with a backoff, unless it is stopping.
public final class WorkerSupervisor: ReactorHandler {
    /// What a timer is for, in the tag's upper half; the lower half is the worker index.
    enum TimerKind: UInt8 {
        /// A dead worker's backoff ended.
        case restartDue = 1
        /// The workers outlived the stop budget.
        case stopDeadline = 2
    }

    let settings: SupervisorSettings
    let reactor: Reactor
    let logger: Logger
    public internal(set) var phase: SupervisorPhase = .starting
    var slots: [WorkerSlot]
    private var reservation: PortReservation?
    private(set) var readyPipe: ReadyPipe?
    var stopDeadlineScheduled = false

    public init(settings: SupervisorSettings, reactor: Reactor, logger: Logger) {
        precondition(settings.workerCount >= 1, "a supervisor needs a worker")
        self.settings = settings
        self.reactor = reactor
        self.logger = logger
        slots = (0..<settings.workerCount).map { WorkerSlot(index: $0) }
    }

    /// The gRPC address with its resolved port, once `run` reserved it.
    public var boundAddress: ListenAddress? { reservation?.boundAddress }

    /// Reserves the port, starts every worker and supervises them until all
    /// have exited. Returns the process's exit status.
    public func run() throws(SystemError) -> Int32 {
        let reservation = try PortReservation(address: settings.listen)
        self.reservation = reservation
        let pipe: ReadyPipe
        do {
            pipe = try ReadyPipe()
            readyPipe = pipe
            try reactor.register(fd: pipe.readFD, token: EventToken(kind: .workerReady), interest: .read)
            // Before the first spawn, so no child's exit can go unseen.
            try reactor.watchSignals([SIGTERM, SIGINT, SIGCHLD])
        } catch {
            release()
            throw error
        }
        logger.info("supervisor starting", metadata: [
            "workers": "\(settings.workerCount)", "address": "\(reservation.boundAddress)", "pid": "\(getpid())",
        ])
        for index in slots.indices where phase == .starting { spawn(index) }
        do {
            while !phase.isStopped { try reactor.runOnce(self, maxWaitMs: -1) }
        } catch {
            release()
            throw error
        }
        release()
        logger.notice("supervisor stopped", metadata: [
            "exit_code": "\(phase.exitCode)", "restarts": "\(slots.reduce(0) { $0 + $1.restarts })",
        ])
        return phase.exitCode
    }

    private func release() {
        if let readyPipe {
            try? reactor.unregister(fd: readyPipe.readFD)
            readyPipe.close()
        }
        readyPipe = nil
        reservation?.close()
        reactor.close()
    }

    var liveWorkers: Int { slots.filter { $0.pid != nil }.count }

    // MARK: ReactorHandler

    public func handle(_ event: ReadyEvent, reactor: Reactor) {
        guard event.token.kind == .workerReady, let readyPipe else {
            assertionFailure("supervisor got \(event.token)")
            return
        }
        let reports: [(index: Int, pid: Int32)]
        do { reports = try readyPipe.readReports() } catch {
            logger.error("cannot read the workers' ready pipe", metadata: ["error": "\(error)"])
            return
        }
        for report in reports { workerListening(index: report.index, pid: report.pid) }
    }

    public func timerFired(_ token: TimerToken, reactor: Reactor) {
        assert(token.owner == .supervisor, "the supervisor schedules only its own timers")
        let index = Int(token.slot)
        switch TimerKind(rawValue: token.purpose) {
        case .restartDue:
            guard phase.restartsWorkers, case .awaitingRestart = slots[index].state else { return }
            slots[index].restarts += 1
            spawn(index)
        case .stopDeadline:
            apply(phase.stopDeadlinePassed())
        case nil:
            assertionFailure("unknown supervisor timer \(token)")
        }
    }

    public func signalReceived(_ signal: Int32, reactor: Reactor) {
        if signal == SIGCHLD {
            reapWorkers()
            return
        }
        logger.notice("signal received", metadata: ["signal": "\(signal)", "phase": "\(phase)"])
        apply(phase.signalReceived(signal, nowNanos: reactor.clock.monotonicNanos(),
                                   stopBudgetNanos: settings.stopBudgetNanos))
    }

    public func beforeSleep(reactor: Reactor) -> Bool { false }
}

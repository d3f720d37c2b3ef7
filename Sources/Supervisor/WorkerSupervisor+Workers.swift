import Glibc
import Logging
import Reactor

/// The supervisor's side of each worker's life: spawn, listening, exit, and
/// what each SupervisorPhase action does to the workers.
extension WorkerSupervisor {

    func spawn(_ index: Int) {
        guard let resolved = boundAddress, let readyPipe else { preconditionFailure("spawn before run") }
        let setup = ProcessSpawn.Setup(passDescriptor: (readyPipe.writeFD, WorkerEnvironment.readyDescriptor),
                                       blockedSignals: [SIGTERM, SIGINT], defaultSignals: [SIGPIPE])
        do {
            let pid = try ProcessSpawn.spawn(
                path: settings.executablePath,
                arguments: [settings.argv0] + settings.arguments(worker: index, listen: resolved),
                environment: WorkerEnvironment.childEnvironment(from: settings.environment, index: index,
                                                                count: settings.workerCount, supervisorPID: getpid()),
                setup: setup)
            slots[index].state = .starting(pid: pid, sinceNanos: reactor.clock.monotonicNanos())
            logger.info("worker started", metadata: [
                "index": "\(index)", "pid": "\(pid)", "metrics_address": "\(settings.metricsAddress(worker: index))",
            ])
        } catch {
            logger.error("cannot start worker", metadata: ["index": "\(index)", "error": "\(error)"])
            slots[index].state = .exited
            workerGone(index, clean: false, livedNanos: 0)
        }
    }

    func workerListening(index: Int, pid: Int32) {
        guard slots.indices.contains(index), case .starting(pid, let since) = slots[index].state else { return }
        slots[index].state = .listening(pid: pid, sinceNanos: since)
        logger.info("worker listening", metadata: ["index": "\(index)", "pid": "\(pid)"])
        if phase == .starting, slots.allSatisfy(\.isListening) {
            apply(phase.allWorkersListening())
        }
    }

    func reapWorkers() {
        let now = reactor.clock.monotonicNanos()
        for (pid, exit) in ChildExit.reapAll() {
            guard let index = slots.firstIndex(where: { $0.pid == pid }) else { continue }
            let lived = now - (slots[index].spawnedAtNanos ?? now)
            slots[index].state = .exited
            var metadata: Logger.Metadata = ["index": "\(index)", "pid": "\(pid)", "lived_ms": "\(lived / 1_000_000)"]
            metadata[exit.metadata.key] = "\(exit.metadata.value)"
            if case .stopping = phase {
                logger.log(level: exit.isClean ? .info : .warning, "worker exited", metadata: metadata)
            } else {
                logger.error("worker exited unexpectedly", metadata: metadata)
            }
            workerGone(index, clean: exit.isClean, livedNanos: lived)
        }
    }

    /// A worker exited or could not be spawned.
    func workerGone(_ index: Int, clean: Bool, livedNanos: Int64) {
        let action = phase.workerExited(index: index, clean: clean, liveWorkers: liveWorkers,
                                        nowNanos: reactor.clock.monotonicNanos(),
                                        stopBudgetNanos: settings.stopBudgetNanos)
        if case .restart = action {
            scheduleRestart(index, livedNanos: livedNanos)
        } else {
            apply(action)
        }
    }

    private func scheduleRestart(_ index: Int, livedNanos: Int64) {
        let policy = settings.restart
        let failures = policy.failuresAfterExit(previous: slots[index].consecutiveFailures, livedNanos: livedNanos)
        let delay = policy.delayNanos(consecutiveFailures: failures)
        slots[index].consecutiveFailures = failures + 1
        let due = reactor.clock.monotonicNanos() + delay
        slots[index].state = .awaitingRestart(dueNanos: due)
        reactor.schedule(atNanos: due, TimerToken(owner: .supervisor, purpose: TimerKind.restartDue.rawValue, slot: UInt32(index)))
        logger.warning("worker restarting", metadata: [
            "index": "\(index)", "in_ms": "\(delay / 1_000_000)", "failures_in_a_row": "\(failures + 1)",
        ])
    }

    func apply(_ action: SupervisorPhase.Action) {
        switch action {
        case .announceListening:
            logger.info("listening", metadata: [
                "address": "\(boundAddress!)", "workers": "\(settings.workerCount)",
                "metrics": "\(settings.metricsSummary)",
            ])
        case .forward(let signal, let deadline):
            forward(signal)
            if !stopDeadlineScheduled {
                stopDeadlineScheduled = true
                reactor.schedule(atNanos: deadline, TimerToken(owner: .supervisor, purpose: TimerKind.stopDeadline.rawValue))
            }
        case .restart(let index):
            scheduleRestart(index, livedNanos: 0)
        case .killRemaining:
            logger.error("workers outlived the stop budget; killing them", metadata: [
                "workers": "\(liveWorkers)", "budget_ms": "\(settings.stopBudgetNanos / 1_000_000)",
            ])
            for slot in slots { if let pid = slot.pid { kill(pid, SIGKILL) } }
        case .finish, .none:
            break
        }
    }

    /// Sends `signal` to every live worker; a worker waiting for its restart stays down.
    private func forward(_ signal: Int32) {
        var told = 0
        for index in slots.indices {
            if let pid = slots[index].pid {
                kill(pid, signal)
                told += 1
            } else if case .awaitingRestart = slots[index].state {
                slots[index].state = .exited
            }
        }
        logger.notice("stopping workers", metadata: ["signal": "\(signal)", "workers": "\(told)"])
    }
}

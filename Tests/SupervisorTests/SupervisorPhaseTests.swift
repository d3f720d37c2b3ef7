import Glibc
import Testing
@testable import Supervisor

@Suite struct SupervisorPhaseTests {
    let budget: Int64 = 1_000

    @Test func startsRunsStopsAndExitsZeroWhenEveryWorkerExitsClean() {
        var phase = SupervisorPhase.starting
        #expect(phase.allWorkersListening() == .announceListening)
        #expect(phase == .running)
        #expect(phase.signalReceived(SIGTERM, nowNanos: 10, stopBudgetNanos: budget)
                == .forward(signal: SIGTERM, killDeadlineNanos: 1_010))
        #expect(phase.workerExited(index: 0, clean: true, liveWorkers: 1, nowNanos: 20, stopBudgetNanos: budget) == .none)
        #expect(phase.workerExited(index: 1, clean: true, liveWorkers: 0, nowNanos: 30, stopBudgetNanos: budget) == .finish)
        #expect(phase.isStopped && phase.exitCode == 0)
    }

    @Test func aSecondSignalIsForwardedWithTheFirstDeadline() {
        var phase = SupervisorPhase.running
        _ = phase.signalReceived(SIGTERM, nowNanos: 0, stopBudgetNanos: budget)
        #expect(phase.signalReceived(SIGINT, nowNanos: 500, stopBudgetNanos: budget)
                == .forward(signal: SIGINT, killDeadlineNanos: 1_000))
    }

    @Test func aWorkerDyingWhileRunningIsRestartedButNotWhileStopping() {
        var phase = SupervisorPhase.running
        #expect(phase.workerExited(index: 1, clean: false, liveWorkers: 1, nowNanos: 0, stopBudgetNanos: budget)
                == .restart(index: 1))
        #expect(phase == .running && phase.restartsWorkers)
        _ = phase.signalReceived(SIGTERM, nowNanos: 0, stopBudgetNanos: budget)
        #expect(!phase.restartsWorkers)
        #expect(phase.workerExited(index: 1, clean: false, liveWorkers: 1, nowNanos: 1, stopBudgetNanos: budget) == .none)
        #expect(phase.workerExited(index: 0, clean: true, liveWorkers: 0, nowNanos: 2, stopBudgetNanos: budget) == .finish)
        #expect(phase.exitCode == 1, "a worker that exited unclean while stopping fails the group")
    }

    @Test func aWorkerFailingAtStartupStopsTheGroupWithFailure() {
        var phase = SupervisorPhase.starting
        #expect(phase.workerExited(index: 0, clean: false, liveWorkers: 1, nowNanos: 5, stopBudgetNanos: budget)
                == .forward(signal: SIGTERM, killDeadlineNanos: 1_005))
        #expect(phase.allWorkersListening() == .none, "a stopping group never announces")
        #expect(phase.workerExited(index: 1, clean: true, liveWorkers: 0, nowNanos: 6, stopBudgetNanos: budget) == .finish)
        #expect(phase.exitCode == 1)
    }

    @Test func theStopDeadlineKillsAndFails() {
        var phase = SupervisorPhase.running
        #expect(phase.stopDeadlinePassed() == .none, "no deadline while running")
        _ = phase.signalReceived(SIGTERM, nowNanos: 0, stopBudgetNanos: budget)
        #expect(phase.stopDeadlinePassed() == .killRemaining)
        #expect(phase.workerExited(index: 0, clean: false, liveWorkers: 0, nowNanos: 2_000, stopBudgetNanos: budget) == .finish)
        #expect(phase.exitCode == 1)
    }
}

@Suite struct WorkerRestartPolicyTests {
    @Test func delayDoublesUpToTheCapAndResetsAfterAHealthyRun() {
        let policy = WorkerRestartPolicy()
        #expect(policy.delayNanos(consecutiveFailures: 0) == 250_000_000)
        #expect(policy.delayNanos(consecutiveFailures: 1) == 500_000_000)
        #expect(policy.delayNanos(consecutiveFailures: 5) == 8_000_000_000)
        #expect(policy.delayNanos(consecutiveFailures: 1_000) == 8_000_000_000)
        #expect(policy.failuresAfterExit(previous: 4, livedNanos: 1_000_000_000) == 4)
        #expect(policy.failuresAfterExit(previous: 4, livedNanos: 10_000_000_000) == 0)
    }
}

@Suite struct WorkerArgumentsTests {
    @Test func removesBothSpellingsOfEachReplacedOptionOnly() {
        let given = ["--listen", "127.0.0.1:0", "--workers=2", "--replay", "f.jsonl", "--replay-loop",
                     "--metrics-listen=off", "--workers", "3", "--listen-backlog-is-not-an-option", "x"]
        #expect(WorkerArguments.removing(WorkerArguments.replaced, from: given)
                == ["--replay", "f.jsonl", "--replay-loop", "--listen-backlog-is-not-an-option", "x"])
    }
}

@Suite struct WorkerEnvironmentTests {
    @Test func childEnvironmentDropsWorkersAndCarriesTheIdentity() {
        let child = WorkerEnvironment.childEnvironment(
            from: ["TICKWIRE_WORKERS": "2", "TICKWIRE_WORKER_INDEX": "9", "TICKWIRE_WORKER_COUNT": "7", "PATH": "/bin"],
            index: 1, count: 2, supervisorPID: 42)
        #expect(child == ["PATH=/bin", "TICKWIRE_WORKER_INDEX=1", "TICKWIRE_WORKER_READY_FD=3", "TICKWIRE_SUPERVISOR_PID=42",
                          "TICKWIRE_WORKER_COUNT=2"])
        let parsed = WorkerEnvironment(environment: Dictionary(uniqueKeysWithValues: child.map {
            let parts = $0.split(separator: "=", maxSplits: 1)
            return (String(parts[0]), String(parts[1]))
        }))
        #expect(parsed == WorkerEnvironment(index: 1, count: 2, readyDescriptor: 3, supervisorPID: 42))
        #expect(WorkerEnvironment(environment: ["TICKWIRE_WORKER_INDEX": "1"]) == nil, "a partial identity is none")
    }

    @Test func workerCountsAndMetricsPorts() {
        #expect(WorkerCount.parse("2") == 2)
        #expect(WorkerCount.parse("0") == nil && WorkerCount.parse("abc") == nil && WorkerCount.parse("257") == nil)
        #expect((WorkerCount.parse("auto") ?? 0) >= 1)
        var settings = SupervisorSettings(workerCount: 3, listen: .init(host: "0.0.0.0", port: 50051),
                                          metricsListen: .init(host: "0.0.0.0", port: 9090), workerArguments: [],
                                          environment: [:], argv0: "tickwire", stopBudgetNanos: 1)
        #expect(settings.metricsAddress(worker: 2) == "0.0.0.0:9092")
        settings.metricsListen = .init(host: "127.0.0.1", port: 0)
        #expect(settings.metricsAddress(worker: 2) == "127.0.0.1:0")
        settings.metricsListen = nil
        #expect(settings.metricsAddress(worker: 2) == "off")
    }
}

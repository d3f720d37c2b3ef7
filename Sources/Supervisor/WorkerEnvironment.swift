import CTickwireShim
import Glibc

/// What the supervisor tells a worker through its environment. These
/// variables are internal: EnvironmentDefaults maps only flags, and no flag
/// is called worker-index.
public struct WorkerEnvironment: Equatable, Sendable {
    static let indexVariable = "TICKWIRE_WORKER_INDEX"
    static let readyDescriptorVariable = "TICKWIRE_WORKER_READY_FD"
    static let supervisorVariable = "TICKWIRE_SUPERVISOR_PID"
    /// How many workers share the container: each takes its share of the
    /// memory limit (MemoryPlan), not all of it.
    static let countVariable = "TICKWIRE_WORKER_COUNT"
    /// Every variable the supervisor sets or must not pass on
    /// (TICKWIRE_WORKERS would make each worker a supervisor in turn).
    static let reservedVariables: Set<String> = [indexVariable, readyDescriptorVariable, supervisorVariable,
                                                 countVariable, "TICKWIRE_WORKERS"]
    /// The descriptor number a worker finds its ready pipe at.
    static let readyDescriptor: Int32 = 3

    /// 0..<N, for the logs (`worker=i`) and the metrics port.
    public let index: Int
    /// Workers the supervisor runs, this one included.
    public let count: Int
    let readyDescriptor: Int32
    let supervisorPID: Int32

    init(index: Int, count: Int = 1, readyDescriptor: Int32, supervisorPID: Int32) {
        self.index = index
        self.count = count
        self.readyDescriptor = readyDescriptor
        self.supervisorPID = supervisorPID
    }

    /// This process's worker identity, or nil when it was not started by a supervisor.
    public init?(environment: [String: String]) {
        guard let index = environment[Self.indexVariable].flatMap({ Int($0) }), index >= 0,
              let fd = environment[Self.readyDescriptorVariable].flatMap({ Int32($0) }), fd >= 0,
              let pid = environment[Self.supervisorVariable].flatMap({ Int32($0) }), pid > 0 else { return nil }
        let count = environment[Self.countVariable].flatMap { Int($0) }.map { max(1, $0) } ?? 1
        self.init(index: index, count: count, readyDescriptor: fd, supervisorPID: pid)
    }

    /// The child's environment: ours without the reserved variables, plus its identity.
    static func childEnvironment(from parent: [String: String], index: Int, count: Int = 1, supervisorPID: Int32) -> [String] {
        var result = parent.filter { !reservedVariables.contains($0.key) }
            .map { "\($0.key)=\($0.value)" }
            .sorted()
        result.append("\(indexVariable)=\(index)")
        result.append("\(readyDescriptorVariable)=\(Self.readyDescriptor)")
        result.append("\(supervisorVariable)=\(supervisorPID)")
        result.append("\(countVariable)=\(count)")
        return result
    }

    /// Asks for SIGTERM (a graceful drain) when the supervisor dies, so a
    /// SIGKILLed supervisor leaves no workers behind. False when it died
    /// before the request took effect.
    public func stopWithSupervisor() -> Bool {
        _ = tw_set_parent_death_signal(SIGTERM)
        return getppid() == supervisorPID
    }

    /// Tells the supervisor this worker listens: one short line on the pipe
    /// (atomic, under PIPE_BUF), then the pipe is closed.
    public func notifyListening() {
        let line = Array("\(index) \(getpid())\n".utf8)
        _ = line.withUnsafeBytes { write(readyDescriptor, $0.baseAddress, $0.count) }
        close(readyDescriptor)
    }
}

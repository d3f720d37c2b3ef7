/// How soon a worker that died is respawned: nginx respawns at once, but a
/// worker that dies at every start would then spin the CPU, so the wait
/// doubles per failure in a row, up to a cap, and resets once a worker has
/// served long enough to count as healthy.
public struct WorkerRestartPolicy: Equatable, Sendable {
    public var baseNanos: Int64 = 250_000_000
    public var capNanos: Int64 = 8_000_000_000
    /// A worker that ran this long before dying starts the count afresh.
    public var healthyAfterNanos: Int64 = 10_000_000_000

    public init() {}

    /// The wait before respawn number `failures + 1` in a row.
    public func delayNanos(consecutiveFailures failures: Int) -> Int64 {
        let shift = min(max(failures, 0), 20)  // 2^20 × base is far past any cap
        return min(capNanos, baseNanos << Int64(shift))
    }

    /// The failure count after a worker that lived `livedNanos` died.
    public func failuresAfterExit(previous: Int, livedNanos: Int64) -> Int {
        livedNanos >= healthyAfterNanos ? 0 : previous
    }
}

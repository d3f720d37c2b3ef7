/// How the server keeps its connections honest over time, with grpc-go's
/// semantics (keepalive.ServerParameters and keepalive.EnforcementPolicy):
/// it probes peers that went silent, polices how often clients may PING, and
/// can retire connections at an age so that clients rebalance.
public struct KeepalivePolicy: Sendable, Equatable {
    /// PING a peer we have heard nothing from for this long (--keepalive-time);
    /// nil never probes. Two minutes: a colocated client that vanished (host
    /// crash, pulled cable, a NAT or load balancer forgetting the flow) is
    /// found within time + timeout instead of holding a connection slot for
    /// TCP's hours, and idle flows stay below the common middlebox idle
    /// timeouts (AWS NLB 350 s, Azure 4 min). A streaming client sends
    /// WINDOW_UPDATEs as it reads, so it is never pinged; an idle one costs
    /// one 17-byte PING and its ACK every two minutes.
    public var timeNanos: Int64? = 120_000_000_000
    /// Close the connection when nothing at all (the ACK or any other frame)
    /// came back within this long of the probe (--keepalive-timeout;
    /// grpc-go's 20 s).
    public var timeoutNanos: Int64 = 20_000_000_000
    /// Clients may PING at most this often while they have calls open
    /// (--keepalive-min-ping-interval; grpc-go's MinTime, 5 min).
    public var minPingIntervalNanos: Int64 = 300_000_000_000
    /// Clients may PING with no call open, at the same interval
    /// (--keepalive-permit-without-calls). Off, as in grpc-go: a client with
    /// no calls may PING once every two hours.
    public var permitWithoutCalls = false
    /// Retire a connection at this age, ±10% (--max-connection-age); nil
    /// never. Off by default, as in grpc-go.
    public var maxConnectionAgeNanos: Int64?
    /// How long a retired connection's calls may go on after its GOAWAY
    /// before they end with UNAVAILABLE (--max-connection-age-grace); nil
    /// waits forever.
    public var maxConnectionAgeGraceNanos: Int64? = 30_000_000_000

    public init() {}

    /// How often the hub looks at every connection, or nil when nothing here
    /// is on: a tenth of the shortest interval, so a deadline is met to
    /// within 10%, but never later than a second, and at most 20 sweeps a
    /// second (each looks at every connection).
    public var sweepIntervalNanos: Int64? {
        // Read at every sweep: no array, so the sweep allocates nothing.
        var shortest = Int64.max
        if let timeNanos { shortest = min(shortest, timeNanos, timeoutNanos) }
        if let maxConnectionAgeNanos {
            shortest = min(shortest, maxConnectionAgeNanos, maxConnectionAgeGraceNanos ?? .max)
        }
        guard shortest != .max else { return nil }
        return min(max(shortest / 10, 50_000_000), 1_000_000_000)
    }
}

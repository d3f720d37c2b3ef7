/// --max-connection-age for one connection, as grpc-go does it: at its age
/// (±10% jitter, so connections accepted together do not all leave
/// together) the connection gets the graceful double GOAWAY and takes no new
/// calls; after --max-connection-age-grace the calls still open end with
/// UNAVAILABLE. Clients then reconnect, through the load balancer, which is
/// the point: long-lived streams otherwise pin clients to the pods they
/// first reached. Driven by the hub's sweep with the time passed in.
struct ConnectionAge {
    enum State: Equatable {
        /// No age limit.
        case unlimited
        /// Serving until `retireAtNanos`.
        case serving(retireAtNanos: Int64)
        /// GOAWAY sent; open calls go on until `graceEndsAtNanos` (nil: for ever).
        case retiring(graceEndsAtNanos: Int64?)
        /// The remaining calls were ended; the connection closes when the
        /// client is done, or at `closeByNanos` whatever it does.
        case ending(closeByNanos: Int64)
        /// Closed for its age.
        case closed
    }

    /// What the sweep should do for this connection.
    enum Action: Equatable {
        case none
        /// Start the graceful double GOAWAY.
        case retire
        /// End every open call with UNAVAILABLE.
        case endCalls
        /// The client did not close after its calls ended: close it.
        case close
    }

    /// How long the trailers of the ended calls get to reach the client
    /// before the connection is closed under it.
    let flushNanos: Int64
    let graceNanos: Int64?
    private(set) var state: State

    /// `jitterNanos` is added to the age; `jitter(forAge:using:)` draws it.
    init(_ policy: KeepalivePolicy, openedAtNanos: Int64, jitterNanos: Int64) {
        graceNanos = policy.maxConnectionAgeGraceNanos
        flushNanos = policy.timeoutNanos
        if let age = policy.maxConnectionAgeNanos {
            state = .serving(retireAtNanos: openedAtNanos.saturatingAdding(age.saturatingAdding(jitterNanos)))
        } else {
            state = .unlimited
        }
    }

    /// A uniform draw in ±10% of `age`, as grpc-go's getJitter.
    static func jitter(forAge age: Int64?, using generator: inout some RandomNumberGenerator) -> Int64 {
        guard let age, age >= 10 else { return 0 }
        let spread = age / 10
        return Int64.random(in: -spread...spread, using: &generator)
    }

    mutating func check(nowNanos: Int64) -> Action {
        switch state {
        case .unlimited, .closed:
            return .none
        case .serving(let retireAt):
            guard nowNanos >= retireAt else { return .none }
            state = .retiring(graceEndsAtNanos: graceNanos.map { nowNanos.saturatingAdding($0) })
            return .retire
        case .retiring(let graceEnds):
            guard let graceEnds, nowNanos >= graceEnds else { return .none }
            state = .ending(closeByNanos: nowNanos.saturatingAdding(flushNanos))
            return .endCalls
        case .ending(let closeBy):
            guard nowNanos >= closeBy else { return .none }
            state = .closed
            return .close
        }
    }
}

extension Int64 {
    /// Deadlines far in the future (days of grace) stay in range.
    func saturatingAdding(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}

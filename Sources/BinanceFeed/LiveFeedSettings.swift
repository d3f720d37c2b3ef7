import Reactor

/// Everything the live feed is told at startup (flags and their defaults).
public struct LiveFeedSettings: Sendable {
    public var endpoint: BinanceEndpoint
    public var stream: TradeStreamKind
    /// `--binance-ca-file`: trusted in addition to the system store.
    public var extraCAFile: String?
    /// `--dns-servers`: who resolves the endpoint's host (default: resolv.conf's).
    public var dnsServers: DNSServerList = .system
    /// No frame of any kind for this long: the connection is dead.
    public var staleTimeoutNanos: Int64
    /// Rotate (make before break) when a connection gets this old; Binance
    /// ends every connection at 24 h.
    public var maxConnectionAgeNanos: Int64
    public var backoffBaseNanos: Int64
    public var backoffCapNanos: Int64
    /// TCP + TLS + WebSocket upgrade must finish within this.
    public var handshakeTimeoutNanos: Int64 = 10_000_000_000
    /// A connection "reached streaming" once it delivered a trade or stayed
    /// open this long (a quiet market that answers our pings). Only then does
    /// its end count as an ending rather than a failure: the backoff resets
    /// and the next attempt goes out at once. A server that accepts and drops
    /// at once never reaches it, so it keeps backing off.
    public var streamingProofNanos: Int64 = 5_000_000_000
    /// The attempt budget (AttemptBudget): this many at once, then one per
    /// interval; 210 per 5 minutes at most, under Binance's 300.
    public var attemptBurst = 10
    public var attemptIntervalNanos: Int64 = 1_500_000_000
    /// A larger trade-id jump is held as suspect (TradeSequencer); the
    /// future `--backfill-max-trades` default.
    public var maxPlausibleJump: Int64 = TradeSequencer.defaultMaxPlausibleJump
    /// A symbol whose every trade was dropped this long is reported cut off.
    public var cutOffAfterNanos: Int64 = 5_000_000_000
    /// A rotation that has not proven overlap by then switches anyway.
    public var rotationOverlapTimeoutNanos: Int64 = 30_000_000_000
    /// How long a retired connection may take to answer our close frame.
    public var closeTimeoutNanos: Int64 = 2_000_000_000

    public init(endpoint: BinanceEndpoint, stream: TradeStreamKind = .trade, extraCAFile: String? = nil,
                staleTimeoutNanos: Int64 = 15_000_000_000, maxConnectionAgeNanos: Int64 = 85_800_000_000_000,
                backoffBaseNanos: Int64 = 1_000_000_000, backoffCapNanos: Int64 = 30_000_000_000) {
        self.endpoint = endpoint
        self.stream = stream
        self.extraCAFile = extraCAFile
        self.staleTimeoutNanos = staleTimeoutNanos
        self.maxConnectionAgeNanos = maxConnectionAgeNanos
        self.backoffBaseNanos = backoffBaseNanos
        self.backoffCapNanos = backoffCapNanos
    }

    /// Our own liveness ping: every few seconds, and often enough that a
    /// silent server is noticed within the stale timeout. Binance counts
    /// every frame we send toward 5 per second; one per ≥ 0.5 s stays far below.
    public var pingIntervalNanos: Int64 {
        max(500_000_000, min(5_000_000_000, staleTimeoutNanos / 3))
    }

    /// The maintenance timer's period: fine enough for the stale timeout.
    public var tickNanos: Int64 {
        max(50_000_000, min(1_000_000_000, staleTimeoutNanos / 10))
    }
}

/// How the feed repairs gaps from Binance's WebSocket API (flags and defaults).
public struct BackfillSettings: Sendable {
    /// `--binance-api-url`: the WebSocket API (`wss://ws-api.binance.com:443/ws-api/v3`).
    public var endpoint: BinanceEndpoint
    /// `--backfill-timeout`: a gap not repaired by then is announced, and
    /// the live trades held behind it are released.
    public var timeoutNanos: Int64
    /// `--backfill-max-trades`: a larger gap is announced at once; as many
    /// live trades held behind one symbol's gaps end the wait too.
    public var maxTradesPerGap: Int64
    /// The API connection closes after this long with nothing to fetch.
    public var idleCloseNanos: Int64 = 10_000_000_000
    /// TCP + TLS + WebSocket upgrade of the API connection must finish within this.
    public var handshakeTimeoutNanos: Int64 = 10_000_000_000
    /// `trades.historical` for the trade stream; `trades.aggregate` for
    /// aggTrade, whose ids are aggregate ids (see `init`).
    public var method = "trades.historical"
    /// What one request costs of the 6,000 weight per minute per IP:
    /// 25 for trades.historical, 4 for trades.aggregate.
    public var requestWeight = 25
    /// Binance's cap on `limit`.
    public var maxTradesPerRequest = 1000
    /// `--warm-intervals`: at startup, every symbol's recent klines of these
    /// intervals are fetched (`klines`, on the same connection).
    public var warmIntervals: [String] = []
    /// What one `klines` request costs (Binance: 2, whatever the limit).
    public var klineRequestWeight = 2
    /// A kline fetch not done this long after it was asked for fails (a 418
    /// ban, or an API that cannot be reached); its consumer goes on without.
    public var klineDeadlineNanos: Int64 = 60_000_000_000
    /// Failed tries of one fetch (5xx, unreadable, connection lost) before it fails.
    public var klineMaxFailedTries = 3
    /// Backoff after a failed connection or a 429 without Retry-After: base·2ⁿ, capped.
    public var retryBaseNanos: Int64 = 250_000_000
    public var retryCapNanos: Int64 = 5_000_000_000

    public init(endpoint: BinanceEndpoint, stream: TradeStreamKind = .trade, timeoutNanos: Int64 = 5_000_000_000,
                maxTradesPerGap: Int64 = 50_000) {
        self.endpoint = endpoint
        if stream == .aggTrade {
            method = "trades.aggregate"
            requestWeight = 4
        }
        self.timeoutNanos = timeoutNanos
        self.maxTradesPerGap = maxTradesPerGap
    }

    func retryDelayNanos(failures: Int) -> Int64 {
        let shift = min(failures, 20)
        return min(retryCapNanos, retryBaseNanos << Int64(shift))
    }
}

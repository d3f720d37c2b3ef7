import BinanceFeed
import Engine
import GRPCServer
import Indicators
import Reactor

/// Every value the metrics endpoint exposes, read from the plain counters of
/// each layer at scrape time. The collector sees only this, so it depends on
/// no server internals and can be tested with made-up numbers.
struct MetricsSnapshot {
    /// nil when replaying: no Binance connection exists.
    var feedState: FeedConnectionState?
    var feedConnectionsOpened = 0
    var feedReconnects: [FeedEventCounts.ReconnectReason: Int] = [:]
    /// Frames received from the source (WebSocket messages, or replayed lines).
    var feedMessagesReceived = 0
    var feedFramesSkipped: [FeedEvent.SkipReason: Int] = [:]
    /// Per symbol, indexed as in the SymbolTable.
    var feedMissingTrades: [Int64] = []
    var feedDuplicatesDropped = 0
    /// nil without backfill (replay, or --binance-api-url off).
    var backfill: BackfillStatistics?
    /// nil without backfill: kline fetches share its connection.
    var klineFetch: KlineFetchStatistics?
    var feedLateTrades = 0
    /// Per symbol, indexed as in the SymbolTable.
    var feedSuspectIDs: [Int] = []
    var feedOutliersDropped: [Int] = []
    var feedSequenceResets: [Int] = []
    var feedSymbolCutOff: [Bool] = []

    var tradesPublished = 0
    var grpcConnections = 0
    var grpcStreams = 0
    var priceStreams = 0
    var subscriptions: [IndicatorKind: Int] = [:]
    var indicatorBatches = 0
    var candleMemoryBytes = 0
    var candleSubscriptions = 0
    var candleBatches = 0
    var candleLateTrades = 0
    var candleHistoriesRefused = 0
    var priceMessages = 0
    var priceBytes = 0
    var conflatedTrades = 0
    var deferredIndicatorBatches = 0
    var slowConsumerDisconnects = 0
    var keepaliveEvents: [KeepaliveEvent: Int] = [:]
    var writeIdleDisconnects = 0
    var queuedBudgetBytes = 0
    var queuedBytes = 0
    var outputAllocatedBytes = 0
    var inboundHeldBytes = 0
    var nghttp2AllocatedBytes = 0
    var budgetStreamsEnded = 0
    var budgetConnectionsClosed = 0
    var handshakesClosed = 0
    var scrapeConnectionsReclaimed = 0
    var maxStreams = 0
    var streamsRefused = 0

    var connectionsAccepted = 0
    var connectionsRefusedAtLimit = 0
    var connectionsRefusedSetupFailed = 0
    var maxConnections = 0
    var rpcs = RPCCounts()
    /// Lag histograms and each symbol's newest trade time.
    var feedLag = FeedLag(symbolCount: 0)
    /// 0 without --replay.
    var replayProgress = 0.0
    var replayPassesCompleted = 0
    var replayFinished = false
    var process = ProcessStatistics()

    var phase = ShutdownPhase.running
    var loop = LoopStatistics()
    /// Queued prices may wait for --flush-linger's window now.
    var flushLingerEngaged = false
    var holdWindowsEnded = HoldWindowCounts()
}

extension ShutdownPhase {
    /// The `phase` label of the shutdown gauge.
    var metricLabel: String {
        switch self {
        case .running: return "running"
        case .draining: return "draining"
        case .stopping: return "stopping"
        case .stopped: return "stopped"
        }
    }

    static let metricLabels = ["running", "draining", "stopping", "stopped"]
}

extension IndicatorKind {
    /// The `type` label of the subscriptions gauge.
    var metricLabel: String {
        switch self {
        case .sma: return "sma"
        case .ema: return "ema"
        case .rsi: return "rsi"
        case .macd: return "macd"
        case .bollinger: return "bbands"
        case .atr: return "atr"
        case .stochastic: return "stoch"
        case .vwap: return "vwap"
        }
    }
}

import BinanceFeed
import MarketData

/// Feed counters that follow from the feed's events (which are never rate
/// limited, unlike skipped-frame reports): reconnects by why, and missing
/// trades by symbol. Updated where each event is logged, read at scrape time.
struct FeedEventCounts {
    /// Why the feed had to open another connection.
    enum ReconnectReason: String, CaseIterable {
        /// An attempt ended before it streamed (refused, TLS, HTTP status, timeout).
        case failed
        /// A streaming connection ended unexpectedly.
        case lost
        /// A connection was replaced because it went silent.
        case stale
        /// A planned make-before-break rotation (age or maintenance notice).
        case rotation
    }

    private(set) var reconnects: [ReconnectReason: Int] = [:]
    /// Missing trade ids per symbol, indexed as in the SymbolTable.
    private(set) var missingTrades: [Int64]
    /// Per symbol: implausible ids held, outliers dropped, sequence resets.
    private(set) var suspectIDs: [Int]
    private(set) var outliersDropped: [Int]
    private(set) var sequenceResets: [Int]
    /// Per symbol: true while it is reported cut off.
    private(set) var cutOff: [Bool]
    private let symbols: SymbolTable
    /// The connection just declared stale: its ending is counted as stale, not again as failed or lost.
    private var staleConnection: UInt32?

    init(symbols: SymbolTable) {
        self.symbols = symbols
        missingTrades = Array(repeating: 0, count: symbols.count)
        suspectIDs = Array(repeating: 0, count: symbols.count)
        outliersDropped = Array(repeating: 0, count: symbols.count)
        sequenceResets = Array(repeating: 0, count: symbols.count)
        cutOff = Array(repeating: false, count: symbols.count)
    }

    mutating func record(_ event: FeedEvent) {
        switch event {
        case .stale(let connection, _):
            staleConnection = connection
            reconnects[.stale, default: 0] += 1
        case .connectionFailed(let connection, _, _, _):
            if takeStale(connection) { return }
            reconnects[.failed, default: 0] += 1
        case .connectionLost(let connection, _, _):
            if takeStale(connection) { return }
            reconnects[.lost, default: 0] += 1
        case .rotationStarted:
            reconnects[.rotation, default: 0] += 1
        case .gap(let symbol, let missing, _, _):
            if let index = symbols.index(of: symbol) { missingTrades[index] += missing }
        case .suspectTradeID, .outlierDropped, .sequenceReset, .symbolCutOff, .symbolRestored:
            recordSequencing(event)
        case .connecting, .connected, .rotationComplete, .frameSkipped, .serverShutdownNotice:
            break
        }
    }

    private mutating func recordSequencing(_ event: FeedEvent) {
        switch event {
        case .suspectTradeID(let symbol, _, _):
            if let index = symbols.index(of: symbol) { suspectIDs[index] += 1 }
        case .outlierDropped(let symbol, _, _):
            if let index = symbols.index(of: symbol) { outliersDropped[index] += 1 }
        case .sequenceReset(let symbol, _, _):
            if let index = symbols.index(of: symbol) { sequenceResets[index] += 1 }
        case .symbolCutOff(let symbol, _, _):
            if let index = symbols.index(of: symbol) { cutOff[index] = true }
        case .symbolRestored(let symbol, _):
            if let index = symbols.index(of: symbol) { cutOff[index] = false }
        default:
            break
        }
    }

    private mutating func takeStale(_ connection: UInt32) -> Bool {
        guard staleConnection == connection else { return false }
        staleConnection = nil
        return true
    }
}

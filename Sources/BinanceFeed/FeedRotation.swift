import MarketData

/// A make-before-break rotation in flight, the payload of `FeedPhase.rotating`.
///
/// Current keeps delivering; the candidate's trades are held here. The switch
/// is safe once one trade has been seen on both connections: both streams are
/// in Binance's order and the candidate holds everything from its first trade
/// on, so a trade on both means current has already delivered everything
/// before the candidate's first trade, of every symbol. (Per-symbol continuity
/// alone is not enough: current may still carry other symbols' trades from
/// before the candidate started.)
struct FeedRotation: Equatable, Sendable {
    var current: FeedConnection
    var candidate: FeedConnection
    let reason: FeedEvent.RotationReason
    /// The sequencer's duplicate count when the rotation began, so the
    /// rotation reports only its own duplicates.
    let duplicatesBefore: Int
    /// The candidate's trades, oldest first, published at the switch.
    private(set) var held: [Trade] = []
    /// The candidate's first trade id per symbol index.
    private var candidateFirstID: [Int64?]
    /// The switch is safe (or forced): it happens once the event being
    /// handled is over, never in the middle of a socket read.
    private(set) var switchDue = false

    /// Past this many held trades the switch is forced rather than the memory grown.
    static var heldLimit: Int { 1 << 16 }

    init(current: FeedConnection, candidate: FeedConnection, reason: FeedEvent.RotationReason,
         duplicatesBefore: Int, symbolCount: Int) {
        self.current = current
        self.candidate = candidate
        self.reason = reason
        self.duplicatesBefore = duplicatesBefore
        candidateFirstID = Array(repeating: nil, count: symbolCount)
    }

    /// A trade from the candidate. `alreadyDelivered`: current delivered it
    /// (or a later one of its symbol), which shows the overlap.
    mutating func hold(_ trade: Trade, alreadyDelivered: Bool) {
        if candidateFirstID[trade.symbolIndex] == nil { candidateFirstID[trade.symbolIndex] = trade.tradeID }
        held.append(trade)
        if alreadyDelivered || held.count >= Self.heldLimit { switchDue = true }
    }

    /// Current delivered a trade the candidate also holds: the overlap is shown.
    mutating func currentDelivered(_ trade: Trade) {
        if let first = candidateFirstID[trade.symbolIndex], trade.tradeID >= first { switchDue = true }
    }

    /// The candidate streamed for the overlap timeout without proof (a quiet
    /// market): switch anyway; any gap is counted by the sequencer.
    mutating func overlapTimedOut() {
        switchDue = true
    }
}

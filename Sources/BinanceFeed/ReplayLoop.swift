import MarketData

/// Makes each pass over a looped recording (`--replay-loop`) continue the
/// one before, so a client sees one endless, consistent market: per symbol,
/// trade ids go on increasing without gaps or repeats, and event and trade
/// times move forward.
///
/// The first pass records each symbol's id range and the recording's time
/// span. Pass n then adds n × (that symbol's id count) to each id, so the
/// last id of pass n−1 is followed by the first of pass n exactly when the
/// recording's ids are contiguous, and n × (time span + 50 ms) to each time,
/// so pacing by the recorded times (`--replay-speed`) plays every pass at the
/// recorded pace with a 50 ms pause between passes.
struct ReplayLoop {
    /// Pause between the last trade of a pass and the first of the next, in
    /// recorded time.
    static let gapBetweenPassesMs: Int64 = 50

    private(set) var pass: Int64 = 0
    private var lowestID: [Int64]
    private var highestID: [Int64]
    private var earliestMs = Int64.max
    private var latestMs = Int64.min
    private var firstPassTrades = 0

    init(symbolCount: Int) {
        lowestID = Array(repeating: .max, count: symbolCount)
        highestID = Array(repeating: .min, count: symbolCount)
    }

    /// Shifts a trade read from the file into the current pass; on the first
    /// pass, also learns the recording's ranges from it.
    mutating func place(_ trade: Trade) -> Trade {
        guard pass > 0 else {
            firstPassTrades += 1
            lowestID[trade.symbolIndex] = min(lowestID[trade.symbolIndex], trade.tradeID)
            highestID[trade.symbolIndex] = max(highestID[trade.symbolIndex], trade.tradeID)
            earliestMs = min(earliestMs, trade.eventTimeMs, trade.tradeTimeMs)
            latestMs = max(latestMs, trade.eventTimeMs, trade.tradeTimeMs)
            return trade
        }
        var shifted = trade
        let symbol = trade.symbolIndex
        shifted.tradeID &+= pass &* (highestID[symbol] &- lowestID[symbol] &+ 1)
        let timeStep = latestMs &- earliestMs &+ Self.gapBetweenPassesMs
        shifted.eventTimeMs &+= pass &* timeStep
        shifted.tradeTimeMs &+= pass &* timeStep
        return shifted
    }

    /// Begins the next pass; false when the recording holds no trade at all,
    /// as looping it would spin without publishing anything.
    mutating func startNextPass() -> Bool {
        guard firstPassTrades > 0 else { return false }
        pass += 1
        return true
    }
}

import MarketData

/// The sequencer's rare outcomes, counted and told to the observer. Cold:
/// the plain next trade never comes here.
extension LiveFeed {
    func report(_ verdict: TradeVerdict, for trade: Trade) {
        let symbol = symbols.upperCased[trade.symbolIndex]
        switch verdict {
        case .publishAfterGap(let missing, let lastID):
            reportGap(symbol: symbol, missing: missing, lastID: lastID, nextID: trade.tradeID)
        case .publishLate:
            statistics.lateTradesDelivered += 1
        case .publishAfterOutlier(let outlierID, let missing, let lastID):
            observer.feedEvent(.outlierDropped(symbol: symbol, tradeID: outlierID, lastID: lastID))
            if missing > 0 { reportGap(symbol: symbol, missing: missing, lastID: lastID, nextID: trade.tradeID) }
        case .publishAfterReset(let suspect, let previousID, let missing):
            observer.feedEvent(.sequenceReset(symbol: symbol, previousID: previousID, nextID: suspect.tradeID))
            if missing > 0 {
                reportGap(symbol: symbol, missing: missing, lastID: suspect.tradeID, nextID: trade.tradeID)
            }
        case .suspect(let lastID, let droppedOutlierID):
            if let droppedOutlierID {
                observer.feedEvent(.outlierDropped(symbol: symbol, tradeID: droppedOutlierID, lastID: lastID))
            }
            observer.feedEvent(.suspectTradeID(symbol: symbol, tradeID: trade.tradeID, lastID: lastID))
        case .publish, .duplicate, .held, .ignored:
            break
        }
    }

    private func reportGap(symbol: String, missing: Int64, lastID: Int64, nextID: Int64) {
        statistics.gapTrades += missing
        observer.feedEvent(.gap(symbol: symbol, missingTrades: missing, lastID: lastID, nextID: nextID))
    }

    /// A symbol cut off (every trade dropped for a while), or delivering again.
    func report(_ change: SymbolCutOffWatch.Change) {
        switch change {
        case .cutOff(let index, let dropped, let forMs):
            observer.feedEvent(.symbolCutOff(symbol: symbols.upperCased[index], droppedTrades: dropped, forMs: forMs))
        case .restored(let index, let forMs):
            observer.feedEvent(.symbolRestored(symbol: symbols.upperCased[index], forMs: forMs))
        }
    }
}

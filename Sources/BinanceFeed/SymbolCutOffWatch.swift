/// No silent cut-off: notices a symbol whose trades have all been dropped
/// (as duplicates or outliers) for `afterNanos`, and again when it delivers.
/// It samples the sequencer on the maintenance tick instead of reading the
/// clock per trade, so the per-trade path only bumps two counters.
struct SymbolCutOffWatch: Sendable {
    /// What one symbol looked like at the previous sample.
    private struct Sample: Sendable {
        var deliveries: UInt64 = 0
        /// Since when every trade of the symbol was dropped; nil while it delivers.
        var droppingSinceNanos: Int64?
        /// The cut-off was announced and not yet lifted.
        var announced = false
    }

    /// One change the watch reports.
    enum Change: Equatable, Sendable {
        /// Every trade of the symbol was dropped for `forMs`.
        case cutOff(symbolIndex: Int, droppedTrades: Int, forMs: Int64)
        /// A cut-off symbol delivered again after `forMs`.
        case restored(symbolIndex: Int, forMs: Int64)
    }

    let afterNanos: Int64
    private var samples: [Sample]

    init(symbolCount: Int, afterNanos: Int64) {
        self.afterNanos = afterNanos
        samples = Array(repeating: Sample(), count: symbolCount)
    }

    /// Compares the sequencer with the previous sample; cold (once a tick).
    mutating func check(_ sequencer: TradeSequencer, nowNanos: Int64) -> [Change] {
        var changes: [Change] = []
        for index in samples.indices {
            let state = sequencer.symbols[index]
            let delivered = state.deliveries != samples[index].deliveries
            samples[index].deliveries = state.deliveries
            if delivered || state.droppedSinceDelivery == 0 {
                if samples[index].announced, let since = samples[index].droppingSinceNanos {
                    changes.append(.restored(symbolIndex: index, forMs: (nowNanos - since) / 1_000_000))
                }
                samples[index].announced = false
                samples[index].droppingSinceNanos = state.droppedSinceDelivery == 0 ? nil : nowNanos
                continue
            }
            guard let since = samples[index].droppingSinceNanos else {
                samples[index].droppingSinceNanos = nowNanos
                continue
            }
            if !samples[index].announced && nowNanos - since >= afterNanos {
                samples[index].announced = true
                changes.append(.cutOff(symbolIndex: index, droppedTrades: state.droppedSinceDelivery,
                                       forMs: (nowNanos - since) / 1_000_000))
            }
        }
        return changes
    }

    /// True while the symbol's cut-off is announced and not lifted.
    func isCutOff(_ symbolIndex: Int) -> Bool { samples[symbolIndex].announced }
}

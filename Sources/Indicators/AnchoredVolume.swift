/// Σ price × qty and Σ qty since 00:00 UTC of one symbol (or candle series):
/// what a UTC-day VWAP divides.
///
/// The history keeps one per symbol, folding in every bar it records, so a
/// VWAP subscribed at 15:00 is the day's VWAP at once rather than the VWAP
/// since its subscription. A server started mid-day counts from its start
/// (or, for candles, from the oldest candle it holds).
struct AnchoredVolume {
    static let dayMs: Int64 = 86_400_000

    /// The UTC day (days since the epoch) the sums belong to; nil before the first bar.
    private(set) var day: Int64?
    private(set) var quoteVolume = 0.0
    private(set) var volume = 0.0

    /// The sums with `bar` folded in, restarting if it opens a new UTC day.
    func adding(_ bar: Bar) -> AnchoredVolume {
        let barDay = Self.utcDay(of: bar.timeMs)
        var next = barDay == day ? self : AnchoredVolume(day: barDay)
        next.quoteVolume += bar.quoteVolume
        next.volume += bar.volume
        return next
    }

    /// Σ price × qty / Σ qty; nil before any volume.
    var weightedPrice: Double? {
        volume > 0 ? quoteVolume / volume : nil
    }

    static func utcDay(of timeMs: Int64) -> Int64 {
        // Floor division: a time before the epoch still lands in its own day.
        timeMs >= 0 ? timeMs / dayMs : (timeMs - dayMs + 1) / dayMs
    }

    private init(day: Int64?) {
        self.day = day
    }

    init() {}
}

/// VWAP = Σ price × qty / Σ qty over the anchor's trades (TA-Lib has none;
/// docs/wire-api.md defines it). Stateless apart from the anchor: the day's
/// sums live in the history (`AnchoredVolume`), and a candle carries its own.
struct VolumeWeightedAveragePrice {
    let anchor: VWAPAnchor

    /// The VWAP once `bar` is included; `day` is the symbol's sums before it.
    /// Nil while the anchor has seen no volume (a candle without trades).
    func value(after bar: Bar, day: AnchoredVolume) -> Double? {
        switch anchor {
        case .utcDay: day.adding(bar).weightedPrice
        case .candle: bar.volume > 0 ? bar.quoteVolume / bar.volume : nil
        }
    }
}

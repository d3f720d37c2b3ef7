extension IndicatorParameters {
    /// The longest Bollinger window whose exact 128-bit sums cannot overflow
    /// (see `FixedPointWindow`).
    public static let maxBollingerPeriod = 10_000

    /// Why (kind, period, parameters) is not a valid indicator under
    /// `maxPeriod`, in words for the client (INVALID_ARGUMENT), or nil when it
    /// is. Defaults must already be filled in. Every period is bounded by
    /// `maxPeriod` (the server's --max-period), so the limits apply to the new
    /// kinds as they do to SMA, EMA and RSI.
    public static func problem(kind: IndicatorKind, period: Int, parameters: IndicatorParameters,
                               maxPeriod: Int) -> String? {
        switch (kind, parameters) {
        case (.sma, .none), (.ema, .none), (.rsi, .none), (.atr, .none):
            return rangeProblem("period", period, 2, maxPeriod)
        case (.bollinger, .bollinger(let up, let down)):
            if let problem = rangeProblem("period", period, 2, min(maxPeriod, maxBollingerPeriod)) { return problem }
            for (name, deviations) in [("deviations_up", up), ("deviations_down", down)]
            where !(deviations.isFinite && deviations > 0 && deviations <= 100) {
                return "\(name) \(deviations) is out of range: use a number above 0 and at most 100"
            }
            return nil
        case (.macd, .macd(let fast, let slow, let signal)):
            if period != 0 { return unusedPeriod(period, "MACD", "fast_period, slow_period and signal_period") }
            return rangeProblem("fast_period", fast, 2, maxPeriod)
                ?? rangeProblem("slow_period", slow, 2, maxPeriod)
                ?? rangeProblem("signal_period", signal, 1, maxPeriod)
                ?? (fast < slow ? nil
                    : "fast_period \(fast) must be below slow_period \(slow): MACD is the fast EMA minus the slow one")
        case (.stochastic, .stochastic(let fastK, let slowK, let slowD)):
            if period != 0 { return unusedPeriod(period, "the Stochastic", "fastk_period, slowk_period and slowd_period") }
            return rangeProblem("fastk_period", fastK, 1, maxPeriod)
                ?? rangeProblem("slowk_period", slowK, 1, maxPeriod)
                ?? rangeProblem("slowd_period", slowD, 1, maxPeriod)
        case (.vwap, .vwap):
            return period != 0 ? unusedPeriod(period, "VWAP", "its anchor") : nil
        default:
            return "these parameters do not belong to \(kind)"
        }
    }

    private static func rangeProblem(_ name: String, _ value: Int, _ lowest: Int, _ highest: Int) -> String? {
        (lowest...max(lowest, highest)).contains(value) ? nil
            : "\(name) \(value) is out of range: use \(lowest) to \(highest) (the server's --max-period)"
    }

    private static func unusedPeriod(_ period: Int, _ name: String, _ instead: String) -> String {
        "period \(period) is not used by \(name): leave it 0 and set \(instead) in parameters"
    }
}

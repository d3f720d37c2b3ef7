import Indicators

/// Naive, whole-series recomputations of TA-Lib's SMA, EMA and RSI, written the
/// most obvious way and independent of the engine's streaming machinery (rings,
/// pooling, warm-up replay). Each returns one entry per input price, nil where
/// TA-Lib has no output yet, so index i is the indicator after price i.
///
/// Cross-checked once against TA-Lib 0.8.1 itself (`pip install ta-lib`, Python
/// wrapper 0.8.2) on `realBTCUSDTPrices` and three of the random walks, 19 series
/// per kind with periods 2 to 999: EMA and RSI agree bit for bit; SMA within
/// 5.7e-15 relative, because TA-Lib keeps a plain running sum while this re-sums
/// each window. The tests do not need Python.
/// The kinds with one period and one output, which these original tests cover
/// (the newer kinds have their own suites).
let originalKinds: [IndicatorKind] = [.sma, .ema, .rsi]

enum TALibReference {
    /// Mean of the `period` prices ending at each index, summed afresh every time.
    static func sma(_ prices: [Double], period: Int) -> [Double?] {
        prices.indices.map { end in
            guard end + 1 >= period else { return nil }
            var sum = 0.0
            for price in prices[(end + 1 - period)...end] { sum += price }
            return sum / Double(period)
        }
    }

    /// TA-Lib's classic EMA: seeded with the SMA of the first `period` prices,
    /// then `ema = ((price - ema) * k) + ema` with k = 2/(period+1).
    static func ema(_ prices: [Double], period: Int) -> [Double?] {
        var output = [Double?](repeating: nil, count: prices.count)
        guard prices.count >= period else { return output }
        let k = 2.0 / Double(period + 1)
        var sum = 0.0
        for price in prices[0..<period] { sum += price }
        var ema = sum / Double(period)
        output[period - 1] = ema
        for position in period..<prices.count {
            ema = ((prices[position] - ema) * k) + ema
            output[position] = ema
        }
        return output
    }

    /// TA-Lib's RSI: simple means of the first `period` changes, then Wilder's
    /// smoothing `avg = (avg * (period-1) + change) / period` for both sides, and
    /// 100 * gain / (gain + loss), which is 0 when both averages are zero.
    /// TA-Lib 0.8 applies "/ period" as "* (1 / period)", and so does this.
    static func rsi(_ prices: [Double], period: Int) -> [Double?] {
        var output = [Double?](repeating: nil, count: prices.count)
        guard prices.count > period else { return output }
        let n = Double(period)
        let oneOverN = 1 / n
        var gain = 0.0
        var loss = 0.0
        for position in 1...period {
            let change = prices[position] - prices[position - 1]
            if change < 0 { loss -= change } else { gain += change }
        }
        gain *= oneOverN
        loss *= oneOverN
        output[period] = index(gain: gain, loss: loss)
        for position in (period + 1)..<prices.count {
            let change = prices[position] - prices[position - 1]
            gain *= n - 1
            loss *= n - 1
            if change < 0 { loss -= change } else { gain += change }
            gain *= oneOverN
            loss *= oneOverN
            output[position] = index(gain: gain, loss: loss)
        }
        return output
    }

    static func series(_ kind: IndicatorKind, _ prices: [Double], period: Int) -> [Double?] {
        switch kind {
        case .sma: sma(prices, period: period)
        case .ema: ema(prices, period: period)
        case .rsi: rsi(prices, period: period)
        case .macd, .bollinger, .atr, .stochastic, .vwap:
            preconditionFailure("\(kind) has its own reference in TALibReference+Bars.swift")
        }
    }

    private static func index(gain: Double, loss: Double) -> Double {
        gain + loss == 0 ? 0 : 100 * (gain / (gain + loss))
    }
}

/// TA-Lib's SMA, EMA and RSI over a whole series of closes, written the
/// obvious way (re-summing each window; no rings, no pool, no warm-up replay),
/// so the candle indicators are checked against something independent of
/// them. Index i is the value after close i; nil where TA-Lib has no output.
/// RSI applies "/ period" as "* (1 / period)", as TA-Lib 0.8 does.
enum ClosesReference {
    static func values(_ kind: String, _ closes: [Double], period: Int) -> [Double?] {
        switch kind {
        case "sma": return sma(closes, period)
        case "ema": return ema(closes, period)
        default: return rsi(closes, period)
        }
    }

    static func sma(_ closes: [Double], _ period: Int) -> [Double?] {
        closes.indices.map { end in
            guard end + 1 >= period else { return nil }
            return closes[(end + 1 - period)...end].reduce(0, +) / Double(period)
        }
    }

    static func ema(_ closes: [Double], _ period: Int) -> [Double?] {
        var output = [Double?](repeating: nil, count: closes.count)
        guard closes.count >= period else { return output }
        let k = 2.0 / Double(period + 1)
        var value = closes[0..<period].reduce(0, +) / Double(period)
        output[period - 1] = value
        for index in period..<closes.count {
            value = ((closes[index] - value) * k) + value
            output[index] = value
        }
        return output
    }

    static func rsi(_ closes: [Double], _ period: Int) -> [Double?] {
        var output = [Double?](repeating: nil, count: closes.count)
        guard closes.count > period else { return output }
        let reciprocal = 1 / Double(period)
        var gain = 0.0, loss = 0.0
        for index in 1...period {
            let change = closes[index] - closes[index - 1]
            if change < 0 { loss -= change } else { gain += change }
        }
        gain *= reciprocal
        loss *= reciprocal
        output[period] = gain + loss == 0 ? 0 : 100 * (gain / (gain + loss))
        for index in stride(from: period + 1, to: closes.count, by: 1) {
            let change = closes[index] - closes[index - 1]
            gain *= Double(period - 1)
            loss *= Double(period - 1)
            if change < 0 { loss -= change } else { gain += change }
            gain *= reciprocal
            loss *= reciprocal
            output[index] = gain + loss == 0 ? 0 : 100 * (gain / (gain + loss))
        }
        return output
    }
}

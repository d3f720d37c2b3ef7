import GRPCWire
import Indicators
import TickwireProto

/// Reads a request's type, period and parameters into an indicator's
/// identity, filling in the defaults, and says what is wrong otherwise.
///
/// SMA, EMA and RSI keep their original rules (period 2…--max-period, no
/// default). The new kinds take their defaults when a period or parameter is
/// 0 or absent, so `{type: MACD}` alone is MACD(12, 26, 9).
enum IndicatorRequestParameters {
    /// What a valid request computes.
    struct Resolved {
        let kind: IndicatorKind
        let period: Int
        let parameters: IndicatorParameters
    }

    /// - Parameter onCandles: the request names an interval; ATR, the
    ///   Stochastic and a candle-anchored VWAP need one.
    /// A valid request's identity, or the status that tells the client what to fix.
    enum Outcome {
        case resolved(Resolved)
        case rejected(GRPCStatus)
    }

    static func resolve(_ request: Tickwire_V1_IndicatorRequest, onCandles: Bool, maxPeriod: Int) -> Outcome {
        guard let kind = IndicatorKind(wireType: request.type) else {
            return .rejected(GRPCStatus(.invalidArgument,
                "type must be one of INDICATOR_TYPE_SMA, _EMA, _RSI, _MACD, _BBANDS, _ATR, _STOCH, _VWAP, not \(request.type)"))
        }
        if kind.needsCandles && !onCandles {
            return .rejected(GRPCStatus(.invalidArgument,
                "\(request.type) needs candles (high, low and the previous close): set an interval"))
        }
        if let stray = strayParameters(request, kind) {
            return .rejected(GRPCStatus(.invalidArgument, stray))
        }
        let wire = request.parameters
        let period: Int
        let parameters: IndicatorParameters
        switch kind {
        case .sma, .ema, .rsi:
            period = Int(request.period)
            parameters = .none
        case .atr:
            period = orDefault(request.period, 14)
            parameters = .none
        case .bollinger:
            period = orDefault(request.period, 20)
            parameters = .bollinger(deviationsUp: wire.bollinger.hasDeviationsUp ? wire.bollinger.deviationsUp : 2,
                                    deviationsDown: wire.bollinger.hasDeviationsDown ? wire.bollinger.deviationsDown : 2)
        case .macd:
            period = Int(request.period)
            parameters = .macd(fast: orDefault(wire.macd.fastPeriod, 12), slow: orDefault(wire.macd.slowPeriod, 26),
                               signal: orDefault(wire.macd.signalPeriod, 9))
        case .stochastic:
            period = Int(request.period)
            parameters = .stochastic(fastK: orDefault(wire.stochastic.fastkPeriod, 5),
                                     slowK: orDefault(wire.stochastic.slowkPeriod, 3),
                                     slowD: orDefault(wire.stochastic.slowdPeriod, 3))
        case .vwap:
            period = Int(request.period)
            let anchor: VWAPAnchor
            switch wire.vwap.anchor {
            case .unspecified, .utcDay: anchor = .utcDay
            case .candle: anchor = .candle
            case .UNRECOGNIZED(let value):
                return .rejected(GRPCStatus(.invalidArgument,
                    "vwap.anchor \(value) is unknown: use VWAP_ANCHOR_UTC_DAY or VWAP_ANCHOR_CANDLE"))
            }
            if anchor == .candle && !onCandles {
                return .rejected(GRPCStatus(.invalidArgument,
                    "VWAP_ANCHOR_CANDLE restarts with every candle: set an interval, or anchor to the UTC day"))
            }
            parameters = .vwap(anchor)
        }
        if let problem = IndicatorParameters.problem(kind: kind, period: period, parameters: parameters,
                                                     maxPeriod: maxPeriod) {
            return .rejected(GRPCStatus(.invalidArgument, problem))
        }
        return .resolved(Resolved(kind: kind, period: period, parameters: parameters))
    }

    private static func orDefault(_ value: UInt32, _ fallback: Int) -> Int {
        value == 0 ? fallback : Int(value)
    }

    /// Parameters for another type than the request's: a mistake worth naming
    /// rather than ignoring.
    private static func strayParameters(_ request: Tickwire_V1_IndicatorRequest, _ kind: IndicatorKind) -> String? {
        guard let given = request.parameters.kind else { return nil }
        let matches: Bool
        switch given {
        case .macd: matches = kind == .macd
        case .bollinger: matches = kind == .bollinger
        case .stochastic: matches = kind == .stochastic
        case .vwap: matches = kind == .vwap
        }
        return matches ? nil : "parameters.\(given.name) does not belong to \(request.type)"
    }
}

extension Tickwire_V1_IndicatorParameters.OneOf_Kind {
    var name: String {
        switch self {
        case .macd: "macd"
        case .bollinger: "bollinger"
        case .stochastic: "stochastic"
        case .vwap: "vwap"
        }
    }
}

extension IndicatorParameters {
    /// The wire echo, defaults filled in; nil for kinds with only a period.
    var wire: Tickwire_V1_IndicatorParameters? {
        var message = Tickwire_V1_IndicatorParameters()
        switch self {
        case .none: return nil
        case .macd(let fast, let slow, let signal):
            message.macd.fastPeriod = UInt32(fast)
            message.macd.slowPeriod = UInt32(slow)
            message.macd.signalPeriod = UInt32(signal)
        case .bollinger(let up, let down):
            message.bollinger.deviationsUp = up
            message.bollinger.deviationsDown = down
        case .stochastic(let fastK, let slowK, let slowD):
            message.stochastic.fastkPeriod = UInt32(fastK)
            message.stochastic.slowkPeriod = UInt32(slowK)
            message.stochastic.slowdPeriod = UInt32(slowD)
        case .vwap(let anchor):
            message.vwap.anchor = anchor == .candle ? .candle : .utcDay
        }
        return message
    }
}

extension Tickwire_V1_IndicatorUpdate {
    /// Sets what identifies the update's indicator and every output.
    mutating func describe(_ key: IndicatorKey, _ outputs: IndicatorOutputs) {
        type = key.kind.wireType
        period = UInt32(key.period)
        if let wire = key.parameters.wire { parameters = wire }
        value = outputs.first
        values.reserveCapacity(outputs.count)
        for index in 0..<outputs.count { values.append(outputs[index]) }
    }
}

import MarketData
import GRPCWire
import Indicators
import TickwireProto

/// An IndicatorRequest judged against the server's limits: either a valid
/// (action, key) or the status that tells the client what to fix.
public enum SubscriptionRequest {
    case subscribe(IndicatorKey)
    case unsubscribe(IndicatorKey)
    case rejected(GRPCStatusCode, String)

    /// Longer request ids are refused: each is echoed in a status and logged.
    public static let maxRequestIDBytes = 256

    /// - Parameter onCandles: the request names an interval (`CandleSubscriptionRequest`
    ///   judges the rest of it); some kinds and anchors need one.
    public init(_ request: Tickwire_V1_IndicatorRequest, symbols: SymbolTable, settings: IndicatorSettings,
                onCandles: Bool = false) {
        if let (code, message) = Self.boundsRefusal(request) {
            self = .rejected(code, message)
            return
        }
        let resolved: IndicatorRequestParameters.Resolved
        switch IndicatorRequestParameters.resolve(request, onCandles: onCandles, maxPeriod: settings.maxPeriod) {
        case .resolved(let value): resolved = value
        case .rejected(let status):
            self = .rejected(status.code, status.message)
            return
        }
        guard let symbol = symbols.index(of: request.symbol) else {
            self = .rejected(.notFound, Self.notServed(request.symbol, symbols))
            return
        }
        let key = IndicatorKey(symbol: symbol, kind: resolved.kind, period: resolved.period,
                               parameters: resolved.parameters)
        switch request.action {
        case .subscribe: self = .subscribe(key)
        case .unsubscribe: self = .unsubscribe(key)
        case .UNRECOGNIZED(let value):
            self = .rejected(.invalidArgument, "action \(value) is unknown: use ACTION_SUBSCRIBE or ACTION_UNSUBSCRIBE")
        }
    }
}

extension SubscriptionRequest {
    /// An over-long request id or symbol: refused before anything else (both are echoed and logged).
    static func boundsRefusal(_ request: Tickwire_V1_IndicatorRequest) -> (GRPCStatusCode, String)? {
        guard request.requestID.utf8.count <= maxRequestIDBytes else {
            return (.invalidArgument, "request_id is \(request.requestID.utf8.count) bytes; use at most \(maxRequestIDBytes)")
        }
        guard request.symbol.utf8.count <= 64 else {
            return (.notFound, "symbol is \(request.symbol.utf8.count) bytes long; no served symbol is")
        }
        return nil
    }

    static func notServed(_ symbol: String, _ symbols: SymbolTable) -> String {
        "symbol '\(symbol)' is not served here; this server serves \(symbols.upperCased.joined(separator: ", "))"
    }
}

extension IndicatorKind {
    init?(wireType: Tickwire_V1_IndicatorType) {
        switch wireType {
        case .sma: self = .sma
        case .ema: self = .ema
        case .rsi: self = .rsi
        case .macd: self = .macd
        case .bbands: self = .bollinger
        case .atr: self = .atr
        case .stoch: self = .stochastic
        case .vwap: self = .vwap
        case .unspecified, .UNRECOGNIZED: return nil
        }
    }

    var wireType: Tickwire_V1_IndicatorType {
        switch self {
        case .sma: return .sma
        case .ema: return .ema
        case .rsi: return .rsi
        case .macd: return .macd
        case .bollinger: return .bbands
        case .atr: return .atr
        case .stochastic: return .stoch
        case .vwap: return .vwap
        }
    }
}

import Candles
import GRPCWire
import Indicators
import MarketData
import TickwireProto

/// What a candle subscription delivers.
public enum CandleSubject: Hashable, Sendable {
    /// The candles themselves, each as it closes.
    case candles
    /// An indicator on the candles (its closes, or its whole bars for ATR, Stochastic and VWAP).
    case indicator(IndicatorKind, period: Int, parameters: IndicatorParameters)
}

/// One candle subscription's identity: a stream holds each at most once.
public struct CandleKey: Hashable, Sendable {
    public let symbol: Int
    public let interval: CandleInterval
    public let subject: CandleSubject
    /// Also the forming candle (or the provisional value) at every batch.
    public let forming: Bool
}

/// An IndicatorRequest that names an interval or asks for candles, judged
/// against the server's limits (`SubscriptionRequest` judges the rest).
public enum CandleSubscriptionRequest {
    case subscribe(CandleKey)
    case unsubscribe(CandleKey)
    case rejected(GRPCStatusCode, String)

    /// Nil when the request is a per-trade indicator request.
    public init?(_ request: Tickwire_V1_IndicatorRequest, symbols: SymbolTable, settings: IndicatorSettings) {
        guard request.candles || request.interval != .unspecified else {
            guard !request.forming else {
                self = .rejected(.invalidArgument, "forming needs an interval: provisional values are on a forming candle")
                return
            }
            return nil
        }
        guard let interval = CandleInterval(rawValue: request.interval.rawValue) else {
            self = .rejected(.invalidArgument,
                             "interval must be one of CANDLE_INTERVAL_1S … CANDLE_INTERVAL_1D, not \(request.interval)")
            return
        }
        let subject: CandleSubject
        let symbol: Int
        if request.candles {
            if let (code, message) = SubscriptionRequest.boundsRefusal(request) {
                self = .rejected(code, message)
                return
            }
            guard let index = symbols.index(of: request.symbol) else {
                self = .rejected(.notFound, SubscriptionRequest.notServed(request.symbol, symbols))
                return
            }
            subject = .candles
            symbol = index
        } else {
            // The type, period, symbol and action checks are the per-trade ones.
            switch SubscriptionRequest(request, symbols: symbols, settings: settings, onCandles: true) {
            case .rejected(let code, let message):
                self = .rejected(code, message)
                return
            case .subscribe(let key), .unsubscribe(let key):
                subject = .indicator(key.kind, period: key.period, parameters: key.parameters)
                symbol = key.symbol
            }
        }
        let key = CandleKey(symbol: symbol, interval: interval, subject: subject, forming: request.forming)
        switch request.action {
        case .subscribe: self = .subscribe(key)
        case .unsubscribe: self = .unsubscribe(key)
        case .UNRECOGNIZED(let value):
            self = .rejected(.invalidArgument, "action \(value) is unknown: use ACTION_SUBSCRIBE or ACTION_UNSUBSCRIBE")
        }
    }
}

/// A stream's candle subscription and what it was last sent.
public struct CandleStreamSubscription {
    public let key: CandleKey
    /// The shared state, for an indicator on candles.
    let handle: IndicatorHandle?
    /// The series' `closedCount` when its last closed candle was sent.
    var sentClosedCount: Int64
    /// The indicator value's version last sent.
    var sentVersion: UInt64 = 0
    /// The forming candle last sent, so an unchanged one is not sent again.
    var sentForming: Candle?
    /// The provisional outputs last sent.
    var sentPeek: IndicatorOutputs?
}

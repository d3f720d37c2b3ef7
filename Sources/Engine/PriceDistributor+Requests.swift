import GRPCWire
import SwiftProtobuf
import TickwireProto

/// What became of one message a client sent on its StreamPrices stream.
public enum IndicatorRequestOutcome: Equatable {
    /// Applied (or refused) and answered with a StreamResponse.status.
    case answered(GRPCStatus)
    /// Not an IndicatorRequest at all: the stream ends with INVALID_ARGUMENT.
    case malformed
    /// The stream had already left the fan-out; nothing was done.
    case notRegistered
}

extension PriceDistributor {
    /// One IndicatorRequest, as the client's bytes: decoded, judged against the
    /// server's limits, applied to the stream's subscriptions, and answered
    /// with one status carrying the same request_id. Only bytes that are not
    /// an IndicatorRequest end the stream.
    public func receive(indicatorRequest bytes: UnsafeRawBufferPointer, from stream: Stream) -> IndicatorRequestOutcome {
        let request: Tickwire_V1_IndicatorRequest
        do {
            request = try Tickwire_V1_IndicatorRequest(serializedBytes: Array(bytes))
        } catch {
            end(stream, GRPCStatus(.invalidArgument, "the request is not a valid tickwire.v1.IndicatorRequest"))
            return .malformed
        }
        if let candleRequest = CandleSubscriptionRequest(request, symbols: indicators.symbols,
                                                         settings: indicators.settings) {
            guard let status = apply(candleRequest, from: stream) else { return .notRegistered }
            stream.send(indicators.statusMessage(for: request, status: status))
            // A late joiner gets the last closed candle, the forming one and
            // the current values at once, not at the next close or batch.
            if status.code == .ok, case .subscribe = candleRequest {
                let candles = self.candles
                registry.withEntry(of: stream) { candles.emitAlone(to: &$0) }
            }
            return .answered(status)
        }
        let parsed = SubscriptionRequest(request, symbols: indicators.symbols, settings: indicators.settings)
        guard let status = apply(parsed, from: stream) else { return .notRegistered }
        stream.send(indicators.statusMessage(for: request, status: status))
        return .answered(status)
    }
}

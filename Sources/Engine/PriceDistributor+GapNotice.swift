import GRPCWire
import MarketData
import SwiftProtobuf
import TickwireProto

/// Unrecoverable gaps reach every client as `StreamResponse.gap`.
extension PriceDistributor {
    /// Queued on every StreamPrices stream after the trades already queued
    /// (the feed publishes those first), so each stream sees it in trade
    /// order. Rare, so it is encoded with SwiftProtobuf.
    public func announce(_ gap: TradeGap) {
        sendToAll(GapNoticeMessage.make(gap, symbol: encoder.symbolName(gap.symbolIndex)))
    }
}

/// Builds the gRPC message for one gap notice.
public enum GapNoticeMessage {
    public static func make(_ gap: TradeGap, symbol: String) -> WireMessage {
        var response = Tickwire_V1_StreamResponse()
        response.gap.symbol = symbol
        response.gap.firstMissingID = gap.firstMissingID
        response.gap.lastMissingID = gap.lastMissingID
        response.gap.reason = reason(gap.reason)
        response.gap.detail = gap.detail
        // Safe to force: encoding a message we just built cannot fail.
        return WireMessage(payload: try! response.serializedBytes())
    }

    static func reason(_ reason: TradeGap.Reason) -> Tickwire_V1_GapNotice.Reason {
        switch reason {
        case .tooLarge: .tooLarge
        case .timeout: .timeout
        case .apiRefused: .apiRefused
        case .historyMissing: .historyMissing
        }
    }
}

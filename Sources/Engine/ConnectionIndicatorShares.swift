import Candles
import GRPCWire
import Indicators

/// One shared indicator state a connection's share counts: per trade, or on
/// one interval's candles. Both kinds count against the same share, since
/// either pool emptied by one client locks everyone else out of it.
enum SharedIndicatorKey: Hashable {
    case perTrade(IndicatorKey)
    /// The state is per (symbol, interval, type, parameters): `forming` only
    /// says what a stream is sent, so the key is kept with it false.
    case onCandles(CandleKey)

    /// The state a candle subscription reads, whatever its `forming`.
    static func state(of key: CandleKey) -> SharedIndicatorKey {
        .onCandles(CandleKey(symbol: key.symbol, interval: key.interval, subject: key.subject, forming: false))
    }
}

/// Which distinct indicators each client connection holds, across all its
/// streams (--max-indicators-per-connection), per trade and on candles. The
/// pools (--max-indicators) are shared by every client; without a share per
/// connection, one connection with 64 streams × 64 subscriptions takes all
/// 4,096 and everyone else is refused. Touched only when a subscription
/// changes, never per trade.
struct ConnectionIndicatorShares {
    /// Per connection: each indicator it holds, and how many of its streams hold it.
    private var held: [ObjectIdentifier: [SharedIndicatorKey: Int]] = [:]
    let limit: Int

    init(limit: Int) {
        precondition(limit >= 1, "a connection must be allowed at least one indicator")
        self.limit = limit
    }

    /// Distinct indicators `connection` holds.
    func count(of connection: ObjectIdentifier) -> Int { held[connection]?.count ?? 0 }

    /// The answer to a subscription `admits` refused, per trade or on candles.
    var refusal: GRPCStatus {
        GRPCStatus(.resourceExhausted,
                   "this connection's streams already hold \(limit) distinct indicators (the server's --max-indicators-per-connection); unsubscribe one first")
    }

    /// Another of the connection's streams subscribing to `key` would keep it
    /// within its share: either it already holds `key`, or it has room.
    func admits(_ key: SharedIndicatorKey, for connection: ObjectIdentifier) -> Bool {
        guard let keys = held[connection] else { return true }
        return keys[key] != nil || keys.count < limit
    }

    mutating func add(_ key: SharedIndicatorKey, for connection: ObjectIdentifier) {
        held[connection, default: [:]][key, default: 0] += 1
    }

    /// One stream of `connection` no longer holds `key`; a connection that
    /// holds nothing is forgotten, so closed connections leave no entry.
    mutating func remove(_ key: SharedIndicatorKey, for connection: ObjectIdentifier) {
        guard var keys = held[connection], let streams = keys[key] else {
            assertionFailure("removing an indicator the connection does not hold")
            return
        }
        keys[key] = streams > 1 ? streams - 1 : nil
        held[connection] = keys.isEmpty ? nil : keys
    }
}

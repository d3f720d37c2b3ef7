import Foundation
@testable import Candles
import MarketData

/// Real data copied into Tests/Fixtures (see docs/candles.md for where each slice came from).
enum CandleFixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Binance.US BTCUSDT 1m candles of 2023-03-10 (1,440 rows; OHLC and volume only).
    static let realMinuteCandles: [RealKline] = {
        let text = try! String(contentsOf: directory.appendingPathComponent("binanceus-BTCUSDT-1m-2023-03-10.csv"),
                               encoding: .utf8)
        let formatter = ISO8601DateFormatter()
        return text.split(separator: "\n").dropFirst().map { line in
            let fields = line.split(separator: ",").map(String.init)
            // "2023-03-10 00:00:00+00:00" → ISO 8601
            let iso = fields[0].replacingOccurrences(of: " ", with: "T")
            let openMs = Int64(formatter.date(from: iso)!.timeIntervalSince1970 * 1000)
            return RealKline(openTimeMs: openMs, open: Double(fields[1])!, high: Double(fields[2])!,
                             low: Double(fields[3])!, close: Double(fields[4])!, volume: Double(fields[5])!)
        }
    }()

    /// Trades made from those candles by klines_to_trades.py (copied beside them).
    static let tradesFromMinuteCandles: [Trade] = trades(in: "trades-btcusdt-2023-03-10-from-klines.jsonl",
                                                         symbols: ["BTCUSDT"])

    /// The real recorded Binance trades of 2024-08-08 (BTCUSDT 0, ETHUSDT 1).
    static let recordedTrades: [Trade] = trades(in: "binance-2024-08-08-btcusdt-ethusdt-trades.jsonl",
                                                symbols: ["BTCUSDT", "ETHUSDT"])

    static func trades(in name: String, symbols: [String]) -> [Trade] {
        let text = try! String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            let object = try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            guard let data = object["data"] as? [String: Any], data["e"] as? String == "trade",
                  let symbol = symbols.firstIndex(of: data["s"] as! String) else { return nil }
            return Trade(symbolIndex: symbol, tradeID: (data["t"] as! NSNumber).int64Value,
                         price: Double(data["p"] as! String)!, quantity: Double(data["q"] as! String)!,
                         tradeTimeMs: (data["T"] as! NSNumber).int64Value,
                         eventTimeMs: (data["E"] as! NSNumber).int64Value, ingestUnixNanos: 0,
                         isBuyerMaker: (data["m"] as! NSNumber).boolValue)
        }
    }
}

/// One row of the real candle CSV.
struct RealKline {
    var openTimeMs: Int64
    var open, high, low, close, volume: Double
}

/// A trade for hand-written cases.
func trade(_ id: Int64, at timeMs: Int64, price: Double, quantity: Double = 1, buyerMaker: Bool = false,
           symbol: Int = 0) -> Trade {
    Trade(symbolIndex: symbol, tradeID: id, price: price, quantity: quantity, tradeTimeMs: timeMs,
          eventTimeMs: timeMs, ingestUnixNanos: 0, isBuyerMaker: buyerMaker)
}

func relativelyClose(_ a: Double, _ b: Double, _ tolerance: Double = 1e-9) -> Bool {
    abs(a - b) <= tolerance * max(abs(a), abs(b), 1e-300)
}

// Nanoseconds per trade for CandleBook.ingest (the per-trade candle path),
// built with -O by bench/candles/run.sh. Real trades: the 2024-08-08
// recording's prices, replayed in a loop with times moving forward, so
// every interval's candles keep closing as they would live.
import Candles
import Foundation
import Indicators
import MarketData

let fixture = URL(fileURLWithPath: CommandLine.arguments[1])
let text = try! String(contentsOf: fixture, encoding: .utf8)
var tape: [Trade] = []
for line in text.split(separator: "\n") {
    let object = try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
    guard let data = object["data"] as? [String: Any] else { continue }
    tape.append(Trade(symbolIndex: data["s"] as! String == "BTCUSDT" ? 0 : 1, tradeID: (data["t"] as! NSNumber).int64Value,
                      price: Double(data["p"] as! String)!, quantity: Double(data["q"] as! String)!,
                      tradeTimeMs: (data["T"] as! NSNumber).int64Value, eventTimeMs: 0, ingestUnixNanos: 0,
                      isBuyerMaker: (data["m"] as! NSNumber).boolValue))
}
let span = tape.last!.tradeTimeMs - tape.first!.tradeTimeMs + 50

func run(subscriptions: Int, passes: Int) -> Double {
    var book = CandleBook(symbolCount: 2, historyCapacity: 1000, maxPeriod: 1000, maxIndicators: 4096, graceMs: 300)
    var made = 0
    outer: for interval in CandleInterval.allCases {
        for kind in IndicatorKind.allCases {
            for symbol in 0..<2 where made < subscriptions {
                _ = book.subscribe(symbol: symbol, interval: interval, kind: kind, period: 14)
                made += 1
            }
            if made >= subscriptions { break outer }
        }
    }
    var checksum = 0.0
    let start = DispatchTime.now().uptimeNanoseconds
    for pass in 0..<passes {
        let shift = Int64(pass) * span
        for var trade in tape {
            trade.tradeTimeMs += shift
            book.ingest(trade)
        }
        checksum += book.forming(symbol: 0, interval: .oneSecond)?.close ?? 0
    }
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start)
    precondition(checksum > 0)
    return elapsed / Double(passes * tape.count)
}

for subscriptions in [0, 10, 78] {
    _ = run(subscriptions: subscriptions, passes: 2)  // warm
    let samples = (0..<5).map { _ in run(subscriptions: subscriptions, passes: 20) }.sorted()
    print(String(format: "CandleBook.ingest, %2d indicator states on candles: median %.1f ns/trade (min %.1f, max %.1f) over %d trades x 20 passes",
                 subscriptions, samples[2], samples[0], samples[4], tape.count))
}

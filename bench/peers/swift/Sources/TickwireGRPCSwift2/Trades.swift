import Foundation

/// One Binance trade from the replay file, before it is stamped.
struct Trade: Sendable {
    var symbol: String
    var price: Double
    var quantity: Double
    var tradeID: Int64
    var tradeTimeMs: Int64
    var eventTimeMs: Int64
}

/// A line of the replay file: Binance's combined-stream envelope around a
/// trade event. Keys are case-sensitive, so "t"/"T" and "e"/"E" stay apart.
private struct CombinedFrame: Decodable {
    struct TradeEvent: Decodable {
        let e: String
        let s: String
        let t: Int64
        let p: String
        let q: String
        let T: Int64
        let E: Int64
    }
    let data: TradeEvent
}

enum ReplayFileError: Error, CustomStringConvertible {
    case noTrades(String)
    var description: String {
        switch self {
        case .noTrades(let path): "\(path) holds no trade"
        }
    }
}

/// Reads every trade line of a replay file once, at startup, so the replay
/// task only paces and publishes. Lines that are not trades are skipped, as
/// Tickwire's replay and the grpc-go peer skip them.
func loadTrades(path: String) throws -> [Trade] {
    let contents = try Data(contentsOf: URL(fileURLWithPath: path))
    let decoder = JSONDecoder()
    var trades: [Trade] = []
    for line in contents.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
        guard let frame = try? decoder.decode(CombinedFrame.self, from: line), frame.data.e == "trade",
              let price = Double(frame.data.p), let quantity = Double(frame.data.q) else { continue }
        trades.append(Trade(symbol: frame.data.s, price: price, quantity: quantity, tradeID: frame.data.t,
                            tradeTimeMs: frame.data.T, eventTimeMs: frame.data.E))
    }
    if trades.isEmpty { throw ReplayFileError.noTrades(path) }
    return trades
}

/// The symbols of a recording, sorted.
func symbols(of trades: [Trade]) -> [String] {
    Set(trades.map(\.symbol)).sorted()
}

/// Continues a looped recording the way Tickwire's --replay-loop does: pass n
/// adds n × (max id − min id + 1) to each symbol's ids, and n × (time span +
/// 50 ms) to the times, so ids stay contiguous per symbol across passes.
struct PassShift: Sendable {
    private var idSpan: [String: Int64] = [:]
    private var timeStepMs: Int64 = 0

    init(_ trades: [Trade]) {
        var lowest: [String: Int64] = [:], highest: [String: Int64] = [:]
        var earliest = trades[0].eventTimeMs, latest = trades[0].eventTimeMs
        for trade in trades {
            lowest[trade.symbol] = min(lowest[trade.symbol] ?? trade.tradeID, trade.tradeID)
            highest[trade.symbol] = max(highest[trade.symbol] ?? trade.tradeID, trade.tradeID)
            earliest = min(earliest, trade.eventTimeMs, trade.tradeTimeMs)
            latest = max(latest, trade.eventTimeMs, trade.tradeTimeMs)
        }
        for (symbol, low) in lowest { idSpan[symbol] = highest[symbol]! - low + 1 }
        timeStepMs = latest - earliest + 50
    }

    func place(_ trade: Trade, pass: Int64) -> Trade {
        var placed = trade
        placed.tradeID += pass * (idSpan[trade.symbol] ?? 0)
        placed.eventTimeMs += pass * timeStepMs
        placed.tradeTimeMs += pass * timeStepMs
        return placed
    }
}

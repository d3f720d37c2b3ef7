import Synchronization

/// How many recent prices per symbol the SMAs are computed from, and so the
/// largest period accepted (Tickwire's --max-period default, as the Go peer).
let historyLength = 1000

/// A ring of each symbol's last prices and the id of its last trade, written
/// by the replay task and read by every stream's 100 ms SMA batch.
final class PriceHistory: Sendable {
    private struct Ring {
        var prices: [Double]
        var next = 0
        var count = 0
        var lastID: Int64 = 0
    }

    private let rings: Mutex<[String: Ring]>

    init(symbols: [String]) {
        var rings: [String: Ring] = [:]
        for symbol in symbols { rings[symbol] = Ring(prices: Array(repeating: 0, count: historyLength)) }
        self.rings = Mutex(rings)
    }

    func add(symbol: String, tradeID: Int64, price: Double) {
        rings.withLock { rings in
            guard var ring = rings.removeValue(forKey: symbol) else { return }
            ring.prices[ring.next] = price
            ring.next = (ring.next + 1) % historyLength
            ring.count = min(ring.count + 1, historyLength)
            ring.lastID = tradeID
            rings[symbol] = ring // taken out and put back so the array is not copied
        }
    }

    /// The mean of the last `period` prices and the last trade id in it; nil
    /// while fewer than `period` prices have been seen.
    func sma(symbol: String, period: Int) -> (value: Double, lastID: Int64)? {
        rings.withLock { rings in
            guard let ring = rings[symbol], ring.count >= period else { return nil }
            var sum = 0.0
            for back in 1...period { sum += ring.prices[(ring.next - back + historyLength) % historyLength] }
            return (sum / Double(period), ring.lastID)
        }
    }

    /// The served spelling of a requested symbol (upper case), if served.
    func served(_ symbol: String) -> String? {
        let upper = symbol.uppercased()
        return rings.withLock { $0[upper] == nil ? nil : upper }
    }
}

/// A series' closed candles, newest last, in a ring sized once at startup
/// (`--max-candle-history`). Appending a close overwrites the oldest; no
/// append ever allocates, because the array is created full and only
/// assigned into afterwards.
struct CandleRing {
    private var slots: [Candle]
    /// Where the next closed candle goes.
    private var nextPosition = 0
    /// Candles held, at most `capacity`.
    private(set) var count = 0

    init(capacity: Int) {
        precondition(capacity > 0, "a candle history holds at least one candle")
        let blank = Candle.empty(openTimeMs: 0, interval: .oneSecond, previousClose: 0)
        slots = Array(repeating: blank, count: capacity)
    }

    var capacity: Int { slots.count }

    /// The candle `back` places before the newest: `back == 0` is the newest.
    func candle(back: Int) -> Candle {
        precondition(back >= 0 && back < count, "asked for a candle the ring does not hold")
        var position = nextPosition - 1 - back
        if position < 0 { position += capacity }
        return slots[position]
    }

    /// The `index`-th candle held, counting from the oldest (`index == 0`).
    func candle(fromOldest index: Int) -> Candle {
        candle(back: count - 1 - index)
    }

    var newest: Candle? { count == 0 ? nil : candle(back: 0) }
    var oldest: Candle? { count == 0 ? nil : candle(fromOldest: 0) }

    mutating func append(_ candle: Candle) {
        slots[nextPosition] = candle
        nextPosition = nextPosition + 1 == capacity ? 0 : nextPosition + 1
        count = min(count + 1, capacity)
    }

    /// Every candle held, oldest first. Allocates: for seeding and tests only.
    var all: [Candle] {
        (0..<count).map { candle(fromOldest: $0) }
    }

    /// Replaces the contents with `candles` (oldest first), keeping the newest `capacity`.
    mutating func replace(with candles: [Candle]) {
        nextPosition = 0
        count = 0
        for candle in candles.suffix(capacity) { append(candle) }
    }
}

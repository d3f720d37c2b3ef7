import Reactor

/// Plays a recording of Binance's combined stream (JSON Lines) into the
/// engine, either at the recorded pace or as fast as the clients drain.
/// It never stops on a bad line: that line is counted and skipped.
public final class ReplayFeed {
    /// What the caller should do after a pump.
    public enum Progress: Equatable {
        /// Call again at this monotonic time.
        case dueAt(nanos: Int64)
        /// More is ready now; call again on the next iteration.
        case ready
        /// The recording is over.
        case finished
    }

    public let path: String
    public let speed: ReplaySpeed
    public private(set) var statistics = FeedStatistics()
    private let file: ReplayFile
    private let parser: BinanceFrameParser
    private var cursor = 0
    /// A trade parsed ahead of its due time, waiting to be published.
    private var heldTrade: Trade?
    /// Pacing origin: the first trade's event time and when it was published.
    private var origin: (eventTimeMs: Int64, monotonicNanos: Int64)?

    public init(path: String, symbols: SymbolTable, speed: ReplaySpeed) throws(SystemError) {
        self.path = path
        self.speed = speed
        self.file = try ReplayFile(path: path, padding: BinanceFrameParser.padding)
        self.parser = BinanceFrameParser(symbols: symbols)
    }

    public var byteCount: Int { file.length }

    /// Publishes up to `budget` trades that are due by `nowNanos`.
    public func pump<Sink: TradeSink>(into sink: Sink, budget: Int, clock: any ReactorClock) -> Progress {
        var remaining = budget
        while remaining > 0 {
            guard var trade = heldTrade ?? nextTrade() else { return .finished }
            let now = clock.monotonicNanos()
            if case .paced(let factor) = speed {
                let start = origin ?? (trade.eventTimeMs, now)
                origin = start
                let offsetNanos = Double(trade.eventTimeMs - start.eventTimeMs) * 1_000_000 / factor
                let due = start.monotonicNanos + Int64(max(0, offsetNanos))
                if due > now {
                    heldTrade = trade
                    return .dueAt(nanos: due)
                }
            }
            heldTrade = nil
            trade.ingestUnixNanos = clock.wallUnixNanos()
            statistics.published += 1
            sink.publish(trade)
            remaining -= 1
        }
        return .ready
    }

    /// Parses forward to the next trade line, counting everything skipped.
    private func nextTrade() -> Trade? {
        while let line = file.line(at: cursor) {
            cursor = line.next
            guard line.length > 0 else { continue }
            let frame = parser.parse(file.bytes.baseAddress! + line.start, length: line.length,
                                     capacity: file.bytes.count - line.start, ingestUnixNanos: 0)
            switch frame {
            case .trade(let trade): return trade
            case .ignored, .serverShutdown: statistics.ignored += 1
            case .unknownSymbol: statistics.unknownSymbol += 1
            case .malformed: statistics.malformed += 1
            }
        }
        return nil
    }
}

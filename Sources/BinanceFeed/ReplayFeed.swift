import Reactor
import MarketData

/// Plays a recording of Binance's combined stream (JSON Lines) into the
/// engine: at (a multiple of) the recorded pace, at a fixed rate, or as fast
/// as the clients drain; once, or looped without end. It never stops on a
/// bad line: that line is counted and skipped.
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
    /// Start over at the end of the file (`--replay-loop`).
    public let loops: Bool
    private var loop: ReplayLoop
    public private(set) var statistics = FeedStatistics()
    /// Passes over the whole file finished so far (`--replay-loop`).
    public private(set) var completedPasses = 0
    private let file: ReplayFile
    private let parser: BinanceFrameParser
    private var cursor = 0
    /// A trade parsed ahead of its due time, waiting to be published.
    private var heldTrade: Trade?
    /// Pacing origin: the first trade's event time and when it was published.
    private var origin: (eventTimeMs: Int64, monotonicNanos: Int64)?
    /// Trades published since `origin`, for `.rate` pacing.
    private var publishedSinceOrigin: Int64 = 0
    /// The trades one pump found due, handed to the sink together: with many
    /// streams, one walk over them for the lot costs far less than one per
    /// trade (each stream's memory is touched once instead of per trade).
    private var due: [Trade] = []

    public init(path: String, symbols: SymbolTable, speed: ReplaySpeed, loops: Bool = false) throws(SystemError) {
        self.path = path
        self.speed = speed
        self.loops = loops
        self.loop = ReplayLoop(symbolCount: symbols.count)
        self.file = try ReplayFile(path: path, padding: BinanceFrameParser.padding)
        self.parser = BinanceFrameParser(symbols: symbols)
    }

    public var byteCount: Int { file.length }

    /// Reads ahead, without moving the replay, until the first trade for a
    /// served symbol; throws when there is none, as a replay of nothing would
    /// look to clients like a market that stopped.
    public func requireATrade() throws(UnusableRecording) {
        var scan = UnusableRecording(path: path)
        var offset = 0
        while let line = file.line(at: offset) {
            offset = line.next
            guard line.length > 0 else { continue }
            scan.lines += 1
            switch parser.parse(file.bytes.baseAddress! + line.start, length: line.length,
                                capacity: file.bytes.count - line.start, ingestUnixNanos: 0) {
            case .trade: return
            case .ignored, .serverShutdown: scan.ignored += 1
            case .unknownSymbol: scan.unknownSymbol += 1
            case .malformed: scan.malformed += 1
            }
        }
        throw scan
    }

    /// How far the current pass has read: the file's bytes up to the next
    /// line to parse, as a share of the whole (1 once a single pass is over).
    public var passProgress: Double {
        file.length > 0 ? min(1, Double(cursor) / Double(file.length)) : 1
    }

    /// Publishes up to `budget` trades that are due by `nowNanos`.
    public func pump<Sink: TradeSink>(into sink: Sink, budget: Int, clock: any ReactorClock) -> Progress {
        var remaining = budget
        // Whatever the way out, what was found due goes out first.
        defer { sink.publish(due: &due) }
        while remaining > 0 {
            guard var trade = heldTrade ?? nextTrade() else { return .finished }
            let now = clock.monotonicNanos()
            let start = origin ?? (trade.eventTimeMs, now)
            origin = start
            if let dueAt = dueNanos(of: trade, origin: start), dueAt > now {
                heldTrade = trade
                return .dueAt(nanos: dueAt)
            }
            heldTrade = nil
            publishedSinceOrigin += 1
            trade.ingestUnixNanos = clock.wallUnixNanos()
            statistics.published += 1
            due.append(trade)
            remaining -= 1
        }
        return .ready
    }

    /// When a trade is due on the monotonic clock; nil for as soon as possible.
    private func dueNanos(of trade: Trade, origin: (eventTimeMs: Int64, monotonicNanos: Int64)) -> Int64? {
        switch speed {
        case .max:
            return nil
        case .paced(let factor):
            let offsetNanos = Double(trade.eventTimeMs - origin.eventTimeMs) * 1_000_000 / factor
            return origin.monotonicNanos + Int64(max(0, offsetNanos))
        case .rate(let perSecond):
            // From the count, not from the previous due time, so rounding never accumulates.
            return origin.monotonicNanos + Int64(Double(publishedSinceOrigin) * 1e9 / perSecond)
        }
    }

    /// Parses forward to the next trade line, counting everything skipped;
    /// at the end of the file, starts the next pass when looping.
    private func nextTrade() -> Trade? {
        while true {
            while let line = file.line(at: cursor) {
                cursor = line.next
                guard line.length > 0 else { continue }
                let frame = parser.parse(file.bytes.baseAddress! + line.start, length: line.length,
                                         capacity: file.bytes.count - line.start, ingestUnixNanos: 0)
                switch frame {
                case .trade(let trade): return loop.place(trade)
                case .ignored, .serverShutdown: statistics.ignored += 1
                case .unknownSymbol: statistics.unknownSymbol += 1
                case .malformed: statistics.malformed += 1
                }
            }
            guard loops, loop.startNextPass() else { return nil }
            cursor = 0
            completedPasses += 1
        }
    }
}

import Synchronization

/// Fans every published trade out to every open stream's AsyncStream, and
/// holds the replay until `waitStreams` streams have opened.
final class PriceHub: Sendable {
    typealias Subscriber = AsyncStream<StreamEvent>.Continuation

    private struct State {
        var subscribers: [Int: Subscriber] = [:]
        var nextID = 0
        var opened = 0
        /// Trades each stream lost to its full buffer (AsyncStream's `.dropped`).
        var dropped = 0
    }

    let history: PriceHistory
    /// Messages each stream's AsyncStream holds before it drops new ones.
    let streamBuffer: Int
    private let waitStreams: Int
    private let state = Mutex(State())
    /// Finishes when `waitStreams` streams have opened: the replay's start gate.
    private let gate: AsyncStream<Never>
    private let openGate: AsyncStream<Never>.Continuation

    init(symbols: [String], streamBuffer: Int, waitStreams: Int) {
        history = PriceHistory(symbols: symbols)
        self.streamBuffer = streamBuffer
        self.waitStreams = waitStreams
        (gate, openGate) = AsyncStream.makeStream(of: Never.self)
        if waitStreams <= 0 { openGate.finish() }
    }

    /// Waits until enough streams are open to start the replay (or the task is cancelled).
    func enoughStreams() async {
        for await _ in gate {}
    }

    /// A new stream's bounded event stream, registered for every later trade.
    func subscribe() -> (id: Int, events: AsyncStream<StreamEvent>, continuation: Subscriber) {
        // bufferingOldest: a stream that falls `streamBuffer` messages behind
        // loses the newest trades (counted), never reorders or blocks the feed.
        let (events, continuation) = AsyncStream.makeStream(of: StreamEvent.self,
                                                            bufferingPolicy: .bufferingOldest(streamBuffer))
        let (id, reached) = state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = continuation
            state.opened += 1
            return (id, state.opened == waitStreams)
        }
        if reached { openGate.finish() }
        return (id, events, continuation)
    }

    func unsubscribe(_ id: Int) {
        let continuation = state.withLock { $0.subscribers.removeValue(forKey: id) }
        continuation?.finish()
    }

    /// Hands one price message to every stream. Returns the least free room
    /// left in any stream's buffer (`streamBuffer` when none is open), which
    /// the unpaced replay uses as its backpressure signal.
    @discardableResult
    func publish(_ trade: Trade, message: Tickwire_V1_StreamResponse) -> Int {
        history.add(symbol: trade.symbol, tradeID: trade.tradeID, price: trade.price)
        return state.withLock { state in
            var leastRoom = streamBuffer
            for continuation in state.subscribers.values {
                switch continuation.yield(.price(message)) {
                case .enqueued(let remaining): leastRoom = min(leastRoom, remaining)
                case .dropped:
                    state.dropped += 1
                    leastRoom = 0
                case .terminated: continue
                @unknown default: continue
                }
            }
            return leastRoom
        }
    }

    /// Trades dropped so far across all streams.
    var droppedCount: Int { state.withLock { $0.dropped } }
}

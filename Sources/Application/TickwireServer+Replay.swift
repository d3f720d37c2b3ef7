import BinanceFeed
import Reactor

/// Driving the replay source from the reactor: paced by timers, or as fast
/// as the streams drain.
extension TickwireServer {
    /// Trades to publish in one loop iteration. Each trade costs one enqueue
    /// per stream, so the budget shrinks as streams grow: a backlog of due
    /// trades is spread over several iterations instead of holding up timers,
    /// reads and flushes for a second at a time.
    ///
    /// It grows with the connections again, because each iteration ends with
    /// a write per connection that has output, and that write (the kernel's
    /// TCP path, several µs) costs as much as a few hundred enqueues. With
    /// 10,000 connections a flush round takes ~100 ms; a budget of one trade
    /// per round then published ~10 trades/s of the 100 due, and the replay
    /// fell behind while the server was busy writing one trade at a time.
    var publishBudget: Int {
        let enqueues = max(configuration.enqueueBudgetPerIteration,
                           configuration.enqueuesPerConnectionWrite * hub.connectionCount)
        return max(1, min(512, enqueues / max(1, distributor.registry.count)))
    }

    /// Publishes what is due; returns true when more is ready right now.
    func driveReplay() -> Bool {
        // Prices keep flowing through the drain; they stop when the streams are ended.
        guard let replay, replayState == .ready, reactor.phase == .running || reactor.phase.isDraining else { return false }
        if replay.speed == .max && distributor.registry.largestBacklogBytes > configuration.maxSpeedBacklogBytes {
            return false  // the next write or window update wakes us to try again
        }
        switch replay.pump(into: distributor, budget: publishBudget, clock: reactor.clock) {
        case .ready:
            return true
        case .dueAt(let nanos):
            replayState = .waiting
            // Exact: the replay stands in for a live feed, whose trades arrive
            // one by one when they happen, not gathered by the millisecond.
            reactor.schedule(atNanos: nanos, ServerTimer.replayDue.token, precision: .exact)
            return false
        case .finished:
            replayState = .finished
            let stats = replay.statistics
            // A warning: from here on clients get no prices while health says SERVING.
            logger.warning("replay finished", metadata: [
                "published": "\(stats.published)", "malformed": "\(stats.malformed)",
                "ignored": "\(stats.ignored)", "unknown_symbol": "\(stats.unknownSymbol)",
                "file": "\(replay.path)",
                "next": "no more prices until restarted; --replay-loop plays the recording without end",
            ])
            return false
        }
    }
}

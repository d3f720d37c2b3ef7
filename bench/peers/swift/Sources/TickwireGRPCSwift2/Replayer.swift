/// Plays the recording into the hub at a fixed rate (trades/s; 0 is as fast
/// as the streams accept), once or looped, as Tickwire's
/// --replay --replay-rate N --replay-loop and the grpc-go peer do.
struct Replayer: Sendable {
    let trades: [Trade]
    let shift: PassShift
    let rate: Double
    let loop: Bool

    /// Bounds how many overdue trades go out in one go after the task was
    /// descheduled, so a stall does not turn into one huge burst.
    private static let maxBehind = 1000.0
    /// Unpaced, the task gives the cooperative pool's threads back this often,
    /// so the streams' sending loops run while it publishes.
    private static let yieldEvery = 64

    init(trades: [Trade], rate: Double, loop: Bool) {
        self.trades = trades
        self.shift = PassShift(trades)
        self.rate = rate
        self.loop = loop
    }

    func run(into hub: PriceHub) async {
        let clock = ContinuousClock()
        var origin = clock.now
        var published = 0
        var pass: Int64 = 0
        repeat {
            for recorded in trades {
                if Task.isCancelled { return }
                if rate > 0 {
                    // Due time from the count, not from the previous trade, so rounding never accumulates.
                    let due = origin.advanced(by: .seconds(Double(published) / rate))
                    let now = clock.now
                    if due > now {
                        try? await Task.sleep(until: due, clock: clock)
                    } else if (due.duration(to: now) / .seconds(1)) * rate > Self.maxBehind {
                        origin = origin.advanced(by: due.duration(to: now)) // give up on the lost time
                    }
                }
                let trade = shift.place(recorded, pass: pass)
                let room = hub.publish(trade, message: Self.message(for: trade))
                published += 1
                if rate == 0 { await backOff(room: room, hub: hub, published: published) }
            }
            pass += 1
        } while loop
        logLine("published=\(published) replay finished")
    }

    /// Unpaced replay's stand-in for backpressure: AsyncStream never makes
    /// the producer wait, so the task waits itself when some stream's buffer
    /// is nearly full, instead of publishing trades that stream would drop.
    private func backOff(room: Int, hub: PriceHub, published: Int) async {
        if room < hub.streamBuffer / 8 {
            try? await Task.sleep(for: .milliseconds(1))
        } else if published % Self.yieldEvery == 0 {
            await Task.yield()
        }
    }

    private static func message(for trade: Trade) -> Tickwire_V1_StreamResponse {
        var update = Tickwire_V1_PriceUpdate()
        update.symbol = trade.symbol
        update.price = trade.price
        update.quantity = trade.quantity
        update.tradeID = trade.tradeID
        update.tradeTimeMs = trade.tradeTimeMs
        update.eventTimeMs = trade.eventTimeMs
        update.ingestUnixNanos = unixNanosNow()
        var response = Tickwire_V1_StreamResponse()
        response.payload = .price(update)
        return response
    }
}

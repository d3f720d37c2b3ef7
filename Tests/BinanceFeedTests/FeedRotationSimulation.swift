import Testing
@testable import BinanceFeed
import MarketData

/// A seeded simulation of rotations: a market produces trades of two
/// symbols; current reads them late or early, the candidate opens at the
/// live head and runs ahead, in random interleavings. Whatever the order,
/// the trades published must be exactly the market's, in its order: nothing
/// lost, nothing repeated.
@Suite struct FeedRotationSimulation {
    @Test func rotationsNeverLoseOrRepeatATrade() throws {
        var switches = 0
        for seed in UInt64(0)..<300 {
            var run = try SimulatedRotations(seed: seed)
            try run.play(steps: 1_500)
            let compared = min(run.published.count, run.market.count)
            if let wrong = (0..<compared).first(where: { run.published[$0] != run.market[$0] }) {
                let want = run.market[wrong], got = run.published[wrong]
                Issue.record("""
                    seed \(seed): published trade \(wrong) is symbol \(got.symbolIndex) id \(got.tradeID), \
                    the market's is symbol \(want.symbolIndex) id \(want.tradeID) \
                    (after \(run.switches) switches; \(run.gaps) gap(s) reported)
                    """)
                return
            }
            #expect(run.gaps == 0 && run.rig.machine.sequencer.missingTrades == 0, "seed \(seed): a gap")
            switches += run.switches
        }
        #expect(switches > 300, "too few rotations finished for the simulation to mean much: \(switches)")
    }
}

/// One seeded run; the steps are chosen at random from the ones possible.
struct SimulatedRotations {
    var rig: FeedRig
    var random: JitterSource
    var market: [Trade] = []
    var nextID: [Int64] = [1_000, 5_000]
    /// The market position each open connection reads next.
    var cursor: [UInt32: Int] = [1: 0]
    var published: [Trade] = []
    var switches = 0
    var gaps = 0

    init(seed: UInt64) throws {
        rig = try FeedRig(seed: seed)
        random = JitterSource(seed: seed ^ 0x5EED)
        rig.streamingOnFirst()
    }

    mutating func play(steps: Int) throws {
        for _ in 0..<steps {
            switch random.next() % 10 {
            case 0, 1, 2:
                let symbol = Int(random.next() % 2)
                market.append(FeedRig.trade(symbol, nextID[symbol]))
                nextID[symbol] += 1
            case 3, 4, 5:
                try read(on: current)
            case 6, 7:
                if let candidate { try read(on: candidate) }
            default:
                try advanceRotation()
            }
        }
    }

    var current: UInt32 {
        switch rig.machine.phase {
        case .streaming(let streaming): return streaming.connection.serial
        case .rotating(let rotation): return rotation.current.serial
        default: return 0
        }
    }

    var candidate: UInt32? {
        guard case .rotating(let rotation) = rig.machine.phase, rotation.candidate.isOpen else { return nil }
        return rotation.candidate.serial
    }

    /// One socket read: a few trades from where this connection is, then the settle.
    mutating func read(on serial: UInt32) throws {
        guard var position = cursor[serial] else { return }
        for _ in 0..<(1 + random.next() % 4) where position < market.count {
            let trade = market[position]
            position += 1
            let verdict = rig.trade(trade.symbolIndex, trade.tradeID, on: serial)
            try take(trade, verdict)
        }
        cursor[serial] = position
        try apply(rig.settle())
    }

    /// Starts a rotation (the age limit passed), or opens the candidate at the live head.
    mutating func advanceRotation() throws {
        switch rig.machine.phase {
        case .streaming:
            rig.advance(rig.settings.maxConnectionAgeNanos)
            try apply(rig.maintain())
        case .rotating(let rotation) where !rotation.candidate.isOpen:
            _ = rig.opened(rotation.candidate.serial)
            cursor[rotation.candidate.serial] = market.count
        default:
            break
        }
    }

    mutating func apply(_ actions: [FeedAction]) throws {
        for action in actions {
            switch action {
            case .publishHeld(let held):
                for trade in held { try take(trade, rig.machine.admit(trade)) }
            case .close(let serial, _):
                cursor[serial] = nil
                #expect(rig.ended(serial, "the server closed the WebSocket with code 1000") == [])
            case .completeRotation:
                switches += 1
            default:
                break
            }
        }
    }

    mutating func take(_ trade: Trade, _ verdict: TradeVerdict) throws {
        switch verdict {
        case .publish: published.append(trade)
        case .publishAfterGap:
            gaps += 1
            published.append(trade)
        case .duplicate, .held, .ignored: break
        case .publishLate, .publishAfterOutlier, .publishAfterReset, .suspect:
            Issue.record("a clean market has no late, suspect or reset ids: \(verdict) for \(trade)")
        }
    }
}

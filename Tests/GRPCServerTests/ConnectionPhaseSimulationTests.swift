import Testing
@testable import GRPCServer

/// Seeded random walks through ConnectionPhase, feeding only the events the
/// hub can raise in each phase, with a clock that only moves forward. Every
/// life must end in exactly one close, and nothing may act after it.
@Suite struct ConnectionPhaseSimulationTests {
    /// xorshift64*: a fixed seed replays the same walk.
    struct Seeded {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return Int((state &* 0x2545_F491_4F6C_DD1D) % UInt64(bound))
        }
    }

    /// One event the hub could raise now, applied; nil when none is legal.
    static func step(_ phase: inout ConnectionPhase, _ random: inout Seeded, nowNanos: Int64, lingerDeadline: Int64?) -> ConnectionPhase.Action {
        switch random.next(10) {
        case 0: return phase.drainRequested()
        case 1: return phase.goAwayNoticeWritten()
        case 2: return phase.drainPingAcknowledged()
        case 3: return phase.finalGoAwayRequested()
        case 4: return phase.writesOutput ? phase.sessionFailed("callback failure") : .none
        case 5:
            guard phase.writesOutput else { return .none }
            let results: [ConnectionPhase.FlushResult] = [.drained, .blocked, .sessionEnded, .failed("write")]
            return phase.outputFlushed(results[random.next(results.count)], lingerDeadlineNanos: lingerDeadline)
        case 6: return phase.servesSession || phase.isLingering ? phase.peerClosed() : .none
        case 7: return phase.lingerDeadlinePassed(nowNanos: nowNanos)
        case 8: return phase.servesSession ? phase.failed("read") : .none
        default: return random.next(20) == 0 ? phase.closeRequested("owner") : .none
        }
    }

    @Test(arguments: [1, 7, 42, 2026, 65_537] as [UInt64])
    func everyLifeEndsInExactlyOneClose(seed: UInt64) {
        var random = Seeded(state: seed)
        var lingers = 0
        for life in 0..<500 {
            var phase = ConnectionPhase.open
            var nowNanos: Int64 = 0
            let lingerDeadline: Int64? = life % 2 == 0 ? 50_000 : nil
            var closes = 0
            for _ in 0..<200 {
                nowNanos += Int64(random.next(1_000))
                let wasLingering = phase.isLingering
                let action = Self.step(&phase, &random, nowNanos: nowNanos, lingerDeadline: lingerDeadline)
                if case .close(_, let notifyPeer) = action {
                    closes += 1
                    #expect(phase == .closed)
                    #expect(notifyPeer == !wasLingering, "close_notify goes out once: with the SHUT_WR or at the close")
                } else if phase == .closed {
                    #expect(action == .none, "acted after the close: \(action)")
                }
                if case .shutDownWriting = action {
                    lingers += 1
                    #expect(lingerDeadline != nil, "lingered while not stopping")
                }
            }
            if case .close = phase.closeRequested("end of the walk") { closes += 1 }
            #expect(phase == .closed)
            #expect(closes == 1, "seed \(seed), life \(life): \(closes) closes")
        }
        #expect(lingers > 0, "the walks never reached the linger")
    }
}

import Testing
@testable import GRPCServer

/// --flush-linger's per-connection windows, driven with a fake clock: how
/// many arrivals a window takes in, whose turn each arrival is, and that no
/// window outlives its deadline.
@Suite struct MessageHoldTests {
    let us: Int64 = 1_000

    /// A hold that has seen arrivals `gapNanos` apart for long enough to
    /// have learned the gap (it starts from the budget).
    func settled(budgetNanos: Int64, gapNanos: Int64) -> (MessageHold, Int64) {
        var hold = MessageHold(budgetNanos: budgetNanos)
        var now: Int64 = 1_000_000_000
        for _ in 0..<200 {
            hold.arrived(atNanos: now)
            now += gapNanos
        }
        return (hold, now)
    }

    @Test(arguments: [
        // (budget µs, gap µs, arrivals per window)
        (1_000, 500, 3),    // mid: 0, 500 and 1,000 µs old; a trade due at the budget is taken in
        (1_000, 450, 3),
        (1_000, 560, 3),    // the third arrival comes 120 µs after the budget: within the eighth
        (1_000, 600, 2),    // 1,200 µs: past the tolerance
        (1_000, 1_100, 2),  // 1,100 µs: within it
        (1_000, 1_200, 1),  // no second trade fits: nothing is held for nothing
        (1_000, 50, 21),    // a twentieth of the budget: 1,000 µs old at the 21st
        (500, 500, 2),
    ])
    func arrivalsPerWindowFollowThePace(_ row: (budget: Int64, gap: Int64, k: Int)) {
        let (hold, _) = settled(budgetNanos: row.budget * us, gapNanos: row.gap * us)
        // The average moves by eighths of whole nanoseconds: it settles within 8 ns.
        #expect(abs(hold.arrivalGapNanos - row.gap * us) < 8)
        #expect(hold.arrivalsPerWindow == row.k)
        #expect(hold.toleranceNanos == min(hold.arrivalGapNanos / 4, row.budget * us / 8))
    }

    @Test func theGapIsLearnedGraduallyAndCapped() {
        var hold = MessageHold(budgetNanos: 1_000 * us)
        #expect(hold.arrivalGapNanos == 1_000 * us, "the budget until arrivals say otherwise")
        hold.arrived(atNanos: 0)
        hold.arrived(atNanos: 200 * us)
        // An eighth of the way from 1,000 to 200.
        #expect(hold.arrivalGapNanos == 900 * us)
        // A long silence counts as twice the budget, not as an hour.
        hold.arrived(atNanos: 3_600_000_000_000)
        #expect(hold.arrivalGapNanos == 900 * us + (2_000 * us - 900 * us) / 8)
    }

    /// One connection's window, from the arrival that opens it.
    struct Window {
        var openedAt: Int64?
        var messages = 0
    }

    /// Runs `connections` connections, each sent every arrival, through
    /// `arrivals` arrivals `gap` apart, with the deadline timer the server
    /// arms; returns the writes at each pass and the longest any message waited.
    func simulate(connections: Int, budget: Int64, gap: Int64, arrivals: Int)
        -> (writesPerArrival: [Int], messagesPerWrite: [Int], longestWait: Int64) {
        var (hold, now) = settled(budgetNanos: budget, gapNanos: gap)
        var windows = [Window](repeating: Window(), count: connections)
        var writesPerArrival: [Int] = [], messagesPerWrite: [Int] = [], longestWait: Int64 = 0
        func pass(atArrival: Bool) -> Int {
            var writes = 0
            for slot in windows.indices where windows[slot].messages > 0 {
                let opened = windows[slot].openedAt ?? now
                windows[slot].openedAt = opened
                guard hold.windowEnds(openedAtNanos: opened, nowNanos: now, atArrival: atArrival, slot: slot) else {
                    continue
                }
                longestWait = max(longestWait, now - opened)
                messagesPerWrite.append(windows[slot].messages)
                windows[slot] = Window()
                writes += 1
            }
            return writes
        }
        for _ in 0..<arrivals {
            let next = now + gap
            hold.arrived(atNanos: now)
            for slot in windows.indices { windows[slot].messages += 1 }
            writesPerArrival.append(pass(atArrival: true))
            // The timer, at each earliest deadline that comes before the next arrival.
            for _ in 0..<connections {
                let deadlines = windows.indices.compactMap { windows[$0].openedAt.map { hold.deadline(openedAtNanos: $0) } }
                guard let earliest = deadlines.min(), earliest < next else { break }
                now = earliest
                _ = pass(atArrival: false)
            }
            now = next
        }
        return (writesPerArrival, messagesPerWrite, longestWait)
    }

    @Test func connectionsTakeTurnsSoNoArrivalWritesThemAll() {
        // Mid's shape: 100 connections, a trade every 500 µs, a 1 ms budget.
        let run = simulate(connections: 100, budget: 1_000 * us, gap: 500 * us, arrivals: 300)
        let steady = run.writesPerArrival.dropFirst(3)
        #expect(steady.allSatisfy { $0 == 33 || $0 == 34 }, "\(Set(steady))")
        // Every write past the first round carries three trades, the oldest 1 ms old.
        #expect(run.messagesPerWrite.dropFirst(100).allSatisfy { $0 == 3 }, "\(Set(run.messagesPerWrite.dropFirst(100)))")
        #expect(run.longestWait == 1_000 * us)
    }

    @Test(arguments: [Int64(150), 333, 500, 700, 900, 1_100, 1_500])
    func noMessageWaitsPastTheDeadline(_ gapMicros: Int64) {
        let budget = 1_000 * us
        let run = simulate(connections: 7, budget: budget, gap: gapMicros * us, arrivals: 200)
        #expect(run.longestWait <= budget + budget / 8, "waited \(run.longestWait / us) µs at a \(gapMicros) µs gap")
        let hold = settled(budgetNanos: budget, gapNanos: gapMicros * us).0
        // Each write takes in what its window can: k arrivals at this pace.
        let steady = run.messagesPerWrite.dropFirst(7 * hold.arrivalsPerWindow)
        #expect(steady.allSatisfy { $0 == hold.arrivalsPerWindow }, "\(Set(steady)) at a \(gapMicros) µs gap")
    }

    @Test func aWindowWithNoArrivalEndsAtItsDeadline() {
        let (hold, now) = settled(budgetNanos: 1_000 * us, gapNanos: 400 * us)
        // Arrivals stop: only the timer ends the window.
        let deadline = hold.deadline(openedAtNanos: now)
        #expect(abs(hold.toleranceNanos - 100 * us) < 8, "a quarter of the gap")
        #expect(deadline == now + 1_000 * us + hold.toleranceNanos)
        #expect(!hold.windowEnds(openedAtNanos: now, nowNanos: deadline - 1, atArrival: false, slot: 0))
        #expect(hold.windowEnds(openedAtNanos: now, nowNanos: deadline, atArrival: false, slot: 0))
    }

    @Test func aTurnEndsAWindowOnlyAtAnArrival() {
        let (hold, now) = settled(budgetNanos: 1_000 * us, gapNanos: 500 * us)
        let slot = (hold.arrivalsPerWindow - hold.arrivals % hold.arrivalsPerWindow) % hold.arrivalsPerWindow
        #expect(hold.windowEnds(openedAtNanos: now, nowNanos: now, atArrival: true, slot: slot))
        #expect(!hold.windowEnds(openedAtNanos: now, nowNanos: now, atArrival: false, slot: slot))
        #expect(!hold.windowEnds(openedAtNanos: now, nowNanos: now, atArrival: true, slot: slot + 1))
    }
}

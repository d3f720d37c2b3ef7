/// While `--flush-linger` holds messages back: when each connection's
/// held messages go out.
///
/// A connection's window opens at the flush pass that first finds it holding
/// messages. At the current pace of arrivals (passes that found new
/// messages, one gap apart on average), a window can take in `k` arrivals
/// before its oldest message has waited the budget; it ends:
/// - at its turn: every `k`-th arrival, counted from its slot, so the write
///   carries the newest message without waiting and `k` arrivals in all;
/// - at its deadline, when arrivals slow down and its turn comes too late.
///
/// Turns, not the deadline alone, decide because connections fed the same
/// trades would otherwise all end their windows at the same arrival, and be
/// written in one sweep whose last write comes a whole sweep after the
/// first (at 100 connections, ~0.6 ms of kernel writes on loopback). By
/// turns, each arrival writes one connection in `k`. A turn counted from
/// the slot is the same for a connection whatever its history, so turns
/// cannot drift together.
///
/// A window may outlast the budget by a tolerance (a quarter of the gap, at
/// most an eighth of the budget) to take in an arrival due just after it:
/// arrivals spaced by exactly a fraction of the budget (a metronome) would
/// otherwise end windows one arrival early or not by microseconds of jitter.
public struct MessageHold: Equatable {
    /// The longest a message is meant to be held: `--flush-budget`, or a
    /// fixed `--flush-linger`.
    public var budgetNanos: Int64 {
        didSet { paceChanged() }
    }
    /// The expected time between arrivals: an average of the gaps, each
    /// capped at twice the budget.
    public private(set) var arrivalGapNanos: Int64
    /// `k`: how many arrivals a window takes in at the current gap.
    public private(set) var arrivalsPerWindow = 1
    /// How long past the budget a window may wait for an arrival.
    public private(set) var toleranceNanos: Int64 = 0
    /// Arrivals seen; with a connection's slot, it says whose turn it is.
    public private(set) var arrivals = 0
    private var lastArrivalNanos: Int64?

    public init(budgetNanos: Int64) {
        self.budgetNanos = max(1, budgetNanos)
        arrivalGapNanos = self.budgetNanos
        paceChanged()
    }

    /// A pass found new messages at `nowNanos`.
    public mutating func arrived(atNanos nowNanos: Int64) {
        arrivals &+= 1
        if let last = lastArrivalNanos {
            let gap = min(max(0, nowNanos - last), 2 * budgetNanos)
            // An average over about eight arrivals: one late trade does not
            // reshuffle every connection's turn.
            arrivalGapNanos += (gap - arrivalGapNanos) / 8
            paceChanged()
        }
        lastArrivalNanos = nowNanos
    }

    /// Whether a window opened at `openedAtNanos` ends now, for the connection
    /// in `slot`. `atArrival`: this pass found new messages.
    @inline(__always)
    public func windowEnds(openedAtNanos: Int64, nowNanos: Int64, atArrival: Bool, slot: Int) -> Bool {
        if nowNanos >= deadline(openedAtNanos: openedAtNanos) { return true }
        return atArrival && (arrivals &+ slot) % arrivalsPerWindow == 0
    }

    /// When a window opened at `openedAtNanos` ends whatever arrives.
    @inline(__always)
    public func deadline(openedAtNanos: Int64) -> Int64 {
        openedAtNanos + budgetNanos + toleranceNanos
    }

    /// Once per arrival rather than once per connection.
    private mutating func paceChanged() {
        let gap = max(1, arrivalGapNanos)
        toleranceNanos = min(gap / 4, budgetNanos / 8)
        // Arrivals at ages 0, gap, 2 gap, ... up to budget + tolerance.
        arrivalsPerWindow = Int((budgetNanos + toleranceNanos) / gap) + 1
    }
}

/// How many of --flush-linger's windows ended each way (MessageHold).
public struct HoldWindowCounts: Equatable, Sendable {
    /// At the connection's turn, an arrival: written with the newest message.
    public var atArrival = 0
    /// At the deadline, the turn not having come in time.
    public var atBudget = 0
    /// Early: urgent output (headers, trailers, ACKs) took its messages along.
    public var early = 0

    public init() {}
}

/// `--flush-linger`: trades wait up to this long before they are written, so
/// that several leave in one write per connection. Each write to a socket
/// costs the kernel's whole TCP path (on loopback, the receiver's too): with
/// one stream per connection at 2,000 trades/s that path is nearly all of the
/// server's CPU. Lingering trades latency for CPU. `--flush-linger 0` turns
/// it off: every reactor iteration flushes what it queued. A fixed duration
/// lingers always.
///
/// This type decides whether messages are held at all; when each
/// connection's held messages go out is the hub's (GRPCServer's
/// MessageHold: per connection, ended at the arrival that fills it or at the
/// budget, staggered so one arrival does not write every connection). Anything
/// else a connection has to send (handshakes, ACKs, headers, trailers) goes
/// at once and takes that connection's messages along.
///
/// `--flush-linger auto`, the default, lingers only while the loop is busy:
/// a window of `--flush-budget` (1 ms by default) engages when the loop
/// worked at least half of a load sample (taken at the indicator tick, at
/// least 100 ms long) and releases once it has worked less than a quarter
/// for a whole second. A quiet server keeps writing
/// every iteration, so its latency is untouched; a loaded one stops spending
/// its CPU on one write per trade per connection, which is what saturates it
/// first. Lingering lowers the very load it is judged by, so releasing asks
/// for a lower share, and for longer, than engaging: a load near the edge
/// changes state at most about once a second, not every tick.
///
/// A loop that stays more than 55% busy while lingering (many streams per
/// connection, or a replay at full speed) stretches the window by half
/// (`windowInEffectNanos`): each write then carries half as many arrivals
/// again, and the loop keeps its headroom; below 40% the window shrinks
/// back. The first sample after engaging is not judged: it may still hold
/// work from before. At 2,000 trades/s and 100 connections with one stream
/// each, the 1 ms window leaves the loop ~45% busy and 1.5 ms ~36%: it
/// neither stretches nor, stretched, stays so. With ten streams per
/// connection, ~60% and ~53%: it stretches and stays.
///
/// The old single window stretched unasked: every connection was written in
/// one sweep after it closed, and the sweep, longer under more load, added
/// its length to every window. Windows now end by turns (MessageHold), the
/// sweep is short, and the stretch is explicit.
public struct FlushLinger {
    /// The busy shares that engage and release `auto`'s window.
    public static let engageAtBusyShare = 0.5
    public static let releaseBelowBusyShare = 0.25
    /// The busy shares, while engaged, that stretch the window by half and
    /// shrink it back.
    public static let stretchAtBusyShare = 0.55
    public static let unstretchBelowBusyShare = 0.4
    /// Shorter samples hold an iteration or two, and their share jumps
    /// between 0 and 100%: they are merged into the next.
    public static let minimumSampleNanos: Int64 = 100_000_000
    /// How long the load must stay under the release share.
    public static let releaseAfterQuietNanos: Int64 = 1_000_000_000

    public let windowNanos: Int64
    /// Lingers only while the loop is busy (`--flush-linger auto`).
    public let followsLoad: Bool
    /// Lingering now: always for a fixed window, by load for `auto`.
    public private(set) var engaged: Bool
    /// `auto` only: the loop stayed busy while lingering; the window is half
    /// as long again.
    public private(set) var stretched = false
    /// Engaged for at least one whole load sample.
    private var settled = false
    /// When the armed wake-up timer fires; nil when none is armed.
    private(set) var timerDueNanos: Int64?
    /// The loop's busy time at the previous load sample, and when it was taken.
    private var lastSample: (busyNanos: Int64, atNanos: Int64)?
    /// Engaged, and every sample since this time was under the release share.
    private var quietSinceNanos: Int64?

    public init(windowNanos: Int64, followsLoad: Bool = false) {
        self.windowNanos = max(0, windowNanos)
        self.followsLoad = followsLoad
        engaged = !followsLoad
    }

    public var isEnabled: Bool { windowNanos > 0 && engaged }

    /// The window messages are held for now: `windowNanos`, or half as long
    /// again while stretched.
    public var windowInEffectNanos: Int64 { stretched ? windowNanos + windowNanos / 2 : windowNanos }

    /// Takes a load sample: the loop's total busy time (LoopStatistics) at
    /// `nowNanos`. Returns the busy share since the previous sample when it
    /// engaged, stretched, shrank or released the window, nil otherwise.
    public mutating func observeLoad(busyNanos: Int64, nowNanos: Int64) -> Double? {
        guard followsLoad else { return nil }
        guard let last = lastSample else {
            lastSample = (busyNanos, nowNanos)
            return nil
        }
        let span = nowNanos - last.atNanos
        guard span >= Self.minimumSampleNanos else { return nil }
        lastSample = (busyNanos, nowNanos)
        let share = Double(busyNanos - last.busyNanos) / Double(span)
        if !engaged {
            guard share >= Self.engageAtBusyShare else { return nil }
            engaged = true
            settled = false
            return share
        }
        defer { settled = true }
        if settled, !stretched, share >= Self.stretchAtBusyShare {
            stretched = true
            quietSinceNanos = nil
            return share
        }
        let shrank = stretched && share < Self.unstretchBelowBusyShare
        if shrank { stretched = false }
        guard share < Self.releaseBelowBusyShare else {
            quietSinceNanos = nil
            return shrank ? share : nil
        }
        let quietSince = quietSinceNanos ?? last.atNanos  // the quiet began with this sample
        guard nowNanos - quietSince >= Self.releaseAfterQuietNanos else {
            quietSinceNanos = quietSince
            return shrank ? share : nil
        }
        engaged = false
        stretched = false
        quietSinceNanos = nil
        return share
    }

    /// Called once per iteration before the flush: whether messages may be
    /// held back. `stopping`: the server is on its way out and nothing lingers.
    public func holds(stopping: Bool) -> Bool {
        isEnabled && !stopping
    }

    /// The earliest held window ends at `deadlineNanos` (nil: none is held):
    /// returns when the wake-up timer must now fire, nil when it stays as it
    /// is. A timer is moved later too, not left to fire for nothing: windows
    /// end at their turns, before their deadlines, so the earliest deadline
    /// moves on at every arrival, and a wake-up each time would cost more
    /// than moving the timer.
    public mutating func wakeUp(forDeadline deadlineNanos: Int64?) -> Int64? {
        guard let deadlineNanos, deadlineNanos != timerDueNanos else { return nil }
        timerDueNanos = deadlineNanos
        return deadlineNanos
    }

    public mutating func timerFired() {
        timerDueNanos = nil
    }
}

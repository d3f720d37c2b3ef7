/// `--flush-linger`: trades wait up to this long before they are written, so
/// that several leave in one write per connection. Each write to a socket
/// costs the kernel's whole TCP path (on loopback, the receiver's too): with
/// one stream per connection at 2,000 trades/s that path is nearly all of the
/// server's CPU. Lingering trades latency for CPU. `--flush-linger 0` turns
/// it off: every reactor iteration flushes what it queued. A fixed duration
/// lingers always.
///
/// The window opens when messages first wait and closes `windowNanos` later,
/// when everything waiting goes out. Anything else a connection has to send
/// (handshakes, ACKs, headers, trailers) goes at once and takes that
/// connection's messages along (ConnectionHub.flushPending).
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
public struct FlushLinger {
    public enum Decision: Equatable {
        /// Write everything now.
        case flushAll
        /// Keep messages back; arm a timer for `wakeAtNanos` when not nil.
        case hold(wakeAtNanos: Int64?)
    }

    /// The busy shares that engage and release `auto`'s window.
    public static let engageAtBusyShare = 0.5
    public static let releaseBelowBusyShare = 0.25
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
    /// When the current window opened: messages have waited since then.
    private(set) var openedAtNanos: Int64?
    /// A wake-up timer is armed; cleared when it fires.
    private var timerArmed = false
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

    /// Takes a load sample: the loop's total busy time (LoopStatistics) at
    /// `nowNanos`. Returns the busy share since the previous sample when it
    /// engaged or released the window, nil otherwise.
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
            return share
        }
        guard share < Self.releaseBelowBusyShare else {
            quietSinceNanos = nil
            return nil
        }
        let quietSince = quietSinceNanos ?? last.atNanos  // the quiet began with this sample
        guard nowNanos - quietSince >= Self.releaseAfterQuietNanos else {
            quietSinceNanos = quietSince
            return nil
        }
        engaged = false
        quietSinceNanos = nil
        return share
    }

    /// Called once per iteration before the flush. `stopping`: the server is
    /// on its way out and nothing lingers.
    public mutating func decide(nowNanos: Int64, messagesPending: Bool, stopping: Bool) -> Decision {
        guard isEnabled, messagesPending, !stopping else {
            openedAtNanos = nil
            return .flushAll
        }
        let opened = openedAtNanos ?? nowNanos
        openedAtNanos = opened
        let closesAt = opened + windowNanos
        if nowNanos >= closesAt {
            openedAtNanos = nil
            return .flushAll
        }
        // One timer at a time: one armed for an older window fires early,
        // is cleared, and the next decision arms one for this window.
        if timerArmed { return .hold(wakeAtNanos: nil) }
        timerArmed = true
        return .hold(wakeAtNanos: closesAt)
    }

    public mutating func timerFired() {
        timerArmed = false
    }

    /// What looked pending was all urgent and has been written: the next
    /// message opens a fresh window instead of inheriting this one's start.
    public mutating func nothingHeld() {
        openedAtNanos = nil
    }
}

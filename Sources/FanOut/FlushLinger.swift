/// `--flush-linger`: trades wait up to this long before they are written, so
/// that several leave in one write per connection. Each write to a socket
/// costs the kernel's whole TCP path (on loopback, the receiver's too): with
/// one stream per connection at 2,000 trades/s that path is nearly all of the
/// server's CPU. Lingering trades latency for CPU; off (0) by default, where
/// every reactor iteration flushes what it queued.
///
/// The window opens when messages first wait and closes `windowNanos` later,
/// when everything waiting goes out. Anything else a connection has to send
/// (handshakes, ACKs, headers, trailers) goes at once and takes that
/// connection's messages along (ConnectionHub.flushPending).
struct FlushLinger {
    enum Decision: Equatable {
        /// Write everything now.
        case flushAll
        /// Keep messages back; arm a timer for `wakeAtNanos` when not nil.
        case hold(wakeAtNanos: Int64?)
    }

    let windowNanos: Int64
    /// When the current window opened: messages have waited since then.
    private(set) var openedAtNanos: Int64?
    /// A wake-up timer is armed; cleared when it fires.
    private var timerArmed = false

    init(windowNanos: Int64) {
        self.windowNanos = max(0, windowNanos)
    }

    var isEnabled: Bool { windowNanos > 0 }

    /// Called once per iteration before the flush. `stopping`: the server is
    /// on its way out and nothing lingers.
    mutating func decide(nowNanos: Int64, messagesPending: Bool, stopping: Bool) -> Decision {
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

    mutating func timerFired() {
        timerArmed = false
    }

    /// What looked pending was all urgent and has been written: the next
    /// message opens a fresh window instead of inheriting this one's start.
    mutating func nothingHeld() {
        openedAtNanos = nil
    }
}

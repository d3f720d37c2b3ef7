/// The Rapid Reset guard (CVE-2023-44487): a token bucket of RST_STREAM
/// frames a client may send, `burst` at once, refilled at `perSecond`.
/// libnghttp2 has one too, but it answers with GOAWAY INTERNAL_ERROR, which
/// tells the client the server broke; this one lets the connection answer
/// ENHANCE_YOUR_CALM (issue 20, item 6) and works on any libnghttp2.
struct StreamResetRate {
    // 32-bit, as nghttp2's own settings are: this lives in every connection.
    private let storedBurst: Int32
    private let storedPerSecond: Int32
    var burst: Int { Int(storedBurst) }
    var perSecond: Int { Int(storedPerSecond) }
    private var tokens: Int
    /// When `tokens` was last refilled; refills come in whole tokens.
    private var refilledAtNanos: Int64

    init(burst: Int, perSecond: Int, nowNanos: Int64) {
        precondition(burst > 0 && perSecond > 0, "a reset rate needs a burst and a rate")
        storedBurst = Int32(clamping: burst)
        storedPerSecond = Int32(clamping: perSecond)
        tokens = burst
        refilledAtNanos = nowNanos
    }

    /// One RST_STREAM arrived. False when it is over the rate.
    mutating func resetReceived(atNanos now: Int64) -> Bool {
        let nanosPerToken = 1_000_000_000 / Int64(perSecond)
        let earned = (now - refilledAtNanos) / nanosPerToken
        if earned > 0 {
            tokens = min(burst, tokens + Int(clamping: earned))
            refilledAtNanos += earned * nanosPerToken
        }
        guard tokens > 0 else { return false }
        tokens -= 1
        return true
    }
}

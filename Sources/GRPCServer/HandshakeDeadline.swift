/// --handshake-timeout: a connection has this long from accept to finish its
/// TLS handshake (on a TLS listener) and send the HTTP/2 client preface and
/// its first SETTINGS. Until then it has earned nothing: a client that drips
/// the preface a byte at a time, or stalls mid-ClientHello, would otherwise
/// hold its slot (and a TLS session's ~60 KiB) for as long as it likes, and
/// a few hundred of them shut every legitimate client out.
///
/// Pure: the hub's handshake sweep asks it, the unit tests too.
struct HandshakeDeadline: Equatable {
    let timeoutNanos: Int64

    /// How often the sweep looks: a quarter of the timeout, within 50 ms to
    /// 1 s, so a slow handshake is closed between the timeout and the
    /// timeout plus one interval, and a short test timeout is still honoured.
    var sweepIntervalNanos: Int64 {
        min(1_000_000_000, max(50_000_000, timeoutNanos / 4))
    }

    /// The connection opened at `openedAtNanos` has had its time.
    func isOverdue(openedAtNanos: Int64, nowNanos: Int64) -> Bool {
        nowNanos - openedAtNanos >= timeoutNanos
    }

    /// Which connection gives way when every slot is taken: the unfinished
    /// handshake that has waited longest. Only connections opened before
    /// `acceptedSinceNanos` (the start of the current accept batch) qualify,
    /// so a burst of new connections cannot evict a client accepted in the
    /// same batch before it has had one chance to speak.
    static func oldestUnfinished<Candidates: Sequence>(
        _ candidates: Candidates, acceptedBeforeNanos cutoffNanos: Int64
    ) -> Candidates.Element? where Candidates.Element == (openedAtNanos: Int64, slot: Int) {
        var oldest: Candidates.Element?
        for candidate in candidates where candidate.openedAtNanos < cutoffNanos {
            if let current = oldest, current.openedAtNanos <= candidate.openedAtNanos { continue }
            oldest = candidate
        }
        return oldest
    }
}

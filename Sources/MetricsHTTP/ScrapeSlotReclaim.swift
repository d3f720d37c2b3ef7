/// Which scrape connection gives way when every /metrics slot is taken, so
/// that a client holding connections open (or trickling a request) cannot
/// starve Prometheus. A connection still reading its request, or lingering
/// after its response, has nothing in flight worth more than a new scrape;
/// one writing a response does, and is never chosen.
///
/// Pure, for the unit tests.
enum ScrapeSlotReclaim {
    /// One occupied slot, as the choice sees it.
    struct Candidate: Equatable {
        var slot: Int
        var phase: ScrapeConnection.Phase
        /// Bytes of the request read so far.
        var receivedBytes: Int
        /// Accept order: smaller is older.
        var acceptSerial: UInt64
    }

    /// The slot to close, or nil (the new connection is refused). Preference:
    /// a lingering connection (its response is out), then one that sent
    /// nothing, then one with part of a request; the oldest within each.
    /// Connections accepted at or after `protectedFromSerial` (this accept
    /// batch) are never chosen: a flood of new connections must not evict a
    /// scraper before the loop has read its request once.
    static func choose<Candidates: Sequence<Candidate>>(_ candidates: Candidates, protectedFromSerial: UInt64) -> Int? {
        var best: Candidate?
        for candidate in candidates where candidate.acceptSerial < protectedFromSerial {
            guard let rank = rank(candidate) else { continue }
            if let current = best, let currentRank = self.rank(current),
               (currentRank, current.acceptSerial) <= (rank, candidate.acceptSerial) { continue }
            best = candidate
        }
        return best?.slot
    }

    /// Lower gives way first; nil never does.
    private static func rank(_ candidate: Candidate) -> Int? {
        switch candidate.phase {
        case .lingering: return 0
        case .reading: return candidate.receivedBytes == 0 ? 1 : 2
        case .writing, .closed: return nil
        }
    }
}

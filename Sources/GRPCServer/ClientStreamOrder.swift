/// Catches a HEADERS frame on a client stream id lower than one already used
/// that was never opened (RFC 9113 §5.1.1: a new id implicitly closes every
/// lower idle one; an unexpected id is a connection PROTOCOL_ERROR). nghttp2
/// 1.52 silently ignores such a frame (h2spec 5.1.1/2).
///
/// Only ids the client skipped count: a lower id that was once opened may be
/// a stream's trailers, or arrive after our RST_STREAM crossed them in
/// flight, and RFC 9113 §5.1 says to ignore those. Real clients never skip
/// ids, so the few most recent skipped ranges are all we keep.
struct ClientStreamOrder {
    /// How many skipped ranges are remembered; older ones are forgotten
    /// (bounded memory whatever the client does).
    static let rememberedGaps = 8

    /// The highest client stream id a HEADERS frame has used.
    private(set) var highestID: Int32 = 0
    /// Ids skipped by the most recent jumps, oldest first.
    private var gaps: [ClosedRange<Int32>] = []

    /// A HEADERS frame began on `streamID`. False when the id is one the
    /// client skipped: the frame is a protocol error.
    mutating func headersBegan(streamID: Int32) -> Bool {
        guard streamID & 1 == 1 else { return true }  // server ids: nghttp2 judges them
        if streamID > highestID {
            let skippedFrom = highestID + (highestID == 0 ? 1 : 2)
            if streamID - 2 >= skippedFrom { remember(skippedFrom...(streamID - 2)) }
            highestID = streamID
            return true
        }
        return !gaps.contains { $0.contains(streamID) }
    }

    private mutating func remember(_ gap: ClosedRange<Int32>) {
        if gaps.count == Self.rememberedGaps { gaps.removeFirst() }
        gaps.append(gap)
    }
}

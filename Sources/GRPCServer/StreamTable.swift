/// A connection's open streams by HTTP/2 stream id.
///
/// Nearly every connection carries one call (a StreamPrices stream that
/// lives as long as the connection), so the first stream is kept inline and
/// a dictionary is made only while a second one is open. A dictionary for
/// one entry was a 96-byte heap block per connection (10,000 of them at
/// capacity), and every lookup hashed.
struct StreamTable {
    /// Stream ids are odd and positive (RFC 9113 §5.1.1): 0 marks the slot free.
    private var inlineID: Int32 = 0
    private var inlineStream: GRPCStream?
    /// Every stream but the inline one; the empty dictionary allocates nothing.
    private var others: [Int32: GRPCStream] = [:]

    var count: Int { (inlineID != 0 ? 1 : 0) + others.count }
    var isEmpty: Bool { count == 0 }

    subscript(id: Int32) -> GRPCStream? {
        if id == inlineID { return inlineStream }
        return others.isEmpty ? nil : others[id]
    }

    mutating func insert(_ stream: GRPCStream) {
        precondition(stream.id > 0 && self[stream.id] == nil, "stream \(stream.id) is already in the table")
        if inlineID == 0 {
            inlineID = stream.id
            inlineStream = stream
        } else {
            others[stream.id] = stream
        }
    }

    @discardableResult
    mutating func remove(_ id: Int32) -> GRPCStream? {
        if id == inlineID {
            let stream = inlineStream
            inlineID = 0
            inlineStream = nil
            return stream
        }
        return others.isEmpty ? nil : others.removeValue(forKey: id)
    }

    mutating func removeAll() {
        inlineID = 0
        inlineStream = nil
        others = [:]
    }

    /// The one open stream, when there is exactly one (nearly always), as an
    /// unretained reference: the per-message DATA path reads it without the
    /// retain and release a load of `values` costs (the table keeps it alive).
    var soleStream: Unmanaged<GRPCStream>? {
        guard inlineID != 0 && others.isEmpty, let inlineStream else { return nil }
        return Unmanaged.passUnretained(inlineStream)
    }

    /// Every open stream, in no particular order (as a dictionary's values).
    var values: StreamTableValues { StreamTableValues(inlineStream: inlineStream, others: others.values.makeIterator()) }
}

/// The streams of a `StreamTable`, without building an array.
struct StreamTableValues: Sequence, IteratorProtocol {
    fileprivate var inlineStream: GRPCStream?
    fileprivate var others: Dictionary<Int32, GRPCStream>.Values.Iterator

    mutating func next() -> GRPCStream? {
        if let stream = inlineStream {
            inlineStream = nil
            return stream
        }
        return others.next()
    }
}

/// A connection's bytes on their way to the socket: frames appended at the
/// back, sent from the front, grown by doubling; its size is bounded by the
/// connection's high-water mark plus one frame.
///
/// With a pool (every connection's), the memory is borrowed when the first
/// byte arrives and given back as soon as the socket has taken the last one
/// (OutputBufferPool), so a connection holds output memory only while it has
/// output. Without one (unit tests), it is allocated on first use and kept
/// until `release`.
struct OutputBuffer {
    private var storage: UnsafeMutableRawPointer?
    private var capacity = 0
    private var start = 0
    private var end = 0
    /// Where the memory comes from and goes back to. A pointer, like
    /// ConnectionBacklog.serverQueuedBytes, so the per-flush borrowing pays
    /// no reference counting: the hub allocates the pool before any
    /// connection and frees it after the last one is gone.
    var pool: UnsafeMutablePointer<OutputBufferPool>?

    init(pool: UnsafeMutablePointer<OutputBufferPool>? = nil) {
        self.pool = pool
    }

    var count: Int { end - start }
    var isEmpty: Bool { start == end }
    /// Bytes this buffer holds memory for, sent or not.
    var allocatedBytes: Int { capacity }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        if end + bytes.count > capacity { makeRoom(for: bytes.count) }
        (storage! + end).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        end += bytes.count
    }

    /// Appends `count` bytes that `fill` writes in place, so a producer that
    /// owns its bytes elsewhere (a stream's queued messages) copies them once,
    /// straight into the buffer. `fill` must write exactly `count` bytes.
    mutating func append(count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Int) {
        guard count > 0 else { return }
        if end + count > capacity { makeRoom(for: count) }
        let written = fill(UnsafeMutableRawBufferPointer(start: storage! + end, count: count))
        precondition(written == count, "an in-place append wrote \(written) of \(count) bytes")
        end += count
    }

    /// The unsent bytes, valid until the next mutation.
    var unsent: UnsafeRawBufferPointer {
        guard let storage else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: storage + start, count: count)
    }

    mutating func consume(_ sent: Int) {
        precondition(sent <= count)
        start += sent
        guard start == end else { return }
        start = 0
        end = 0
        if pool != nil { release() }  // nothing left to send: the memory goes back
    }

    /// Gives the memory back (to the pool, or frees it), whatever it holds.
    mutating func release() {
        start = 0
        end = 0
        guard let storage else { return }
        if let pool {
            pool.pointee.giveBack(OutputBufferPool.Block(storage: storage, capacity: capacity))
        } else {
            storage.deallocate()
        }
        self.storage = nil
        capacity = 0
    }

    private mutating func makeRoom(for extra: Int) {
        if storage == nil, extra <= OutputBufferPool.smallestCapacity, let block = pool?.pointee.takeSmallest() {
            storage = block.storage
            capacity = block.capacity
            return
        }
        let live = count
        if let storage, start > 0 {
            // Slide the unsent bytes to the front before growing.
            storage.copyMemory(from: storage + start, byteCount: live)
            start = 0
            end = live
            if live + extra <= capacity { return }
        }
        let wanted = max(2 * capacity, live + extra)
        let grown = pool?.pointee.take(atLeast: wanted) ?? OutputBufferPool.Block(
            storage: UnsafeMutableRawPointer.allocate(byteCount: OutputBufferPool.capacity(forAtLeast: wanted), alignment: 16),
            capacity: OutputBufferPool.capacity(forAtLeast: wanted))
        if let storage {
            grown.storage.copyMemory(from: storage + start, byteCount: live)
            if let pool {
                pool.pointee.giveBack(OutputBufferPool.Block(storage: storage, capacity: capacity))
            } else {
                storage.deallocate()
            }
        }
        storage = grown.storage
        capacity = grown.capacity
        start = 0
        end = live
    }
}

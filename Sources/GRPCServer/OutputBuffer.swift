/// A connection's bytes on their way to the socket: frames appended at the
/// back, sent from the front. Allocated on first use and grown by doubling;
/// its size is bounded by the connection's high-water mark plus one frame.
/// It starts at 1 KiB: most connections never hold more than a few messages
/// per write, and a buffer's pages count in RSS once written. With 3,000
/// quiet connections a 4 KiB start cost 20.9 KB of RSS per connection and
/// 1 KiB costs 17.8 KB; a busier connection doubles it a few times, once.
struct OutputBuffer {
    private var storage: UnsafeMutableRawPointer?
    private var capacity = 0
    private var start = 0
    private var end = 0

    var count: Int { end - start }
    var isEmpty: Bool { start == end }
    /// Bytes allocated, sent or not: what the buffer costs in memory, and
    /// what the server's --max-queued-bytes budget counts for it.
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
        if start == end { start = 0; end = 0 }
    }

    mutating func release() {
        storage?.deallocate()
        storage = nil
        capacity = 0
        start = 0
        end = 0
    }

    private mutating func makeRoom(for extra: Int) {
        let live = count
        if let storage, start > 0 {
            // Slide the unsent bytes to the front before growing.
            storage.copyMemory(from: storage + start, byteCount: live)
            start = 0
            end = live
            if live + extra <= capacity { return }
        }
        var newCapacity = max(capacity, 1024)
        while newCapacity < live + extra { newCapacity *= 2 }
        let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        if let storage {
            grown.copyMemory(from: storage + start, byteCount: live)
            storage.deallocate()
        }
        storage = grown
        capacity = newCapacity
        start = 0
        end = live
    }
}

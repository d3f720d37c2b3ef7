/// A connection's bytes on their way to the socket: frames appended at the
/// back, sent from the front. Allocated on first use and grown by doubling;
/// its size is bounded by the connection's high-water mark plus one frame.
/// It starts at one page: most connections never hold more than a few
/// messages, and with 10,000 of them a larger start was a third of the RSS.
struct OutputBuffer {
    private var storage: UnsafeMutableRawPointer?
    private var capacity = 0
    private var start = 0
    private var end = 0

    var count: Int { end - start }
    var isEmpty: Bool { start == end }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        if end + bytes.count > capacity { makeRoom(for: bytes.count) }
        (storage! + end).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        end += bytes.count
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
        var newCapacity = max(capacity, 4 * 1024)
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

/// The memory behind connections' output buffers, lent only while a buffer
/// holds bytes. A connection whose write took everything gives its buffer
/// back here, and the next one to fill takes it: on the epoll path a flush
/// round writes each connection in turn, so one buffer serves them all and a
/// connection costs no output memory between flushes. Only connections
/// whose sockets are full (and, with io_uring, every connection of a batch
/// until its submission) hold one.
///
/// Buffers are powers of two from 1 KiB, kept idle by size class and never
/// freed on their own: a class left empty allocates, once, when more buffers
/// of it are wanted together than ever before. So a steady load allocates
/// nothing per trade, and the idle total never exceeds the most buffers the
/// server held at one time, which without pooling it held for good. The
/// memory budget frees the idle ones (`freeIdle`) when it runs out.
struct OutputBufferPool {
    struct Block {
        let storage: UnsafeMutableRawPointer
        let capacity: Int
    }

    static let smallestCapacity = 1024
    /// 1 KiB ... 128 MiB; a buffer is bounded by the connection's high-water
    /// mark plus one frame, far under the last class.
    private static let classCount = 18

    /// Each class's idle buffers, a list threaded through the buffers
    /// themselves (an idle buffer's first 8 bytes point to the next): lending
    /// and taking back are a few instructions, once per flush per connection.
    private let heads: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    /// Bytes allocated and not freed, lent or idle: what the memory budget
    /// (--max-queued-bytes) counts for output.
    private(set) var allocatedBytes = 0
    private(set) var idleBytes = 0

    /// Allocates the list heads; `freeAll` releases them with the buffers.
    init() {
        heads = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: Self.classCount)
        heads.initialize(repeating: nil, count: Self.classCount)
    }

    /// The capacity `take` gives for a request of `bytes`.
    static func capacity(forAtLeast bytes: Int) -> Int {
        var capacity = smallestCapacity
        while capacity < bytes { capacity *= 2 }
        return capacity
    }

    private static func sizeClass(of capacity: Int) -> Int {
        (capacity / smallestCapacity).trailingZeroBitCount
    }

    /// An idle buffer of the smallest class, if there is one: what nearly
    /// every flush borrows.
    @inline(__always)
    mutating func takeSmallest() -> Block? {
        guard let storage = heads[0] else { return nil }
        heads[0] = storage.load(as: UnsafeMutableRawPointer?.self)
        idleBytes -= Self.smallestCapacity
        return Block(storage: storage, capacity: Self.smallestCapacity)
    }

    /// A buffer of at least `bytes`: an idle one of the smallest class that
    /// fits, or a new one of exactly that class.
    mutating func take(atLeast bytes: Int) -> Block {
        let capacity = Self.capacity(forAtLeast: bytes)
        let wanted = Self.sizeClass(of: capacity)
        precondition(wanted < Self.classCount, "an output buffer of \(bytes) bytes")
        for sizeClass in wanted..<Self.classCount {
            guard let storage = heads[sizeClass] else { continue }
            heads[sizeClass] = storage.load(as: UnsafeMutableRawPointer?.self)
            let found = Self.smallestCapacity << sizeClass
            idleBytes -= found
            return Block(storage: storage, capacity: found)
        }
        allocatedBytes += capacity
        return Block(storage: UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16), capacity: capacity)
    }

    /// `block` holds nothing anyone needs any more.
    mutating func giveBack(_ block: Block) {
        let sizeClass = Self.sizeClass(of: block.capacity)
        block.storage.storeBytes(of: heads[sizeClass], as: UnsafeMutableRawPointer?.self)
        heads[sizeClass] = block.storage
        idleBytes += block.capacity
    }

    /// Frees every idle buffer; returns the bytes freed.
    mutating func freeIdle() -> Int {
        let freed = idleBytes
        for sizeClass in 0..<Self.classCount {
            while let storage = heads[sizeClass] {
                heads[sizeClass] = storage.load(as: UnsafeMutableRawPointer?.self)
                storage.deallocate()
            }
        }
        idleBytes = 0
        allocatedBytes -= freed
        return freed
    }

    /// Frees the idle buffers and the lists; only once nothing is lent.
    mutating func freeAll() {
        _ = freeIdle()
        precondition(allocatedBytes == 0, "output buffers still lent: \(allocatedBytes) bytes")
        heads.deallocate()
    }
}

/// A fixed-length array allocated once, at startup, and freed with its owner.
///
/// The per-trade path reads and mutates elements in place through this type, so
/// it pays none of `Array`'s costs there: no copy-on-write uniqueness check, no
/// reallocation, no retain/release. It is the only place in `Indicators` that
/// touches raw memory.
///
/// Safe because: the buffer is allocated and fully initialized in `init`, freed
/// only in `deinit`, cannot be copied or escape (the type is non-copyable and
/// never hands out its pointer), and every element access is bounds-checked by a
/// `precondition` that stays on in release builds.
struct FixedArray<Element>: ~Copyable {
    private let storage: UnsafeMutableBufferPointer<Element>

    init(repeating element: Element, count: Int) {
        precondition(count > 0, "a FixedArray holds at least one element")
        storage = .allocate(capacity: count)
        storage.initialize(repeating: element)
    }

    deinit {
        _ = storage.deinitialize()
        storage.deallocate()
    }

    var count: Int { storage.count }

    subscript(index: Int) -> Element {
        unsafeAddress {
            UnsafePointer(address(of: index))
        }
        unsafeMutableAddress {
            address(of: index)
        }
    }

    private func address(of index: Int) -> UnsafeMutablePointer<Element> {
        // One unsigned compare covers both index < 0 and index >= count.
        precondition(UInt(bitPattern: index) < UInt(storage.count), "FixedArray index out of range")
        return storage.baseAddress! + index
    }
}

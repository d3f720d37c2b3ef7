import GRPCServer

/// Every open StreamPrices stream, in a dense array so fan-out is a linear
/// walk. Each stream remembers its index, so removal is O(1) (swap with the
/// last). A stream that closes for any reason leaves at once.
public struct StreamRegistry {
    private(set) var streams: [GRPCStream] = []

    public init(capacity: Int) {
        streams.reserveCapacity(capacity)
    }

    public var count: Int { streams.count }

    public mutating func add(_ stream: GRPCStream) {
        precondition(stream.registryIndex < 0, "stream \(stream.id) is already registered")
        stream.registryIndex = streams.count
        streams.append(stream)
    }

    /// Returns false when the stream was not registered.
    @discardableResult
    public mutating func remove(_ stream: GRPCStream) -> Bool {
        let index = stream.registryIndex
        guard index >= 0 else { return false }
        precondition(streams[index] === stream, "registry index out of step")
        let last = streams.removeLast()
        if index < streams.count {
            streams[index] = last
            last.registryIndex = index
        }
        stream.registryIndex = -1
        return true
    }

    /// The largest backlog among the registered streams.
    public var largestBacklogBytes: Int {
        streams.reduce(0) { max($0, $1.backlogBytes) }
    }

    @inline(__always)
    public func forEach(_ body: (GRPCStream) -> Void) {
        for stream in streams { body(stream) }
    }
}

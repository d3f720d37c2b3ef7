import GRPCWire

/// Where a hand-encoded message's fields go: `ProtobufSizer` counts their
/// bytes, `ProtobufWriter` writes them. Each message has one `encode(to:)`
/// that serves both, so its size can never disagree with what it writes.
/// Proto3 defaults (0, +0.0, "", false) are left out, as swift-protobuf does.
protocol ProtobufFieldSink {
    /// uint32, enum and bool fields.
    mutating func varintField(_ fieldNumber: Int, _ value: UInt64)
    mutating func int64Field(_ fieldNumber: Int, _ value: Int64)
    mutating func doubleField(_ fieldNumber: Int, _ value: Double)
    /// An `optional` double: written whenever set, zero included.
    mutating func presentDoubleField(_ fieldNumber: Int, _ value: Double)
    mutating func stringField(_ fieldNumber: Int, _ value: String)
    /// A packed repeated double field (left out when empty).
    mutating func packedDoubles(_ fieldNumber: Int, count: Int, _ element: (Int) -> Double)
    /// A message field, written even when the message is empty (its presence
    /// is what a set oneof member or a set message field says).
    mutating func messageField<Message: HandEncodedMessage>(_ fieldNumber: Int, _ message: Message)
}

/// A message that encodes its own fields, in field-number order.
protocol HandEncodedMessage {
    func encode<Sink: ProtobufFieldSink>(to sink: inout Sink)
}

extension HandEncodedMessage {
    /// Bytes of the message's fields.
    var encodedSize: Int {
        var sizer = ProtobufSizer()
        encode(to: &sizer)
        return sizer.size
    }
}

/// Counts the bytes a message's fields take.
struct ProtobufSizer: ProtobufFieldSink {
    private(set) var size = 0

    mutating func varintField(_ fieldNumber: Int, _ value: UInt64) {
        size += ProtobufWriter.varintFieldSize(fieldNumber: fieldNumber, value)
    }

    mutating func int64Field(_ fieldNumber: Int, _ value: Int64) {
        size += ProtobufWriter.int64FieldSize(fieldNumber: fieldNumber, value)
    }

    mutating func doubleField(_ fieldNumber: Int, _ value: Double) {
        size += ProtobufWriter.doubleFieldSize(fieldNumber: fieldNumber, value)
    }

    mutating func presentDoubleField(_ fieldNumber: Int, _ value: Double) {
        size += ProtobufWriter.varintSize(UInt64(fieldNumber << 3 | 1)) + 8
    }

    mutating func stringField(_ fieldNumber: Int, _ value: String) {
        size += ProtobufWriter.stringFieldSize(fieldNumber: fieldNumber, value)
    }

    mutating func packedDoubles(_ fieldNumber: Int, count: Int, _ element: (Int) -> Double) {
        if count > 0 { size += ProtobufWriter.delimitedSize(fieldNumber: fieldNumber, payload: 8 * count) }
    }

    mutating func messageField<Message: HandEncodedMessage>(_ fieldNumber: Int, _ message: Message) {
        size += ProtobufWriter.delimitedSize(fieldNumber: fieldNumber, payload: message.encodedSize)
    }
}

extension ProtobufWriter: ProtobufFieldSink {
    mutating func varintField(_ fieldNumber: Int, _ value: UInt64) {
        writeVarintField(fieldNumber: fieldNumber, value)
    }

    mutating func int64Field(_ fieldNumber: Int, _ value: Int64) {
        writeInt64(fieldNumber: fieldNumber, value)
    }

    mutating func doubleField(_ fieldNumber: Int, _ value: Double) {
        writeDouble(fieldNumber: fieldNumber, value)
    }

    mutating func presentDoubleField(_ fieldNumber: Int, _ value: Double) {
        writeVarint(UInt64(fieldNumber << 3 | 1))
        writeRawDouble(value)
    }

    mutating func stringField(_ fieldNumber: Int, _ value: String) {
        writeString(fieldNumber: fieldNumber, value)
    }

    mutating func packedDoubles(_ fieldNumber: Int, count: Int, _ element: (Int) -> Double) {
        guard count > 0 else { return }
        writeDelimitedHeader(fieldNumber: fieldNumber, length: 8 * count)
        for index in 0..<count { writeRawDouble(element(index)) }
    }

    /// Sizes the message first (a second pass over its fields, no buffer).
    mutating func messageField<Message: HandEncodedMessage>(_ fieldNumber: Int, _ message: Message) {
        writeDelimitedHeader(fieldNumber: fieldNumber, length: message.encodedSize)
        message.encode(to: &self)
    }
}

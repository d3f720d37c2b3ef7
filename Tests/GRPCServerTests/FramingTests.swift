import Testing
@testable import GRPCServer
import GRPCWire

/// Frames `payloads` the way a client would: 5-byte prefix plus bytes each.
func framed(_ payloads: [[UInt8]]) -> [UInt8] {
    payloads.flatMap { payload -> [UInt8] in
        let n = UInt32(payload.count)
        return [0, UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)] + payload
    }
}

func deframe(_ chunks: [[UInt8]], limit: Int = 1 << 22) throws -> [[UInt8]] {
    var deframer = MessageDeframer(limit: limit)
    var messages: [[UInt8]] = []
    for chunk in chunks {
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk.count, alignment: 1)
        defer { bytes.deallocate() }
        bytes.copyBytes(from: chunk)
        try deframer.consume(UnsafeRawBufferPointer(bytes)) { messages.append(Array($0)) }
    }
    return messages
}

@Suite struct DeframerTests {
    let payloads: [[UInt8]] = [[1, 2, 3], [], Array(repeating: 7, count: 300), [9]]

    @Test func wholeStreamInOneChunk() throws {
        #expect(try deframe([framed(payloads)]) == payloads)
    }

    @Test func splitAtEveryBoundary() throws {
        let wire = framed(payloads)
        for cut in 0...wire.count {
            #expect(try deframe([Array(wire[..<cut]), Array(wire[cut...])]) == payloads, "cut at \(cut)")
        }
    }

    @Test func oneByteDataFrames() throws {
        let wire = framed(payloads)
        #expect(try deframe(wire.map { [$0] }) == payloads)
    }

    @Test func messageSplitAcrossManyFrames() throws {
        let big = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 31) }
        let wire = framed([big])
        let chunks = stride(from: 0, to: wire.count, by: 16_384).map { Array(wire[$0..<min($0 + 16_384, wire.count)]) }
        #expect(chunks.count > 5)
        #expect(try deframe(chunks) == [big])
    }

    @Test func oversizedMessageIsRejectedFromItsPrefix() {
        let prefix: [UInt8] = [0, 0, 0x40, 0, 1]  // 4 MiB + 1
        #expect(throws: MessageDeframer.Failure.tooLarge(announced: 4 * 1024 * 1024 + 1, limit: 4 * 1024 * 1024)) {
            try deframe([prefix], limit: 4 * 1024 * 1024)
        }
    }

    @Test func compressedFlagIsRejected() {
        #expect(throws: MessageDeframer.Failure.compressed) { try deframe([[1, 0, 0, 0, 1, 5]]) }
    }

    @Test func partialMessageIsVisible() throws {
        var deframer = MessageDeframer(limit: 100)
        let chunk: [UInt8] = [0, 0, 0, 0, 2, 1]
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk.count, alignment: 1)
        defer { bytes.deallocate() }
        bytes.copyBytes(from: chunk)
        try deframer.consume(UnsafeRawBufferPointer(bytes)) { _ in Issue.record("no message is complete yet") }
        #expect(deframer.hasPartialMessage)
    }
}

@Suite struct WireMessageTests {
    @Test func prefixCarriesBigEndianLength() {
        let message = WireMessage(payload: Array(repeating: 0xAB, count: 0x01_02_03))
        #expect(message.count == 5 + 0x01_02_03)
        message.withBytes { bytes in
            #expect(Array(bytes[0..<5]) == [0, 0, 1, 2, 3])
        }
        #expect(message.payload.count == 0x01_02_03)
    }

    @Test func outboundQueueDrainsAcrossFrameBoundaries() {
        var queue = OutboundQueue(initialCapacity: 2)
        let messages = (0..<10).map { index in WireMessage(payload: Array(repeating: UInt8(index), count: index * 3)) }
        for message in messages { queue.append(message) }
        let expected = messages.flatMap { message in message.withBytes { Array($0) } }
        #expect(queue.pendingBytes == expected.count)
        var out: [UInt8] = []
        var frame = [UInt8](repeating: 0, count: 7)
        while !queue.isEmpty {
            let count = frame.withUnsafeMutableBytes { queue.drain(into: $0) }
            out += frame[..<count]
        }
        #expect(out == expected)
        #expect(queue.pendingBytes == 0)
    }
}

@Suite struct PercentEncodingTests {
    @Test func encodesOutsidePrintableAsciiAndPercent() {
        #expect(PercentEncoding.encode("plain text") == "plain text")
        #expect(PercentEncoding.encode("50% off") == "50%25 off")
        #expect(PercentEncoding.encode("line\nbreak") == "line%0Abreak")
        #expect(PercentEncoding.encode("€") == "%E2%82%AC")
    }

    @Test func roundTripsAnyText() {
        for text in ["", "a%b", "ünïcødé … 🚀", "\u{0}\u{7F}", "ok"] {
            #expect(PercentEncoding.decode(PercentEncoding.encode(text)) == text)
        }
        #expect(PercentEncoding.decode("bad%zzescape%4") == "bad%zzescape%4")
    }

    @Test func contentTypeRules() {
        #expect(RequestHeaders.isGRPCContentType("application/grpc"))
        #expect(RequestHeaders.isGRPCContentType("application/grpc+proto"))
        #expect(RequestHeaders.isGRPCContentType("application/grpc; charset=utf-8"))
        #expect(RequestHeaders.isGRPCContentType("application/grpc;charset=utf-8"))
        #expect(!RequestHeaders.isGRPCContentType("application/json"))
        #expect(!RequestHeaders.isGRPCContentType("application/grpcx"))
    }
}

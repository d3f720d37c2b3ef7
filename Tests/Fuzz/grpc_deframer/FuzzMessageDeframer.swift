// libFuzzer harness for MessageDeframer (Sources/GRPCServer/MessageDeframer.swift),
// compiled together with it and WireMessage.swift into one module by
// scripts/fuzz.sh: swiftc -sanitize=fuzzer,address -parse-as-library.
//
// Input layout: byte 0 is the chunk size (0: the whole stream in one chunk),
// byte 1 the receive limit in units of 16 bytes, the rest the DATA stream.
// Each chunk is copied into its own exact-size allocation, freed right after
// consume(), so ASan sees any read past a chunk or any pointer kept into it.
// The result is checked against a one-pass reference reading of the stream:
// the same messages, byte for byte, in order; the same failure; the same
// partial-message state; nothing delivered or thrown after a failure.

/// What a straightforward, non-incremental reading of the stream yields.
struct ReferenceReading {
    var messages: [[UInt8]] = []
    var failure: MessageDeframer.Failure?
    var hasPartialMessage = false

    init(_ stream: [UInt8], limit: Int) {
        var offset = 0
        while stream.count - offset >= WireMessage.prefixLength {
            let flag = stream[offset]
            let length = stream[offset + 1..<offset + 5].reduce(0) { $0 << 8 | Int($1) }
            if flag != 0 { failure = .compressed; return }
            if length > limit { failure = .tooLarge(announced: length, limit: limit); return }
            let start = offset + WireMessage.prefixLength
            guard stream.count - start >= length else { hasPartialMessage = true; return }
            messages.append(Array(stream[start..<start + length]))
            offset = start + length
        }
        hasPartialMessage = offset < stream.count
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMessageDeframer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let input = UnsafeBufferPointer(start: data, count: size)
    let chunkSize = input[0] == 0 ? max(size - 2, 1) : Int(input[0])
    let limit = Int(input[1]) * 16
    let stream = Array(input[2...])
    let expected = ReferenceReading(stream, limit: limit)

    var deframer = MessageDeframer(limit: limit)
    var delivered: [[UInt8]] = []
    var failure: MessageDeframer.Failure?
    var offset = 0
    while offset < stream.count {
        let count = min(chunkSize, stream.count - offset)
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 1)
        // Safe because: chunk has exactly `count` bytes and the source range is in bounds.
        stream.withUnsafeBytes { chunk.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + count])) }
        do {
            try deframer.consume(UnsafeRawBufferPointer(chunk)) { message in
                precondition(message.count <= limit, "delivered \(message.count) bytes over the limit \(limit)")
                precondition(failure == nil, "delivered a message after a failure")
                delivered.append(Array(message))
            }
        } catch {
            precondition(failure == nil, "threw again after a failure: \(error)")
            failure = error
        }
        chunk.deallocate()
        offset += count
    }

    precondition(delivered.count == expected.messages.count,
                 "delivered \(delivered.count) messages, the stream holds \(expected.messages.count)")
    precondition(delivered == expected.messages, "a delivered message differs from the stream's bytes")
    precondition(failure == expected.failure, "failure \(String(describing: failure)), expected \(String(describing: expected.failure))")
    if failure == nil {
        precondition(deframer.hasPartialMessage == expected.hasPartialMessage, "hasPartialMessage disagrees with the stream")
    }
    return 0
}

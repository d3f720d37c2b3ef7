/// Splits what the client sends into the bytes nghttp2 reads and the
/// WINDOW_UPDATE frames the server reads itself.
///
/// The server writes its DATA frames without nghttp2 (HTTP2Connection+Data),
/// so it keeps the peer's flow-control windows itself. nghttp2 cannot be told
/// of DATA it did not send: fed the WINDOW_UPDATE frames too, its own view of
/// the windows would only ever grow, and a long-lived connection would pass
/// 2^31 − 1 and be closed with FLOW_CONTROL_ERROR. So the frames that can
/// only move a window are taken out here; everything else, including any
/// WINDOW_UPDATE that is an error or names a stream the server does not hold
/// (nghttp2 knows whether it is idle or closed), goes to nghttp2 unchanged and
/// in order.
///
/// The frame boundaries come from each 9-byte header (RFC 9113 §4.1). A
/// header or a WINDOW_UPDATE split across reads is held here until it is
/// whole; everything else passes through in place. So nghttp2 always gets a
/// frame header in one piece, which Debian's 1.52 needs: its CONTINUATION
/// flood guard (CVE-2024-28182) counts each piece of a CONTINUATION header
/// as a frame, and refused a valid request whose header block arrived a
/// byte at a time (test_flow_control.py,
/// test_a_header_block_cut_at_every_byte_is_a_valid_request).
struct InboundFrameSplitter {
    enum Piece {
        /// Bytes for nghttp2, in order.
        case bytes(UnsafeRawBufferPointer)
        /// A well-formed WINDOW_UPDATE outside any header block.
        case windowUpdate(streamID: Int32, increment: UInt32)
    }

    enum Verdict {
        /// Fed to nghttp2, or the window update was applied.
        case taken
        /// The window update is not the server's: nghttp2 gets its 13 bytes.
        case forward
        /// nghttp2 failed: nothing more is read.
        case stop
    }

    private enum Stage: UInt8 {
        case preface, frameHeader, payload, windowUpdatePayload
    }

    /// RFC 9113 §3.4: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", checked by nghttp2.
    static let prefaceBytes: Int32 = 24
    static let frameHeaderBytes = 9
    static let windowUpdateFrameBytes = 13

    private static let headersType: UInt8 = 0x1
    private static let pushPromiseType: UInt8 = 0x5
    private static let windowUpdateType: UInt8 = 0x8
    private static let continuationType: UInt8 = 0x9
    private static let endHeadersFlag: UInt8 = 0x4

    /// A frame header, with a WINDOW_UPDATE's payload after it, that arrived
    /// split across reads.
    private var held: (UInt64, UInt64) = (0, 0)
    /// Bytes left of the preface or of the current frame's payload.
    private var remaining: Int32 = prefaceBytes
    private var heldCount: UInt8 = 0
    private var stage = Stage.preface
    /// A HEADERS or PUSH_PROMISE without END_HEADERS was read: until its last
    /// CONTINUATION, any other frame is a connection error nghttp2 must see.
    private var insideHeaderBlock = false

    /// Hands `input` to `deliver` piece by piece, in order. Returns false if
    /// `deliver` stopped it.
    mutating func split(_ input: UnsafeRawBufferPointer, _ deliver: (Piece) -> Verdict) -> Bool {
        guard let raw = input.baseAddress else { return true }
        let base = raw.assumingMemoryBound(to: UInt8.self)
        let end = input.count
        var index = 0
        // Where the bytes not yet handed on, and passing through in place, start.
        var runStart = 0
        func handRun(upTo position: Int) -> Bool {
            defer { runStart = position }
            guard position > runStart else { return true }
            return deliver(.bytes(UnsafeRawBufferPointer(start: base + runStart, count: position - runStart))) != .stop
        }
        while index < end {
            switch stage {
            case .preface, .payload:
                let take = min(Int(remaining), end - index)
                index += take
                remaining -= Int32(take)
                if remaining == 0 { stage = .frameHeader }
            case .frameHeader where heldCount == 0 && end - index >= Self.frameHeaderBytes:
                let header = base + index
                let length = Self.payloadLength(header)
                guard isWindowUpdate(type: header[3], length: length) else {
                    noteFrame(type: header[3], flags: header[4])
                    index += Self.frameHeaderBytes
                    enterPayload(length)
                    continue
                }
                guard end - index >= Self.windowUpdateFrameBytes else {
                    // The payload is in the next read: hold the frame from here.
                    guard handRun(upTo: index) else { return false }
                    hold(header, count: end - index)
                    index = end
                    runStart = end
                    stage = .windowUpdatePayload
                    continue
                }
                guard handRun(upTo: index) else { return false }
                let verdict = deliver(Self.windowUpdate(header))
                if verdict == .stop { return false }
                index += Self.windowUpdateFrameBytes
                // Forwarded: the frame stays in the run that nghttp2 gets next.
                if verdict == .taken { runStart = index }
            case .frameHeader:
                if heldCount == 0 { guard handRun(upTo: index) else { return false } }
                let whole = holdUntil(Self.frameHeaderBytes, from: base, at: &index, end: end)
                runStart = index  // held, not passed through
                guard whole else { continue }
                let verdict: Verdict = Self.withHeld(of: held, count: heldCount) { header in
                    let length = Self.payloadLength(header.baseAddress!.assumingMemoryBound(to: UInt8.self))
                    if isWindowUpdate(type: header[3], length: length) {
                        stage = .windowUpdatePayload
                        return .taken
                    }
                    noteFrame(type: header[3], flags: header[4])
                    enterPayload(length)
                    return deliver(.bytes(header))
                }
                if verdict == .stop { return false }
                if stage != .windowUpdatePayload { heldCount = 0 }
            case .windowUpdatePayload:
                let whole = holdUntil(Self.windowUpdateFrameBytes, from: base, at: &index, end: end)
                runStart = index  // held, not passed through
                guard whole else { continue }
                let verdict: Verdict = Self.withHeld(of: held, count: heldCount) { frame in
                    let verdict = deliver(Self.windowUpdate(frame.baseAddress!.assumingMemoryBound(to: UInt8.self)))
                    return verdict == .forward ? deliver(.bytes(frame)) : verdict
                }
                if verdict == .stop { return false }
                heldCount = 0
                stage = .frameHeader
            }
        }
        return handRun(upTo: end)
    }

    private func isWindowUpdate(type: UInt8, length: Int) -> Bool {
        type == Self.windowUpdateType && length == 4 && !insideHeaderBlock
    }

    private mutating func noteFrame(type: UInt8, flags: UInt8) {
        switch type {
        case Self.headersType, Self.pushPromiseType, Self.continuationType:
            insideHeaderBlock = flags & Self.endHeadersFlag == 0
        default:
            break
        }
    }

    private mutating func enterPayload(_ length: Int) {
        remaining = Int32(length)
        stage = length == 0 ? .frameHeader : .payload
    }

    /// Holds input bytes until `count` are held; false while fewer are (the
    /// read ran out: the rest comes with the next).
    private mutating func holdUntil(_ count: Int, from base: UnsafePointer<UInt8>, at index: inout Int, end: Int) -> Bool {
        let take = min(count - Int(heldCount), end - index)
        hold(base + index, count: take)
        index += take
        return Int(heldCount) == count
    }

    private mutating func hold(_ bytes: UnsafePointer<UInt8>, count: Int) {
        let offset = Int(heldCount)
        withUnsafeMutableBytes(of: &held) { storage in
            storage.baseAddress!.advanced(by: offset).copyMemory(from: bytes, byteCount: count)
        }
        heldCount += UInt8(count)
    }

    /// The held bytes, from a copy: `body` may change this splitter.
    private static func withHeld(of copy: (UInt64, UInt64), count: UInt8,
                                 _ body: (UnsafeRawBufferPointer) -> Verdict) -> Verdict {
        withUnsafeBytes(of: copy) { body(UnsafeRawBufferPointer(rebasing: $0[..<Int(count)])) }
    }

    private static func payloadLength(_ header: UnsafePointer<UInt8>) -> Int {
        Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
    }

    /// The stream id and increment of a whole 13-byte WINDOW_UPDATE frame
    /// (reserved bits dropped, as RFC 9113 §6.9 says to).
    private static func windowUpdate(_ frame: UnsafePointer<UInt8>) -> Piece {
        .windowUpdate(streamID: Int32(bitPattern: bigEndian32(frame + 5) & 0x7fff_ffff),
                      increment: bigEndian32(frame + 9) & 0x7fff_ffff)
    }

    private static func bigEndian32(_ bytes: UnsafePointer<UInt8>) -> UInt32 {
        UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
    }
}

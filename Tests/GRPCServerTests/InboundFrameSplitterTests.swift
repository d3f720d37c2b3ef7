import Testing
@testable import GRPCServer

/// The splitter that takes WINDOW_UPDATE frames out of a client's bytes
/// before nghttp2 reads them. What nghttp2 gets must be exactly the input
/// minus the frames taken, in order, however the input is cut into reads:
/// a byte lost or repeated would desynchronise nghttp2's framing.
@Suite struct InboundFrameSplitterTests {
    private static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private static func frame(type: UInt8, flags: UInt8 = 0, stream: UInt32, payload: [UInt8]) -> [UInt8] {
        let length = payload.count
        return [UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), type, flags,
                UInt8(stream >> 24 & 0x7f), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)]
            + payload
    }

    private static func windowUpdate(stream: UInt32, increment: UInt32) -> [UInt8] {
        frame(type: 0x8, stream: stream, payload: [UInt8(increment >> 24 & 0xff), UInt8(increment >> 16 & 0xff),
                                                  UInt8(increment >> 8 & 0xff), UInt8(increment & 0xff)])
    }

    private struct Outcome: Equatable {
        var forwarded: [UInt8] = []
        var taken: [String] = []
    }

    /// A session's worth of frames: what nghttp2 must get, and the updates
    /// the server takes (streams 0 and 1; stream 3 is one it does not hold).
    private static let session: (input: [UInt8], expected: Outcome) = {
        var input: [UInt8] = [], expected = Outcome()
        func pass(_ bytes: [UInt8]) { input += bytes; expected.forwarded += bytes }
        func take(_ stream: UInt32, _ increment: UInt32) {
            input += windowUpdate(stream: stream, increment: increment)
            expected.taken.append("\(stream)+\(increment)")
        }
        pass(preface)
        pass(frame(type: 0x4, stream: 0, payload: [0, 4, 0, 0, 0, 100]))  // SETTINGS
        take(0, 1_000)
        // HEADERS without END_HEADERS: a WINDOW_UPDATE before its
        // CONTINUATION is a connection error nghttp2 must see.
        pass(frame(type: 0x1, flags: 0x1, stream: 1, payload: Array(repeating: 0x82, count: 7)))
        pass(windowUpdate(stream: 1, increment: 5))
        pass(frame(type: 0x9, flags: 0x4, stream: 1, payload: [0x84]))
        take(1, 70_000)
        pass(frame(type: 0x0, stream: 1, payload: Array(0..<40)))  // DATA, with a WINDOW_UPDATE's type byte inside
        pass(windowUpdate(stream: 3, increment: 9))  // not held: forwarded
        take(1, 0x7fff_ffff)
        pass(windowUpdate(stream: 1, increment: 0))  // a zero increment is nghttp2's to refuse
        pass(frame(type: 0x8, stream: 1, payload: [0, 0, 0, 1, 0]))  // wrong length: nghttp2's FRAME_SIZE_ERROR
        pass(frame(type: 0x6, stream: 0, payload: Array(repeating: 7, count: 8)))  // PING
        pass(frame(type: 0x0, stream: 1, payload: []))  // empty DATA
        take(0, 1)
        // Reserved bits set on stream id and increment are dropped.
        input += [0, 0, 4, 0x8, 0, 0x80, 0, 0, 1, 0x80, 0, 0, 2]
        expected.taken.append("1+2")
        pass(frame(type: 0x1, flags: 0x5, stream: 5, payload: [0x82]))  // HEADERS with END_HEADERS
        take(5, 17)
        return (input, expected)
    }()

    private static func run(_ input: [UInt8], cutAt cuts: [Int]) -> Outcome {
        var splitter = InboundFrameSplitter()
        var outcome = Outcome()
        var start = 0
        for end in cuts + [input.count] where end >= start {
            input[start..<end].withUnsafeBytes { chunk in
                let ok = splitter.split(chunk) { piece in
                    switch piece {
                    case .bytes(let bytes):
                        outcome.forwarded += bytes
                        return .taken
                    case .windowUpdate(let stream, let increment):
                        guard stream != 3 && increment != 0 else { return .forward }
                        outcome.taken.append("\(stream)+\(increment)")
                        return .taken
                    }
                }
                #expect(ok)
            }
            start = end
        }
        return outcome
    }

    @Test func wholeInputIsSplitExactly() {
        #expect(Self.run(Self.session.input, cutAt: []) == Self.session.expected)
    }

    @Test func everySingleCutGivesTheSameSplit() {
        let input = Self.session.input
        for cut in 0...input.count {
            let outcome = Self.run(input, cutAt: [cut])
            #expect(outcome == Self.session.expected, "cut at byte \(cut)")
            if outcome != Self.session.expected { return }
        }
    }

    @Test func byteByByteGivesTheSameSplit() {
        let input = Self.session.input
        #expect(Self.run(input, cutAt: Array(1..<input.count)) == Self.session.expected)
    }

    /// Two cuts put a held frame header or WINDOW_UPDATE across three reads.
    @Test func everyPairOfCutsGivesTheSameSplit() {
        let input = Self.session.input
        for first in 1..<input.count {
            for second in (first + 1)..<input.count {
                let outcome = Self.run(input, cutAt: [first, second])
                #expect(outcome == Self.session.expected, "cuts at bytes \(first) and \(second)")
                if outcome != Self.session.expected { return }
            }
        }
    }

    @Test func aStopEndsTheSplit() {
        var splitter = InboundFrameSplitter()
        var pieces = 0
        let ok = Self.session.input.withUnsafeBytes { input in
            splitter.split(input) { _ in
                pieces += 1
                return .stop
            }
        }
        #expect(!ok)
        #expect(pieces == 1)
    }
}

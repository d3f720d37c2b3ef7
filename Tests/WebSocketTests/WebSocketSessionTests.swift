import CWslay
import Testing
@testable import WebSocket

@Suite struct SessionReceiveTests {
    @Test func textMessageIsDelivered() {
        let link = SessionHarness()
        link.server.queueText(#"{"e":"trade","s":"BTCUSDT"}"#)
        link.server.flush()
        #expect(link.session.receive() == .ok)
        #expect(link.delegate.events == [.frameStart, .text(#"{"e":"trade","s":"BTCUSDT"}"#)])
        #expect(link.session.wantsRead && !link.session.wantsWrite && !link.session.isFinished)
    }

    @Test func fragmentedTextIsReassembledAndDeliveredOnce() {
        let link = SessionHarness()
        link.server.queueFragmented(opcode: textOpcode, fragments: [Array(#"{"p":"#.utf8), Array("\"6".utf8), Array("5000.1\"}".utf8)])
        link.server.flush()
        let wire = frameHeaders(link.toClient.buffered)
        #expect(wire.map(\.opcode) == [textOpcode, 0, 0], "the server really sent three frames")
        #expect(wire.map(\.fin) == [false, false, true])
        #expect(link.session.receive() == .ok)
        #expect(link.delegate.texts == [#"{"p":"65000.1"}"#])
        #expect(link.delegate.frameStarts == 3)
    }

    @Test func pingBetweenFragmentsIsAnsweredAndTheMessageStaysWhole() {
        let link = SessionHarness()
        link.toClient.write(rawFrame(fin: false, opcode: textOpcode, Array("hel".utf8))
            + rawFrame(opcode: pingOpcode, [7, 7])
            + rawFrame(fin: true, opcode: 0, Array("lo".utf8)))
        #expect(link.session.receive() == .ok)
        #expect(link.delegate.texts == ["hello"])
        link.server.receive()
        #expect(link.server.messages == [.init(opcode: pongOpcode, payload: [7, 7])])
    }

    @Test func binaryMessageIsDelivered() {
        let link = SessionHarness()
        let payload = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        link.server.queueBinary(payload)
        link.server.flush()
        #expect(link.session.receive() == .ok)
        #expect(link.delegate.binaries == [payload])
    }

    @Test func serverPingIsAnsweredWithinTheSameReceive() {
        let link = SessionHarness()
        link.server.queuePing(Array("are you there".utf8))
        link.server.flush()
        #expect(link.session.receive() == .ok)
        #expect(link.delegate.events == [.frameStart], "a ping is only a liveness signal for the delegate")
        #expect(!link.session.wantsWrite, "the pong already left, without a flush() call")
        link.server.receive()
        #expect(link.server.messages == [.init(opcode: pongOpcode, payload: Array("are you there".utf8))])
    }

    @Test func severalMessagesInOneReadAreAllDelivered() {
        let link = SessionHarness()
        for index in 0..<50 { link.server.queueText("trade \(index)") }
        link.server.queuePing([1])
        link.server.queueBinary([0xFF])
        link.server.flush()
        #expect(link.session.receive() == .ok)
        #expect(link.delegate.texts == (0..<50).map { "trade \($0)" })
        #expect(link.delegate.binaries == [[0xFF]])
        #expect(link.delegate.frameStarts == 52)
    }

    @Test func leftoverFromTheHandshakeIsDeliveredBeforeTransportBytes() {
        // A separate real server produces the frames that came with the 101 response.
        let early = ByteChannel()
        let earlyServer = WslayTestServer(incoming: ByteChannel(), outgoing: early)
        earlyServer.queueText("first")
        earlyServer.queueText("second")
        earlyServer.flush()
        let frames = early.takeAll()
        let response = Array(switchingProtocols().utf8) + frames.prefix(5)
        var handshake = WebSocketHandshake(host: "stream.binance.com", port: 9443, target: "/ws", key: sampleKey)
        guard case .accepted(let leftover) = response.withUnsafeBytes({ handshake.consume($0) }) else {
            Issue.record("handshake not accepted")
            return
        }
        #expect(leftover == Array(frames.prefix(5)))
        let link = SessionHarness(leftover: leftover)
        link.toClient.write(Array(frames.dropFirst(5)))
        #expect(link.session.receive() == .ok)
        #expect(link.delegate.texts == ["first", "second"])
    }

    @Test func leftoverAloneIsDeliveredWithoutTouchingAnEmptyTransport() {
        let link = SessionHarness(leftover: rawFrame(opcode: textOpcode, Array("early".utf8)))
        #expect(link.session.receive() == .ok)
        #expect(link.delegate.texts == ["early"])
        #expect(link.transport.readCalls == 1, "one read, which said wouldBlock, after the leftover")
    }
}

@Suite struct SessionSendTests {
    @Test func clientFramesAreMaskedAndReachTheServer() {
        let link = SessionHarness()
        let subscribe = #"{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}"#
        #expect(link.session.sendText(subscribe))
        #expect(link.session.wantsWrite)
        #expect(link.session.flush() == .ok)
        #expect(!link.session.wantsWrite)
        let wire = frameHeaders(link.toServer.history)
        #expect(wire.count == 1 && wire[0].masked && wire[0].opcode == textOpcode && wire[0].length == subscribe.utf8.count)
        #expect(!link.toServer.history.contains(subsequence: Array("SUBSCRIBE".utf8)), "the payload is masked on the wire")
        // wslay's server fails the connection on an unmasked frame; delivery proves the mask.
        link.server.receive()
        #expect(link.server.messages == [.init(opcode: textOpcode, payload: Array(subscribe.utf8))])
        #expect(link.server.isReading)
    }

    @Test func clientPingReachesTheServerAndItsPongIsALivenessSignal() {
        let link = SessionHarness()
        #expect(link.session.sendPing([1, 2, 3]))
        #expect(link.session.flush() == .ok)
        link.server.receive()
        #expect(link.server.messages == [.init(opcode: pingOpcode, payload: [1, 2, 3])])
        #expect(link.session.receive() == .ok)
        #expect(link.delegate.events == [.frameStart], "the server's automatic pong")
        #expect(!link.session.sendPing([UInt8](repeating: 0, count: 126)), "control payloads stop at 125 bytes")
    }

    @Test func delegateMayQueueAReplyThatLeavesWithTheSameReceive() {
        let link = SessionHarness()
        link.delegate.onText = { session, text in _ = session.sendText("ack " + text) }
        link.server.queueText("one")
        link.server.queueText("two")
        link.server.flush()
        #expect(link.session.receive() == .ok)
        link.server.receive()
        #expect(link.server.messages.map(\.text) == ["ack one", "ack two"])
    }
}

@Suite struct SessionLifetimeTests {
    /// Holds the only strong reference, as the feed does.
    final class Owner { var session: WebSocketSession? }

    @Test func delegateMayDropTheSessionDuringACallback() {
        let toClient = ByteChannel()
        let toServer = ByteChannel()
        let server = WslayTestServer(incoming: toServer, outgoing: toClient)
        let delegate = RecordingDelegate()
        let owner = Owner()
        owner.session = WebSocketSession(transport: MemoryTransport(incoming: toClient, outgoing: toServer),
                                         leftover: [], delegate: delegate)
        weak let watched = owner.session
        delegate.onText = { _, _ in owner.session = nil }
        server.queueText("maintenance")
        server.queuePing([5])
        server.flush()
        #expect(watched?.receive() == .ok)
        #expect(watched == nil, "released once receive() returned")
        #expect(delegate.texts == ["maintenance"])
        server.receive()
        #expect(server.messages == [.init(opcode: pongOpcode, payload: [5])], "the rest of the batch was still handled")
    }
}

@Suite struct SessionCloseTests {
    @Test func clientInitiatedCloseHandshakeFinishes() {
        let link = SessionHarness()
        link.session.close(code: 1000, reason: "bye")
        link.session.close(code: 1001, reason: "second call does nothing")
        #expect(link.session.flush() == .ok)
        #expect(link.session.sentCloseCode == 1000)
        #expect(!link.session.isFinished, "still waiting for the server's close")
        #expect(!link.session.sendText("too late"))
        link.server.receive()
        #expect(link.server.receivedCloseCode == 1000 && link.server.receivedCloseReason == "bye")
        #expect(link.server.sentCloseCode == 1000, "wslay's server echoed the close")
        #expect(link.session.receive() == .ok)
        #expect(link.delegate.events == [.frameStart, .close(1000, "bye")])
        #expect(link.session.isFinished)
        #expect(link.session.receivedCloseCode == 1000)
        let reads = link.transport.readCalls
        #expect(link.session.receive() == .ok)
        #expect(link.transport.readCalls == reads, "a finished session does not read")
    }

    @Test func serverInitiatedCloseIsReportedAndAnswered() {
        let link = SessionHarness()
        link.server.queueText("last trade")
        // Flushed separately: wslay sends a queued close ahead of queued data.
        link.server.flush()
        link.server.queueClose(code: 1001, reason: "maintenance")
        link.server.flush()
        #expect(link.session.receive() == .ok)
        #expect(link.delegate.messages == [.text("last trade"), .close(1001, "maintenance")])
        #expect(link.session.isFinished, "the answering close left in the same receive()")
        #expect(link.session.sentCloseCode == 1001)
        link.server.receive()
        #expect(link.server.receivedCloseCode == 1001)
        #expect(!link.session.sendPing([]))
    }

    @Test func closeWithoutACodeIsReportedAs1005() {
        let link = SessionHarness()
        link.server.queueClose(code: 0)
        link.server.flush()
        #expect(link.session.receive() == .ok)
        #expect(link.delegate.closes == [.close(1005, "")])
        #expect(link.session.isFinished)
    }

    @Test func closeOvertakesUnsentText() {
        // wslay sends control frames before queued data and stops writing after a close.
        let link = SessionHarness()
        #expect(link.session.sendText("never sent"))
        link.session.close()
        #expect(link.session.flush() == .ok)
        #expect(frameHeaders(link.toServer.history).map(\.opcode) == [closeOpcode])
    }

    @Test func longCloseReasonIsCutAtACharacterBoundary() {
        let link = SessionHarness()
        let reason = String(repeating: "é", count: 100)   // 200 bytes of UTF-8
        link.session.close(code: 4000, reason: reason)
        #expect(link.session.flush() == .ok)
        link.server.receive()
        #expect(link.server.receivedCloseCode == 4000)
        #expect(link.server.receivedCloseReason == String(repeating: "é", count: 61))
    }
}

@Suite struct SessionTransportTests {
    /// Three messages of different header shapes (7-bit, 16-bit length) and a ping.
    func queueMixedTraffic(_ server: WslayTestServer) {
        server.queueText("a")
        server.queueBinary((0..<300).map { UInt8(truncatingIfNeeded: $0) })
        server.queuePing([9])
        server.queueText("hello")
        server.flush()
    }

    let expectedMessages: [RecordingDelegate.Event] = [
        .text("a"), .binary((0..<300).map { UInt8(truncatingIfNeeded: $0) }), .text("hello"),
    ]

    @Test func wouldBlockAtEveryByteBoundaryResumes() {
        let total: Int = {
            let probe = SessionHarness()
            queueMixedTraffic(probe.server)
            return probe.toClient.pendingCount
        }()
        for cut in 0...total {
            let link = SessionHarness()
            queueMixedTraffic(link.server)
            link.transport.readBudget = cut
            #expect(link.session.receive() == .ok)
            link.transport.readBudget = nil
            #expect(link.session.receive() == .ok)
            #expect(link.delegate.messages == expectedMessages, "cut at \(cut)")
            #expect(link.delegate.frameStarts == 4, "cut at \(cut)")
            link.server.receive()
            #expect(link.server.messages == [.init(opcode: pongOpcode, payload: [9])], "cut at \(cut)")
        }
    }

    @Test func oneByteReadsAreAllConsumedInOneReceive() {
        // wslay_event_recv returns after a read that ends inside a header; the
        // session must keep going, or bytes buffered in TLS would be stranded.
        let link = SessionHarness()
        queueMixedTraffic(link.server)
        link.transport.readChunkLimit = 1
        #expect(link.session.receive() == .ok)
        #expect(link.delegate.messages == expectedMessages)
        #expect(link.toClient.pendingCount == 0)
    }

    @Test func shortAndBlockedWritesResume() {
        let link = SessionHarness()
        let big = String(repeating: "0123456789", count: 1_000)
        link.transport.writeChunkLimit = 3
        link.transport.writeBudget = 5_000
        #expect(link.session.sendText(big))
        #expect(link.session.sendText("small"))
        #expect(link.session.flush() == .ok)
        #expect(link.session.wantsWrite, "blocked half-way")
        #expect(link.toServer.pendingCount == 5_000)
        link.transport.writeBudget = nil
        #expect(link.session.flush() == .ok)
        #expect(!link.session.wantsWrite)
        link.server.receive()
        #expect(link.server.messages.map(\.text) == [big, "small"])
    }

    @Test func endOfStreamReturnsClosed() {
        let link = SessionHarness()
        link.server.queueText("before the end")
        link.server.flush()
        link.toClient.isEndOfStream = true
        #expect(link.session.receive() == .closed)
        #expect(link.delegate.texts == ["before the end"])
        #expect(link.session.isFinished)
        #expect(link.session.receive() == .closed)
        #expect(link.session.flush() == .closed)
        #expect(!link.session.sendText("x"))
        #expect(link.toServer.history.isEmpty, "no close frame is written into a finished stream")
    }

    @Test func transportFailuresAreReported() {
        let reading = SessionHarness()
        reading.transport.readFailure = "connection reset by peer"
        #expect(reading.session.receive() == .failed("connection reset by peer"))
        #expect(reading.session.isFinished)

        let writing = SessionHarness()
        writing.transport.writeFailure = "broken pipe"
        #expect(writing.session.sendText("x"))
        #expect(writing.session.flush() == .failed("broken pipe"))
        #expect(writing.session.isFinished)
        #expect(writing.session.receive() == .failed("broken pipe"))

        let closing = SessionHarness()
        closing.transport.writeClosed = true
        closing.server.queuePing([1])
        closing.server.flush()
        #expect(closing.session.receive() == .closed, "the pong found the stream closed")
    }
}

@Suite struct SessionProtocolErrorTests {
    @Test func maskedServerFrameFailsTheSessionWith1002() {
        let link = SessionHarness()
        link.toClient.write(rawFrame(opcode: textOpcode, Array("hi".utf8), mask: [1, 2, 3, 4]))
        let result = link.session.receive()
        #expect(result == .failed("peer violated the WebSocket protocol; sent close 1002"))
        #expect(link.delegate.texts.isEmpty)
        #expect(link.session.isFinished)
        link.server.receive()
        #expect(link.server.receivedCloseCode == 1002)
    }

    @Test func oversizedControlFrameFailsTheSession() {
        let link = SessionHarness()
        link.toClient.write([0x89, 126, 0, 200] + [UInt8](repeating: 0, count: 200))
        guard case .failed = link.session.receive() else {
            Issue.record("a 200-byte ping must fail the session")
            return
        }
        #expect(!link.session.wantsRead)
    }

    @Test func messageOverTheLimitIsRefusedWith1009() {
        let link = SessionHarness()
        link.server.queueBinary([UInt8](repeating: 1, count: WebSocketSession.maximumMessageLength + 1))
        link.server.flush()
        #expect(link.session.receive() == .failed("peer sent a message over 1048576 bytes; sent close 1009"))
        #expect(link.delegate.binaries.isEmpty)
        link.server.receive()
        #expect(link.server.receivedCloseCode == 1009)
    }

    @Test func invalidUTF8TextIsRefusedWith1007() {
        let link = SessionHarness()
        link.toClient.write(rawFrame(opcode: textOpcode, [0xC3, 0x28]))
        #expect(link.session.receive() == .failed("peer sent invalid UTF-8; sent close 1007"))
        #expect(link.delegate.texts.isEmpty)
    }

    @Test func opcodeLiteralsMatchWslay() {
        #expect(Opcode.text == UInt8(WSLAY_TEXT_FRAME.rawValue))
        #expect(Opcode.binary == UInt8(WSLAY_BINARY_FRAME.rawValue))
        #expect(Opcode.close == UInt8(WSLAY_CONNECTION_CLOSE.rawValue))
        #expect(Opcode.ping == UInt8(WSLAY_PING.rawValue))
        #expect(Opcode.pong == UInt8(WSLAY_PONG.rawValue))
        #expect(Opcode.continuation == UInt8(WSLAY_CONTINUATION_FRAME.rawValue))
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard subsequence.count <= count else { return false }
        return (0...(count - subsequence.count)).contains { self[$0..<($0 + subsequence.count)].elementsEqual(subsequence) }
    }
}

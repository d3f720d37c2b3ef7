import Testing
@testable import WebSocket

/// "the sample nonce": the 16 bytes behind RFC 6455's example key.
let sampleKey = Array("the sample nonce".utf8)

/// Feeds `bytes` to `handshake` in pieces cut at `cuts`, returning every progress report.
func feed(_ handshake: inout WebSocketHandshake, _ bytes: [UInt8], cuts: [Int]) -> [HandshakeProgress] {
    var results: [HandshakeProgress] = []
    var start = 0
    for end in cuts + [bytes.count] where end >= start {
        let piece = Array(bytes[start..<end])
        start = end
        let progress = piece.withUnsafeBytes { handshake.consume($0) }
        results.append(progress)
        if progress != .needMore { break }
    }
    return results
}

func consumeAll(_ response: String, key: [UInt8] = sampleKey) -> HandshakeProgress {
    var handshake = WebSocketHandshake(host: "stream.binance.com", port: 9443, target: "/ws", key: key)
    return feed(&handshake, Array(response.utf8), cuts: []).last!
}

func switchingProtocols(accept: String = WebSocketHandshake.acceptValue(forEncodedKey: "dGhlIHNhbXBsZSBub25jZQ==")) -> String {
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(accept)\r\n\r\n"
}

@Suite struct HandshakeRequestTests {
    @Test func rfc6455SampleKeyGivesTheSampleAccept() {
        // RFC 6455 section 1.3.
        #expect(WebSocketHandshake.acceptValue(forEncodedKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        let handshake = WebSocketHandshake(host: "server.example.com", port: 443, target: "/chat", key: sampleKey)
        #expect(handshake.encodedKey == "dGhlIHNhbXBsZSBub25jZQ==")
        #expect(handshake.expectedAccept == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func requestCarriesHostWithPortAndTheUpgradeHeaders() {
        let handshake = WebSocketHandshake(host: "stream.binance.com", port: 9443,
                                           target: "/stream?streams=btcusdt@trade/ethusdt@trade", key: sampleKey)
        let expected = "GET /stream?streams=btcusdt@trade/ethusdt@trade HTTP/1.1\r\n"
            + "Host: stream.binance.com:9443\r\n"
            + "Upgrade: websocket\r\n"
            + "Connection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            + "Sec-WebSocket-Version: 13\r\n"
            + "User-Agent: tickwire\r\n"
            + "\r\n"
        #expect(String(decoding: handshake.request, as: UTF8.self) == expected)
        #expect(handshake.request.suffix(4) == Array("\r\n\r\n".utf8))
    }

    @Test func defaultPortIsLeftOutOfHostAndIPv6IsBracketed() {
        let standard = WebSocketHandshake(host: "stream.binance.com", port: 443, target: "/ws", key: sampleKey)
        let text = String(decoding: standard.request, as: UTF8.self)
        #expect(text.hasPrefix("GET /ws HTTP/1.1\r\nHost: stream.binance.com\r\n"))
        let literal = WebSocketHandshake(host: "::1", port: 8443, target: "", key: sampleKey)
        #expect(String(decoding: literal.request, as: UTF8.self).hasPrefix("GET / HTTP/1.1\r\nHost: [::1]:8443\r\n"))
    }

    @Test func randomKeysAreSixteenBytesAndDiffer() {
        let keys = (0..<8).map { _ in WebSocketHandshake.randomKey() }
        #expect(keys.allSatisfy { $0.count == 16 })
        #expect(Set(keys.map { $0.description }).count == keys.count)
        let encoded = WebSocketHandshake(host: "h", port: 443, target: "/", key: keys[0]).encodedKey
        #expect(encoded.utf8.count == 24 && encoded.hasSuffix("=="))
    }
}

@Suite struct HandshakeResponseTests {
    @Test func acceptedWhenDeliveredByteByByteWithLeftover() {
        let frame: [UInt8] = [0x81, 0x02, 0x68, 0x69]
        let response = Array(switchingProtocols().utf8) + frame
        var handshake = WebSocketHandshake(host: "stream.binance.com", port: 9443, target: "/ws", key: sampleKey)
        // One byte at a time up to the head's last byte, which arrives with the frame.
        let headLength = response.count - frame.count
        let results = feed(&handshake, response, cuts: Array(1..<headLength))
        #expect(results.count == headLength)
        #expect(results.dropLast().allSatisfy { $0 == .needMore })
        #expect(results.last == .accepted(leftover: frame))
    }

    @Test func everySplitPointGivesTheSameLeftover() {
        let frame: [UInt8] = [0x81, 0x03, 0x61, 0x62, 0x63]
        let response = Array(switchingProtocols().utf8) + frame
        for cut in 0...response.count {
            var handshake = WebSocketHandshake(host: "stream.binance.com", port: 9443, target: "/ws", key: sampleKey)
            let results = feed(&handshake, response, cuts: [cut])
            // Bytes not yet fed stay in the transport; with the leftover they must make up the frame.
            let fed = cut < response.count - frame.count ? response.count : cut
            guard case .accepted(let leftover)? = results.last else {
                Issue.record("cut at \(cut): \(results)")
                continue
            }
            #expect(leftover + response[fed...] == frame, "cut at \(cut)")
        }
    }

    @Test func headerNamesAreCaseInsensitiveAndConnectionIsATokenList() {
        let accept = WebSocketHandshake.acceptValue(forEncodedKey: "dGhlIHNhbXBsZSBub25jZQ==")
        let response = "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nCONNECTION: keep-alive, Upgrade\r\n"
            + "Date: Tue, 25 Nov 2025 16:00:00 GMT\r\nsec-websocket-accept:\(accept)  \r\n\r\n"
        #expect(consumeAll(response) == .accepted(leftover: []))
    }

    @Test func serviceUnavailableCarriesRetryAfter() {
        let response = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n"
        #expect(consumeAll(response) == .rejected(HandshakeRejection(
            statusCode: 503, reason: "HTTP 503 Service Unavailable", retryAfterSeconds: 7)))
    }

    @Test(arguments: [
        ("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 120\r\n\r\n", 429, "HTTP 429 Too Many Requests", 120),
        ("HTTP/1.1 418 I'm a teapot\r\nRetry-After: 3600\r\n\r\n", 418, "HTTP 418 I'm a teapot", 3600),
        ("HTTP/1.1 418 \r\n\r\n", 418, "HTTP 418", nil),
        ("HTTP/1.1 503 Service Unavailable\r\nRetry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n",
         503, "HTTP 503 Service Unavailable", nil),
        ("HTTP/1.1 200 OK\r\n\r\n", 200, "HTTP 200 OK", nil),
    ] as [(String, Int, String, Int?)])
    func nonSwitchingStatusIsRejected(response: String, status: Int, reason: String, retryAfter: Int?) {
        #expect(consumeAll(response) == .rejected(HandshakeRejection(
            statusCode: status, reason: reason, retryAfterSeconds: retryAfter)))
    }

    @Test(arguments: [
        (switchingProtocols(accept: "AAAAAAAAAAAAAAAAAAAAAAAAAAA="), "Sec-WebSocket-Accept does not match the key"),
        ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
         "missing Sec-WebSocket-Accept"),
        ("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
         "missing Upgrade: websocket"),
        ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
         "missing Upgrade: websocket"),
        ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
         "missing Connection: Upgrade"),
        ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
         "server selected an extension we did not offer: permessage-deflate"),
    ])
    func invalidUpgradeIsRejected(response: String, reason: String) {
        #expect(consumeAll(response) == .rejected(HandshakeRejection(statusCode: 101, reason: reason)))
    }

    @Test func acceptForADifferentKeyIsRejected() {
        let otherKey = Array("another nonce!!!".utf8)
        #expect(consumeAll(switchingProtocols(), key: otherKey)
            == .rejected(HandshakeRejection(statusCode: 101, reason: "Sec-WebSocket-Accept does not match the key")))
    }

    @Test func nonHTTPIsRejectedWithoutWaitingForAHeaderEnd() {
        let notHTTP = HandshakeProgress.rejected(HandshakeRejection(statusCode: nil, reason: "not an HTTP response"))
        #expect(consumeAll("SSH-2.0-OpenSSH_9.6\r\n") == notHTTP)
        #expect(consumeAll("\u{16}\u{03}\u{01}\u{00}") == notHTTP, "a TLS record where HTTP was expected")
        #expect(consumeAll("HTTP/1.1 abc Nonsense\r\n\r\n") == notHTTP)
        #expect(consumeAll("HTTP/1.1 101 Switching Protocols\r\nno colon here\r\n\r\n")
            == .rejected(HandshakeRejection(statusCode: 101, reason: "malformed header line in HTTP 101 response")))
        // A prefix of "HTTP/" is not judged early.
        var handshake = WebSocketHandshake(host: "h", port: 443, target: "/", key: sampleKey)
        #expect(feed(&handshake, Array("HTT".utf8), cuts: []) == [.needMore])
    }

    @Test func headerUpToTheLimitIsAcceptedAndOneByteMoreIsRejected() {
        let base = switchingProtocols()
        let filler = "X-Pad: \r\n"
        let paddingLength = WebSocketHandshake.maximumHeaderLength - base.utf8.count - filler.utf8.count
        let pad = String(repeating: "a", count: paddingLength)
        let atLimit = base.replacingFirst("\r\n\r\n", with: "\r\nX-Pad: \(pad)\r\n\r\n")
        #expect(atLimit.utf8.count == WebSocketHandshake.maximumHeaderLength)
        #expect(consumeAll(atLimit) == .accepted(leftover: []))

        let oversized = HandshakeProgress.rejected(HandshakeRejection(statusCode: nil, reason: "response header exceeds 16384 bytes"))
        let overLimit = base.replacingFirst("\r\n\r\n", with: "\r\nX-Pad: \(pad)a\r\n\r\n")
        #expect(consumeAll(overLimit) == oversized)
        // A header that never ends is cut off at the limit, however it arrives.
        var handshake = WebSocketHandshake(host: "h", port: 443, target: "/", key: sampleKey)
        let endless = Array(("HTTP/1.1 200 OK\r\nX-Pad: " + String(repeating: "b", count: 20_000)).utf8)
        let results = feed(&handshake, endless, cuts: Array(stride(from: 1000, to: endless.count, by: 1000)))
        #expect(results.last == oversized)
        #expect(results.count == 17, "rejected as soon as 16 KiB arrived without an end")
    }
}

extension String {
    /// Replaces the first occurrence of `target` (tests only; no Foundation).
    func replacingFirst(_ target: String, with replacement: String) -> String {
        replacing(target, with: replacement, maxReplacements: 1)
    }
}

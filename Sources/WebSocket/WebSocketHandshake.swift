/// RFC 6455 opening handshake, client side: builds the upgrade request and
/// judges the server's response as its bytes arrive.
public struct WebSocketHandshake {
    /// A response head longer than this is refused, so a hostile or broken
    /// server cannot make us buffer without bound.
    public static let maximumHeaderLength = 16_384
    /// RFC 6455 section 1.3: appended to the key before hashing.
    static let acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    static let keyLength = 16

    /// The full HTTP/1.1 GET Upgrade request, ready to write.
    public let request: [UInt8]
    /// The Sec-WebSocket-Key header value: base64 of the 16 key bytes.
    public let encodedKey: String
    /// The Sec-WebSocket-Accept value a genuine WebSocket server must answer with.
    public let expectedAccept: String

    private var response: [UInt8] = []
    /// Where the search for the head's end resumes, so byte-by-byte delivery stays linear.
    private var scanStart = 0
    private var isSettled = false

    /// - Parameters:
    ///   - target: path plus "?" and query, e.g. "/stream?streams=btcusdt@trade".
    ///   - key: 16 bytes, normally from `randomKey()`; fixed only in tests.
    public init(host: String, port: Int, target: String, key: [UInt8]) {
        precondition(key.count == Self.keyLength, "Sec-WebSocket-Key must encode exactly 16 bytes")
        precondition((1...65_535).contains(port), "port \(port) is out of range")
        // A CR, LF or space here would let configuration inject header lines.
        precondition(!host.isEmpty && !host.utf8.contains(where: Self.isForbiddenInRequestLine), "invalid host")
        precondition(!target.utf8.contains(where: Self.isForbiddenInRequestLine), "invalid request target")
        encodedKey = HandshakeCrypto.base64(key)
        expectedAccept = Self.acceptValue(forEncodedKey: encodedKey)
        request = Array(Self.requestText(host: host, port: port, target: target, encodedKey: encodedKey).utf8)
    }

    /// 16 fresh bytes from OpenSSL's CSPRNG, as RFC 6455 section 4.1 asks.
    public static func randomKey() -> [UInt8] {
        HandshakeCrypto.randomBytes(count: keyLength)
    }

    /// base64(SHA-1(key + GUID)), the value a server proves it read our key with.
    public static func acceptValue(forEncodedKey encodedKey: String) -> String {
        HandshakeCrypto.base64(HandshakeCrypto.sha1(Array((encodedKey + acceptGUID).utf8)))
    }

    /// Feeds response bytes as they arrive, split anywhere. Call again only after `.needMore`.
    public mutating func consume(_ bytes: UnsafeRawBufferPointer) -> HandshakeProgress {
        precondition(!isSettled, "consume() called after the handshake was accepted or rejected")
        response.append(contentsOf: bytes)
        if !HTTPResponseHead.couldBeHTTP(response.prefix(5)) {
            return settle(.rejected(HTTPResponseHead.notHTTP))
        }
        guard let headEnd = findHeadEnd() else {
            // Without a terminator in the first maximumHeaderLength bytes, the head is too long.
            if response.count >= Self.maximumHeaderLength { return settle(.rejected(Self.oversized)) }
            scanStart = max(0, response.count - 3)
            return .needMore
        }
        let headLength = headEnd + 4
        if headLength > Self.maximumHeaderLength { return settle(.rejected(Self.oversized)) }
        let leftover = Array(response[headLength...])
        return settle(judge(response[0..<headEnd], leftover: leftover))
    }

    private static let oversized = HandshakeRejection(
        statusCode: nil, reason: "response header exceeds \(maximumHeaderLength) bytes")

    private mutating func settle(_ progress: HandshakeProgress) -> HandshakeProgress {
        isSettled = true
        response = []
        return progress
    }

    /// Index of the CR that starts the head's closing CRLF CRLF.
    private func findHeadEnd() -> Int? {
        var index = scanStart
        while index + 3 < response.count {
            if response[index] == ASCII.carriageReturn, response[index + 1] == ASCII.lineFeed,
               response[index + 2] == ASCII.carriageReturn, response[index + 3] == ASCII.lineFeed {
                return index
            }
            index += 1
        }
        return nil
    }

    private func judge(_ head: ArraySlice<UInt8>, leftover: [UInt8]) -> HandshakeProgress {
        let parsed: HTTPResponseHead
        switch HTTPResponseHead.parse(head) {
        case .malformed(let rejection): return .rejected(rejection)
        case .head(let head): parsed = head
        }
        guard parsed.statusCode == 101 else {
            let reason = parsed.reasonPhrase.isEmpty
                ? "HTTP \(parsed.statusCode)" : "HTTP \(parsed.statusCode) \(parsed.reasonPhrase)"
            return .rejected(HandshakeRejection(statusCode: parsed.statusCode, reason: reason,
                                                retryAfterSeconds: Self.retryAfterSeconds(parsed.fields["retry-after"])))
        }
        if let problem = upgradeProblem(parsed.fields) {
            return .rejected(HandshakeRejection(statusCode: 101, reason: problem))
        }
        return .accepted(leftover: leftover)
    }

    /// What makes a 101 response unacceptable (RFC 6455 section 4.1, client steps 2 to 6).
    private func upgradeProblem(_ fields: [String: String]) -> String? {
        guard Self.tokens(fields["upgrade"]).contains("websocket") else { return "missing Upgrade: websocket" }
        guard Self.tokens(fields["connection"]).contains("upgrade") else { return "missing Connection: Upgrade" }
        guard let accept = fields["sec-websocket-accept"] else { return "missing Sec-WebSocket-Accept" }
        guard accept == expectedAccept else { return "Sec-WebSocket-Accept does not match the key" }
        // We offered neither extensions nor subprotocols, so the server may not select any.
        if let extensions = fields["sec-websocket-extensions"], !extensions.isEmpty {
            return "server selected an extension we did not offer: \(extensions)"
        }
        if let subprotocol = fields["sec-websocket-protocol"], !subprotocol.isEmpty {
            return "server selected a subprotocol we did not offer: \(subprotocol)"
        }
        return nil
    }

    /// A comma-separated token list, lower-cased and trimmed.
    private static func tokens(_ value: String?) -> [String] {
        guard let value else { return [] }
        return value.utf8.split(separator: UInt8(ascii: ",")).map {
            String(decoding: ASCII.trimmingWhitespace($0), as: UTF8.self).lowercased()
        }
    }

    /// Retry-After as delta-seconds; an HTTP-date or garbage gives nil.
    private static func retryAfterSeconds(_ value: String?) -> Int? {
        guard let value, !value.isEmpty, value.utf8.allSatisfy(ASCII.isDigit) else { return nil }
        return Int(value)
    }

    private static func isForbiddenInRequestLine(_ byte: UInt8) -> Bool {
        byte == ASCII.carriageReturn || byte == ASCII.lineFeed || byte == ASCII.space || byte == 0
    }

    private static func requestText(host: String, port: Int, target: String, encodedKey: String) -> String {
        // An IPv6 literal needs brackets in Host (RFC 3986 section 3.2.2).
        let hostName = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        // 443 is the default port of wss, so RFC 6455 section 4.1 leaves it out.
        let authority = port == 443 ? hostName : "\(hostName):\(port)"
        let path = target.isEmpty ? "/" : target
        return "GET \(path) HTTP/1.1\r\n"
            + "Host: \(authority)\r\n"
            + "Upgrade: websocket\r\n"
            + "Connection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(encodedKey)\r\n"
            + "Sec-WebSocket-Version: 13\r\n"
            + "User-Agent: tickwire\r\n"
            + "\r\n"
    }
}

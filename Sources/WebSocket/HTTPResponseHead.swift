/// The parts of an HTTP/1.x response head that the WebSocket upgrade reads.
/// Parsed once per connection attempt, so clarity wins over speed here.
struct HTTPResponseHead: Equatable {
    /// What parsing produced.
    enum Parsed: Equatable {
        /// A well-formed status line and header fields.
        case head(HTTPResponseHead)
        /// Not HTTP, or HTTP we refuse to interpret.
        case malformed(HandshakeRejection)
    }

    static let notHTTP = HandshakeRejection(statusCode: nil, reason: "not an HTTP response")

    var statusCode: Int
    var reasonPhrase: String
    /// Field values by lower-cased name; repeats are joined with ", " as RFC 9110 section 5.3 allows.
    var fields: [String: String]

    /// True if `prefix` (the first bytes of a response) can still become "HTTP/".
    /// Lets a non-HTTP peer be rejected at once instead of after 16 KiB.
    static func couldBeHTTP(_ prefix: ArraySlice<UInt8>) -> Bool {
        let expected: [UInt8] = Array("HTTP/".utf8)
        return zip(prefix, expected).allSatisfy { $0 == $1 }
    }

    /// Parses a response head, without its terminating empty line.
    static func parse(_ head: ArraySlice<UInt8>) -> Parsed {
        var lines = head.split(separator: ASCII.lineFeed, omittingEmptySubsequences: false)
            .map { $0.last == ASCII.carriageReturn ? $0.dropLast() : $0 }
        guard !lines.isEmpty, let status = parseStatusLine(lines.removeFirst()) else {
            return .malformed(notHTTP)
        }
        var fields: [String: String] = [:]
        for line in lines {
            guard let (name, value) = parseField(line) else {
                return .malformed(HandshakeRejection(statusCode: status.code, reason: "malformed header line in HTTP \(status.code) response"))
            }
            if let earlier = fields[name] {
                fields[name] = earlier + ", " + value
            } else {
                fields[name] = value
            }
        }
        return .head(HTTPResponseHead(statusCode: status.code, reasonPhrase: status.reason, fields: fields))
    }

    /// "HTTP/1.1 503 Service Unavailable" -> (503, "Service Unavailable").
    private static func parseStatusLine(_ line: ArraySlice<UInt8>) -> (code: Int, reason: String)? {
        guard line.starts(with: Array("HTTP/1.".utf8)) else { return nil }
        let parts = line.split(separator: ASCII.space, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[1].count == 3, parts[1].allSatisfy(ASCII.isDigit) else { return nil }
        let code = parts[1].reduce(0) { $0 * 10 + Int($1 - ASCII.zero) }
        let reason = parts.count == 3 ? String(decoding: parts[2], as: UTF8.self) : ""
        return (code, reason)
    }

    /// "Name: value" -> ("name", "value"); nil for a line without a valid name.
    private static func parseField(_ line: ArraySlice<UInt8>) -> (String, String)? {
        guard let colon = line.firstIndex(of: ASCII.colon) else { return nil }
        let name = line[line.startIndex..<colon]
        // RFC 9112 section 5.1: no whitespace between the name and the colon.
        guard !name.isEmpty, !name.contains(where: ASCII.isWhitespace) else { return nil }
        let value = ASCII.trimmingWhitespace(line[line.index(after: colon)...])
        return (String(decoding: name, as: UTF8.self).lowercased(), String(decoding: value, as: UTF8.self))
    }
}

/// The few ASCII bytes HTTP parsing needs, named.
enum ASCII {
    static let lineFeed: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let zero: UInt8 = 0x30

    static func isDigit(_ byte: UInt8) -> Bool { byte >= zero && byte <= zero + 9 }
    static func isWhitespace(_ byte: UInt8) -> Bool { byte == space || byte == tab }

    static func trimmingWhitespace(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        guard let first = bytes.firstIndex(where: { !isWhitespace($0) }),
              let last = bytes.lastIndex(where: { !isWhitespace($0) }) else { return [] }
        return bytes[first...last]
    }
}

/// What a scraper's request turned out to be, judged from the bytes read so
/// far. Pure, so every split of the input can be tested without a socket.
///
/// Only the request line decides the answer; header lines are checked for
/// shape (a name, then a colon) and otherwise ignored: a scrape has no body
/// and nothing in its headers changes the response.
public enum ScrapeRequest: Equatable, Sendable {
    /// The header block has not ended yet; read more.
    case incomplete
    /// `GET /metrics` (any query string): serve the exposition.
    case metrics
    /// A well-formed request for anything else.
    case notFound
    /// Not HTTP/1.x: answer 400 and close.
    case malformed
    /// No end of the header block within `maxHeaderBytes`: answer 400 and close.
    case tooLarge

    /// The longest header block (request line included) a scraper may send.
    public static let maxHeaderBytes = 8 * 1024

    public static func parse(_ bytes: UnsafeRawBufferPointer) -> ScrapeRequest {
        guard let headerEnd = find(crlfcrlf, in: bytes) else {
            // Judge the request line as soon as it is complete (or as soon as
            // it holds a byte no request line may hold), so garbage gets its
            // 400 without waiting for a header block that will never end.
            if let lineEnd = find(crlf, in: bytes) {
                if requestLineTarget(UnsafeRawBufferPointer(rebasing: bytes[..<lineEnd])) == nil { return .malformed }
            } else if bytes.contains(where: { !isLineByte($0) && $0 != cr }) {
                return .malformed
            }
            return bytes.count >= maxHeaderBytes ? .tooLarge : .incomplete
        }
        guard headerEnd + 4 <= maxHeaderBytes else { return .tooLarge }
        let head = UnsafeRawBufferPointer(rebasing: bytes[..<headerEnd])
        let lineEnd = find(crlf, in: head) ?? head.count
        guard let route = requestLineTarget(UnsafeRawBufferPointer(rebasing: head[..<lineEnd])),
              headerLinesWellFormed(UnsafeRawBufferPointer(rebasing: head[lineEnd...])) else { return .malformed }
        return route ? .metrics : .notFound
    }

    // MARK: Request line

    /// nil when the line is not `METHOD SP /target SP HTTP/1.x`; otherwise
    /// whether it asks for GET /metrics.
    private static func requestLineTarget(_ line: UnsafeRawBufferPointer) -> Bool? {
        let parts = line.split(separator: space, omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        let method = parts[0], target = parts[1], version = parts[2]
        guard !method.isEmpty, method.allSatisfy(isTokenByte),
              target.first == slash, target.allSatisfy({ isLineByte($0) && $0 != space }),
              version.elementsEqual(http10) || version.elementsEqual(http11) else { return nil }
        let path = target.prefix { $0 != question }
        return method.elementsEqual(get) && path.elementsEqual(metricsPath)
    }

    /// Every line after the request line is `name: value` with a token name.
    private static func headerLinesWellFormed(_ block: UnsafeRawBufferPointer) -> Bool {
        var rest = block[...]
        while !rest.isEmpty {
            guard rest.starts(with: crlf) else { return false }
            rest = rest.dropFirst(2)
            let line = rest.prefix { $0 != cr }
            rest = rest.dropFirst(line.count)
            guard let colon = line.firstIndex(of: colon), colon > line.startIndex,
                  line[..<colon].allSatisfy(isTokenByte),
                  line[colon...].allSatisfy({ isLineByte($0) || $0 == tab }) else { return false }
        }
        return true
    }

    // MARK: Bytes

    private static func find(_ needle: [UInt8], in bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        for start in 0...(bytes.count - needle.count)
            where bytes[start] == needle[0] && bytes[start..<start + needle.count].elementsEqual(needle) {
            return start
        }
        return nil
    }

    /// RFC 9110 tchar: what method and header names are made of.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// Printable ASCII and space: anything else in a request line is not HTTP.
    private static func isLineByte(_ byte: UInt8) -> Bool { byte >= 0x20 && byte < 0x7F }

    private static let cr = UInt8(ascii: "\r")
    private static let tab = UInt8(ascii: "\t")
    private static let space = UInt8(ascii: " ")
    private static let slash = UInt8(ascii: "/")
    private static let question = UInt8(ascii: "?")
    private static let colon = UInt8(ascii: ":")
    private static let crlf: [UInt8] = [0x0D, 0x0A]
    private static let crlfcrlf: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
    private static let get = Array("GET".utf8)
    private static let metricsPath = Array("/metrics".utf8)
    private static let http10 = Array("HTTP/1.0".utf8)
    private static let http11 = Array("HTTP/1.1".utf8)
}

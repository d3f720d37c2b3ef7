/// A `HOST:PORT` the user asked us to listen on: `0.0.0.0:50051`,
/// `127.0.0.1:0` (any free port), `[::1]:50051` or `localhost:50051`.
public struct ListenAddress: Equatable, Sendable, CustomStringConvertible {
    public let host: String
    public let port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    public enum ParseError: Error, CustomStringConvertible, Equatable {
        case missingPort(String)
        case badPort(String)
        case emptyHost(String)

        public var description: String {
            switch self {
            case .missingPort(let text): return "'\(text)' has no port; write HOST:PORT, e.g. 0.0.0.0:50051"
            case .badPort(let text): return "'\(text)' has a port that is not a number from 0 to 65535"
            case .emptyHost(let text): return "'\(text)' has no host; write HOST:PORT, e.g. 0.0.0.0:50051"
            }
        }
    }

    public init(parsing text: String) throws(ParseError) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            // [IPv6]:port
            guard let close = text.firstIndex(of: "]"),
                  text.index(after: close) < text.endIndex,
                  text[text.index(after: close)] == ":" else { throw .missingPort(text) }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .missingPort(text) }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { throw .emptyHost(text) }
        guard let port = UInt16(portPart) else { throw .badPort(text) }
        self.init(host: String(hostPart), port: port)
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

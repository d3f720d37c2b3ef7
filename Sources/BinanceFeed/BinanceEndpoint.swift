import MarketData

/// Where the live feed connects: `--binance-url` taken apart, plus the
/// combined-stream query built from the served symbols.
public struct BinanceEndpoint: Equatable, Sendable, CustomStringConvertible {
    public struct URLError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public let host: String
    public let port: UInt16
    public let path: String

    /// Parses `wss://host[:port]/path`. Only wss: the feed is never plaintext.
    public init(url: String) throws(URLError) {
        let scheme = "wss://"
        guard url.lowercased().hasPrefix(scheme) else {
            throw URLError(description: "'\(url)' must start with wss:// (the Binance feed always uses TLS)")
        }
        let rest = url.dropFirst(scheme.count)
        guard !rest.contains("?"), !rest.contains("#") else {
            throw URLError(description: "'\(url)' must not carry a query: tickwire appends ?streams=… itself")
        }
        let authority = rest.prefix(while: { $0 != "/" })
        let path = rest.dropFirst(authority.count)
        var host = Substring(authority)
        var port: UInt16 = 443
        if host.hasPrefix("[") {  // [IPv6]:port
            guard let close = host.firstIndex(of: "]") else {
                throw URLError(description: "'\(url)': unterminated IPv6 address")
            }
            let after = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let parsed = UInt16(after.dropFirst()), parsed > 0 else {
                    throw URLError(description: "'\(url)': the port must be a number from 1 to 65535")
                }
                port = parsed
            }
        } else if let colon = host.lastIndex(of: ":") {
            guard let parsed = UInt16(host[host.index(after: colon)...]), parsed > 0 else {
                throw URLError(description: "'\(url)': the port must be a number from 1 to 65535")
            }
            port = parsed
            host = host[..<colon]
        }
        guard !host.isEmpty else { throw URLError(description: "'\(url)' has no host") }
        self.host = String(host)
        self.port = port
        self.path = path.isEmpty ? "/" : String(path)
    }

    /// The request target for the combined stream of `symbols`:
    /// `/stream?streams=btcusdt@trade/ethusdt@trade`.
    public func target(symbols: SymbolTable, stream: TradeStreamKind) -> String {
        path + "?streams=" + symbols.lowerCased.map { "\($0)@\(stream.rawValue)" }.joined(separator: "/")
    }

    public var description: String { url(target: path) }

    /// `wss://host:port` followed by `target` (a path with its query).
    public func url(target: String) -> String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "wss://\(shownHost):\(port)\(target)"
    }
}

/// Which Binance stream carries the trades.
public enum TradeStreamKind: String, Sendable, CaseIterable {
    /// Every trade, with consecutive ids per symbol.
    case trade
    /// Trades aggregated per taker order; aggregate ids are consecutive too.
    case aggTrade
}

/// The symbols this server serves, fixed at startup. Lookups compare raw
/// bytes against a handful of entries, which beats hashing at this size.
public struct SymbolTable: Sendable {
    public enum ConfigurationError: Error, CustomStringConvertible, Equatable {
        case empty
        case invalid(String)
        case duplicate(String)

        public var description: String {
            switch self {
            case .empty: return "no symbols given; pass e.g. --symbols btcusdt,ethusdt"
            case .invalid(let symbol): return "'\(symbol)' is not a symbol: use 2 to 20 letters and digits, e.g. btcusdt"
            case .duplicate(let symbol): return "'\(symbol)' is listed twice"
            }
        }
    }

    /// Upper case, as Binance's "s" field and PriceUpdate.symbol carry them.
    public let upperCased: [String]
    private let upperBytes: [[UInt8]]

    public init(_ symbols: [String]) throws(ConfigurationError) {
        guard !symbols.isEmpty else { throw .empty }
        var seen: [String] = []
        for raw in symbols {
            let symbol = raw.uppercased()
            guard (2...20).contains(symbol.utf8.count),
                  symbol.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) }) else {
                throw .invalid(raw)
            }
            guard !seen.contains(symbol) else { throw .duplicate(raw) }
            seen.append(symbol)
        }
        upperCased = seen
        upperBytes = seen.map { Array($0.utf8) }
    }

    /// Parses `btcusdt,ethusdt` (any case, spaces ignored).
    public init(list: String) throws(ConfigurationError) {
        try self.init(list.split(separator: ",").map { $0.trimmingCharacters() }.filter { !$0.isEmpty })
    }

    public var count: Int { upperCased.count }

    /// Lower case, as Binance's stream names want them.
    public var lowerCased: [String] { upperCased.map { $0.lowercased() } }

    public func index(ofUpperCaseBytes bytes: UnsafeRawBufferPointer) -> Int? {
        for (index, candidate) in upperBytes.enumerated() where candidate.count == bytes.count {
            if candidate.withUnsafeBytes({ $0.elementsEqual(bytes) }) { return index }
        }
        return nil
    }

    /// Case-insensitive lookup for symbols that clients type.
    public func index(of symbol: String) -> Int? {
        upperCased.firstIndex(of: symbol.uppercased())
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> String {
        String(self.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

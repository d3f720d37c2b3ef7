import GRPCCore

/// The optional ends a client asks for in metadata, as docs/wire-api.md says:
/// `tickwire-stream-duration` (a Go duration) and `tickwire-stream-messages`
/// (prices); reaching either ends the call with OK.
struct StreamBounds: Sendable {
    var duration: Duration?
    var messages: Int?

    init(metadata: Metadata) throws(RPCError) {
        if let text = Self.first("tickwire-stream-duration", in: metadata) {
            guard let duration = Self.parseGoDuration(text), duration > .zero else {
                throw RPCError(code: .invalidArgument,
                               message: "tickwire-stream-duration: \"\(text)\" is not a positive Go duration")
            }
            self.duration = duration
        }
        if let text = Self.first("tickwire-stream-messages", in: metadata) {
            guard let count = Int32(text), count >= 1 else {
                throw RPCError(code: .invalidArgument,
                               message: "tickwire-stream-messages: \"\(text)\" is not 1 to 2147483647")
            }
            messages = Int(count)
        }
    }

    private static func first(_ key: String, in metadata: Metadata) -> String? {
        var values = metadata[stringValues: key].makeIterator()
        return values.next()
    }

    /// Go's units, longest first so "ms" is not read as "m".
    private static let goUnits: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3),
                                                      ("s", 1), ("m", 60), ("h", 3600)]
        .sorted { $0.0.count > $1.0.count }

    /// Go's time.ParseDuration for unsigned values: one or more decimal
    /// numbers, each with a unit (ns, us, µs, ms, s, m, h), e.g. "1m30s", "2.5s".
    static func parseGoDuration(_ text: String) -> Duration? {
        var rest = Substring(text)
        var seconds = 0.0
        if rest == "0" { return .zero }
        while !rest.isEmpty {
            let number = rest.prefix(while: { $0.isNumber || $0 == "." })
            guard let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            guard let (unit, scale) = goUnits.first(where: { rest.hasPrefix($0.0) }) else { return nil }
            rest = rest.dropFirst(unit.count)
            seconds += value * scale
        }
        return text.isEmpty ? nil : .seconds(seconds)
    }
}

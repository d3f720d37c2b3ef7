/// Go's duration syntax (`5s`, `1m30s`, `1.5h`, `250ms`), read from request
/// metadata. The executable parses its flags with its own copy; this one is
/// here because FanOut cannot import the executable, and it takes no sign:
/// a client bound is never negative.
enum GoDurationText {
    /// Nanoseconds, or nil when `text` is not a duration (including the empty
    /// string, a sign, a number without a unit and anything past Int64).
    static func nanoseconds(_ text: String) -> Int64? {
        if text == "0" { return 0 }  // Go's one unitless duration
        var rest = Substring(text).utf8[...]
        guard !rest.isEmpty else { return nil }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { isDigit($0) || $0 == UInt8(ascii: ".") }
            guard number.contains(where: isDigit), number.filter({ $0 == UInt8(ascii: ".") }).count <= 1,
                  let value = Double(String(Substring(number))) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { !isDigit($0) && $0 != UInt8(ascii: ".") }
            rest = rest.dropFirst(unit.count)
            guard let scale = unitNanos(unit) else { return nil }
            total += value * scale
        }
        guard total.isFinite, total < 9.2e18 else { return nil }
        return Int64(total.rounded())
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private static func unitNanos(_ unit: Substring.UTF8View.SubSequence) -> Double? {
        switch String(Substring(unit)) {
        case "ns": return 1
        case "us", "µs", "μs": return 1e3  // micro sign and Greek mu, as Go accepts both
        case "ms": return 1e6
        case "s": return 1e9
        case "m": return 60e9
        case "h": return 3600e9
        default: return nil
        }
    }
}

/// The `grpc-timeout` request header (PROTOCOL-HTTP2.md, "Requests"):
/// TimeoutValue TimeoutUnit, where the value is 1 to 8 ASCII digits and the
/// unit one of H M S m u n. Anything else is malformed, and the call fails
/// with INTERNAL rather than run without the deadline its client asked for.
public enum GRPCTimeout {
    /// The timeout in nanoseconds, or nil when `text` is malformed. Large
    /// values saturate at Int64.max (99999999H is about 11,000 years).
    public static func nanoseconds(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 2, bytes.count <= 9, let unit = unitNanos(bytes[bytes.count - 1]) else { return nil }
        var value: Int64 = 0
        for byte in bytes.dropLast() {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))  // 8 digits cannot overflow
        }
        let (product, overflow) = value.multipliedReportingOverflow(by: unit)
        return overflow ? Int64.max : product
    }

    private static func unitNanos(_ unit: UInt8) -> Int64? {
        switch unit {
        case UInt8(ascii: "H"): return 3_600_000_000_000
        case UInt8(ascii: "M"): return 60_000_000_000
        case UInt8(ascii: "S"): return 1_000_000_000
        case UInt8(ascii: "m"): return 1_000_000
        case UInt8(ascii: "u"): return 1_000
        case UInt8(ascii: "n"): return 1
        default: return nil
        }
    }
}

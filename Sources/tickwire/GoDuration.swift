/// Durations written as Go and Kubernetes write them: `100ms`, `5s`, `1.5h`,
/// `23h50m`. Units: ns, us (or µs), ms, s, m, h. A bare `0` is allowed.
struct GoDuration: Equatable, CustomStringConvertible {
    let nanoseconds: Int64

    init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    init?(parsing text: String) {
        if text == "0" { self.nanoseconds = 0; return }
        var total = 0.0
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { !($0.isNumber || $0 == ".") }
            rest = rest.dropFirst(unit.count)
            guard let scale = Self.unitNanos[String(unit)] else { return nil }
            total += value * scale
        }
        guard total.isFinite, total < Double(Int64.max) else { return nil }
        self.nanoseconds = Int64(total.rounded())
    }

    private static let unitNanos: [String: Double] = [
        "ns": 1, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9,
    ]

    var description: String {
        if nanoseconds % 1_000_000_000 == 0 { return "\(nanoseconds / 1_000_000_000)s" }
        if nanoseconds % 1_000_000 == 0 { return "\(nanoseconds / 1_000_000)ms" }
        return "\(nanoseconds)ns"
    }
}

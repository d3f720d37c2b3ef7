/// How fast a recording plays.
public enum ReplaySpeed: Equatable, Sendable, CustomStringConvertible {
    /// At the recorded pace (from the `E` timestamps), multiplied by the factor.
    case paced(Double)
    /// As fast as the clients drain.
    case max
    /// A fixed number of trades per second, whatever the recorded pace
    /// (`--replay-rate`): for benchmarks, where the offered load must be known.
    case rate(Double)

    public init?(parsing text: String) {
        if text.lowercased() == "max" { self = .max; return }
        let trimmed = text.hasSuffix("x") ? String(text.dropLast()) : text
        guard let factor = Double(trimmed), factor > 0, factor.isFinite else { return nil }
        self = .paced(factor)
    }

    public var description: String {
        switch self {
        case .max: return "max"
        case .paced(let factor): return "\(factor)x"
        case .rate(let perSecond): return "\(perSecond) trades/s"
        }
    }
}

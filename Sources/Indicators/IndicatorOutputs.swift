/// Every output of one indicator update, in the documented order of its kind
/// (docs/wire-api.md): MACD macd, signal, histogram; Bollinger Bands upper,
/// middle, lower; Stochastic slowk, slowd; the rest one value.
///
/// Three inline doubles rather than an array, so producing one never allocates.
public struct IndicatorOutputs: Equatable, Sendable {
    /// How many of `first`, `second`, `third` are meaningful: 1...3.
    public let count: Int
    public let first: Double
    public let second: Double
    public let third: Double

    public init(_ first: Double) {
        (count, self.first, second, third) = (1, first, 0, 0)
    }

    public init(_ first: Double, _ second: Double) {
        (count, self.first, self.second, third) = (2, first, second, 0)
    }

    public init(_ first: Double, _ second: Double, _ third: Double) {
        (count, self.first, self.second, self.third) = (3, first, second, third)
    }

    public subscript(index: Int) -> Double {
        precondition(index >= 0 && index < count, "output index out of range")
        switch index {
        case 0: return first
        case 1: return second
        default: return third
        }
    }

    /// The outputs in order (allocates: for the encoder and tests, not the update path).
    public var all: [Double] { (0..<count).map { self[$0] } }
}

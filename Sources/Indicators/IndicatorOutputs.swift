/// Every output of one indicator update, in the documented order of its kind
/// (docs/wire-api.md): MACD macd, signal, histogram; Bollinger Bands upper,
/// middle, lower; Stochastic slowk, slowd; the rest one value.
///
/// Three inline doubles rather than an array, so producing one never allocates.
/// The count is a three-case enum rather than an `Int`, so that an optional
/// `IndicatorOutputs` is three doubles and a byte (its spare bits hold the
/// optional's tag) and comes back from an update in registers; with an `Int`
/// count it was returned through memory, measurably on every update.
public struct IndicatorOutputs: Equatable, Sendable {
    /// How many outputs are meaningful.
    private enum Arity: UInt8 {
        case one = 1
        case two = 2
        case three = 3
    }

    public let first: Double
    public let second: Double
    public let third: Double
    private let arity: Arity

    /// How many of `first`, `second`, `third` are meaningful: 1...3.
    public var count: Int { Int(arity.rawValue) }

    public init(_ first: Double) {
        (arity, self.first, second, third) = (.one, first, 0, 0)
    }

    public init(_ first: Double, _ second: Double) {
        (arity, self.first, self.second, third) = (.two, first, second, 0)
    }

    public init(_ first: Double, _ second: Double, _ third: Double) {
        (arity, self.first, self.second, self.third) = (.three, first, second, third)
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

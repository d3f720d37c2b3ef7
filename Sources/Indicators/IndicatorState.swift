/// What one pooled slot computes, and its latest output.
struct IndicatorState {
    var calculator: IndicatorCalculator
    /// Nil while the indicator is still warming.
    var latest: IndicatorValue?

    /// The contents of a slot on the free list.
    static let vacant = IndicatorState(calculator: .vacant, latest: nil)
}

/// What one pooled slot computes, and its latest output.
struct IndicatorState {
    var calculator: IndicatorCalculator
    /// Nil while the indicator is still warming.
    var latest: IndicatorValue?

    /// The contents of a slot on the free list.
    /// Computed: the Stochastic's raw ring pointers make the state non-Sendable, so no static stored value.
    static var vacant: IndicatorState { IndicatorState(calculator: .vacant, latest: nil) }
}

/// A subscriber's reference to a shared indicator state.
///
/// The generation changes each time the state's slot returns to the pool, so a
/// handle kept past its last unsubscribe is recognised as stale instead of
/// silently naming whichever indicator reuses the slot.
public struct IndicatorHandle: Hashable, Sendable {
    /// Index of the state's slot in the engine's preallocated pool.
    let slot: Int32
    /// The slot's generation when this handle was issued.
    let generation: UInt32
}

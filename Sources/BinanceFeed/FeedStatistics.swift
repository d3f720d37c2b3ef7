/// Counts every frame a source saw, by what became of it.
public struct FeedStatistics: Equatable, Sendable {
    /// Trades handed to the engine.
    public var published = 0
    /// Frames that were not JSON or were trades with a bad field: skipped.
    public var malformed = 0
    /// Well-formed frames this server does not serve (bookTicker, depth, replies).
    public var ignored = 0
    /// Trades for symbols not in --symbols.
    public var unknownSymbol = 0

    public init() {}
}

/// A recording in which no line is a trade for the served symbols. Playing it
/// would serve nothing, silently, so the server refuses to start on it; the
/// counts say whether the lines were garbage or merely other symbols.
public struct UnusableRecording: Error, Equatable, CustomStringConvertible {
    public let path: String
    /// Non-empty lines read.
    public var lines = 0
    /// Lines that are not a Binance frame at all.
    public var malformed = 0
    /// Trades for symbols the server does not serve (--symbols).
    public var unknownSymbol = 0
    /// Frames other than trades (depth, kline, …).
    public var ignored = 0

    public var description: String {
        "the recording '\(path)' has no trade for the served symbols (\(lines) lines: \(malformed) malformed, "
            + "\(unknownSymbol) trades of other symbols, \(ignored) other frames); a usable line is a trade or "
            + "aggTrade frame of Binance's combined stream for a served symbol"
    }
}

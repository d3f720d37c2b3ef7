/// What one WebSocket API reply to `klines` said.
public enum KlineReply: Equatable, Sendable {
    /// Status 200: the klines, oldest first (possibly none).
    case klines(requestID: Int64, [Kline], weight: RequestWeight?)
    /// Any other status. `retryAfterUnixMs` comes with 429 and 418.
    case refused(requestID: Int64, status: Int, code: Int, message: String, retryAfterUnixMs: Int64?,
                 weight: RequestWeight?)
    /// Not the shape of a reply; `requestID` when the reply still had one.
    case malformed(requestID: Int64?)

    public var requestID: Int64? {
        switch self {
        case .klines(let id, _, _), .refused(let id, _, _, _, _, _): id
        case .malformed(let id): id
        }
    }

    public var weight: RequestWeight? {
        switch self {
        case .klines(_, _, let weight), .refused(_, _, _, _, _, let weight): weight
        case .malformed: nil
        }
    }
}

/// How a client bounds its own StreamPrices stream through request metadata,
/// so that a load tool (ghz, for one) sees each call end cleanly with OK
/// rather than cancel a stream that would otherwise never end.
public struct StreamBound: Equatable {
    public static let durationHeader = "tickwire-stream-duration"
    public static let messagesHeader = "tickwire-stream-messages"

    /// End with OK this long after the stream opened.
    public var durationNanos: Int64?
    /// End with OK once this many price messages have been queued.
    public var priceMessages: Int?

    public init(durationNanos: Int64? = nil, priceMessages: Int? = nil) {
        self.durationNanos = durationNanos
        self.priceMessages = priceMessages
    }

    public var isUnbounded: Bool { durationNanos == nil && priceMessages == nil }

    /// A header value the server cannot use; the message says why.
    public struct Invalid: Error, Equatable {
        public let message: String
    }

    /// Reads the two headers' raw values (nil when not sent).
    public static func parse(duration: String?, messages: String?) -> Result<StreamBound, Invalid> {
        var bound = StreamBound()
        if let duration {
            guard let nanos = GoDurationText.nanoseconds(duration), nanos > 0 else {
                return .failure(Invalid(message: "\(durationHeader) must be a positive duration such as 5s, 1m30s or 250ms; got '\(duration)'"))
            }
            bound.durationNanos = nanos
        }
        if let messages {
            guard let count = positiveInteger(messages) else {
                return .failure(Invalid(message: "\(messagesHeader) must be a whole number of messages, 1 or more; got '\(messages)'"))
            }
            bound.priceMessages = count
        }
        return .success(bound)
    }

    /// Decimal digits only (no sign, no spaces), 1 through Int32.max: a
    /// bigger budget is as good as none and is more likely a mistake.
    private static func positiveInteger(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 10,
              text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let value = Int(text), value >= 1, value <= Int(Int32.max) else { return nil }
        return value
    }
}

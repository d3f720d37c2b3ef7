@testable import Engine
import Testing

@Suite struct StreamBoundTests {
    @Test func goDurations() {
        #expect(GoDurationText.nanoseconds("5s") == 5_000_000_000)
        #expect(GoDurationText.nanoseconds("1m30s") == 90_000_000_000)
        #expect(GoDurationText.nanoseconds("1.5h") == 5_400_000_000_000)
        #expect(GoDurationText.nanoseconds("250ms") == 250_000_000)
        #expect(GoDurationText.nanoseconds("10us") == 10_000)
        #expect(GoDurationText.nanoseconds("10µs") == 10_000)
        #expect(GoDurationText.nanoseconds("7ns") == 7)
        #expect(GoDurationText.nanoseconds("0") == 0)
        for malformed in ["", "abc", "5", "-1s", "+1s", "1x", "s", "1.2.3s", ".s", "1s ", "9999999999h"] {
            #expect(GoDurationText.nanoseconds(malformed) == nil, "\(malformed)")
        }
    }

    @Test func boundsFromMetadata() {
        #expect(StreamBound.parse(duration: nil, messages: nil) == .success(StreamBound()))
        #expect(StreamBound.parse(duration: "2s", messages: "5")
                == .success(StreamBound(durationNanos: 2_000_000_000, priceMessages: 5)))
        #expect(StreamBound.parse(duration: nil, messages: "2147483647") == .success(StreamBound(priceMessages: Int(Int32.max))))
        for duration in ["abc", "-1s", "0", "0s", ""] {
            guard case .failure(let invalid) = StreamBound.parse(duration: duration, messages: nil) else {
                Issue.record("duration '\(duration)' was accepted"); continue
            }
            #expect(invalid.message.contains("tickwire-stream-duration") && invalid.message.contains("'\(duration)'"))
        }
        for messages in ["abc", "-1", "0", "", "+5", "2147483648", "1.0"] {
            guard case .failure(let invalid) = StreamBound.parse(duration: nil, messages: messages) else {
                Issue.record("messages '\(messages)' was accepted"); continue
            }
            #expect(invalid.message.contains("tickwire-stream-messages"))
        }
    }
}

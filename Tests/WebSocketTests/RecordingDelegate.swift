import WebSocket

/// Records everything a session reports, in order.
final class RecordingDelegate: WebSocketSessionDelegate {
    /// One delegate call.
    enum Event: Equatable {
        case frameStart
        case text(String)
        case binary([UInt8])
        case close(UInt16, String)
    }

    private(set) var events: [Event] = []
    /// Runs inside didReceiveText, to test what a delegate may do there.
    var onText: ((WebSocketSession, String) -> Void)?

    var texts: [String] { events.compactMap { if case .text(let text) = $0 { text } else { nil } } }
    var binaries: [[UInt8]] { events.compactMap { if case .binary(let bytes) = $0 { bytes } else { nil } } }
    var closes: [Event] { events.filter { if case .close = $0 { true } else { false } } }
    var frameStarts: Int { events.filter { $0 == .frameStart }.count }
    /// Messages only, without the frame-start signals.
    var messages: [Event] { events.filter { $0 != .frameStart } }

    func webSocket(_ session: WebSocketSession, didReceiveText message: UnsafeRawBufferPointer) {
        let text = String(decoding: message, as: UTF8.self)
        events.append(.text(text))
        onText?(session, text)
    }

    func webSocket(_ session: WebSocketSession, didReceiveBinary message: UnsafeRawBufferPointer) {
        events.append(.binary(Array(message)))
    }

    func webSocketDidReceiveFrame(_ session: WebSocketSession) {
        events.append(.frameStart)
    }

    func webSocket(_ session: WebSocketSession, didReceiveClose code: UInt16, reason: String) {
        events.append(.close(code, reason))
    }
}

import TLS
import WebSocket

/// The TLS connection seen as the WebSocket's byte stream. Which readiness a
/// "would block" waits for stays on the TLS connection (readWantsWritable,
/// writeWantsReadable), where BinanceConnection reads it to set interest.
final class TLSByteStream: WebSocketTransport {
    let tls: TLSConnection

    init(_ tls: TLSConnection) {
        self.tls = tls
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> TransportIO {
        Self.map(tls.read(into: buffer))
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> TransportIO {
        Self.map(tls.write(bytes))
    }

    private static func map(_ step: TLSConnection.Step) -> TransportIO {
        switch step {
        case .transferred(let count): return count > 0 ? .transferred(count) : .wouldBlock
        case .wantRead, .wantWrite: return .wouldBlock
        case .closed: return .closed
        case .failed(let reason): return .failed(reason)
        }
    }
}

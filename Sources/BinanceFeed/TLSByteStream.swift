import Reactor
import TLS
import WebSocket

/// The TLS connection seen as the WebSocket's byte stream. Which readiness a
/// "would block" waits for stays on the TLS connection (readWantsWritable,
/// writeWantsReadable), where BinanceConnection reads it to set interest.
final class TLSByteStream: WebSocketTransport {
    let tls: TLSConnection
    private let clock: any ReactorClock
    /// Wall-clock time of the last read that returned bytes: a trade's
    /// ingest time. Taken per read, not per readiness event, because one
    /// event's receive loop may go on reading frames that arrived meanwhile.
    private(set) var lastReadUnixNanos: Int64 = 0

    init(_ tls: TLSConnection, clock: any ReactorClock) {
        self.tls = tls
        self.clock = clock
        lastReadUnixNanos = clock.wallUnixNanos()  // bytes left over from the handshake's read: read just now
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> TransportIO {
        let result = Self.map(tls.read(into: buffer))
        if case .transferred = result { lastReadUnixNanos = clock.wallUnixNanos() }
        return result
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> TransportIO {
        Self.map(tls.write(bytes))
    }

    private static func map(_ step: TLSConnection.Step) -> TransportIO {
        switch step {
        case .transferred(let count): return count > 0 ? .transferred(count) : .wouldBlock
        case .wantRead, .wantWrite: return .wouldBlock
        case .closed: return .closed
        case .failed(let reason): return .failed("\(reason)")
        }
    }
}

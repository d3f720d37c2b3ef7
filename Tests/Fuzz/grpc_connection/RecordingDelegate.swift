// The upper layer for the connection harness: a stand-in for TickwireServer
// that admits StreamPrices and Health/Check, answers every message with an
// echo (and the first with one more message), ends calls on half-close, and
// records each call's life so the harness can check the gRPC layer's promises
// to its delegate.

@testable import GRPCServer
import GRPCWire

final class RecordingDelegate: GRPCServerDelegate {
    static let admitted: Set<String> = ["/tickwire.v1.PriceStream/StreamPrices", "/grpc.health.v1.Health/Check"]
    /// Echoes per call, so a flood of tiny messages cannot grow output without bound.
    static let maxEchoes = 8

    /// Where a call is, as the delegate has been told.
    enum Life { case opened, closed }

    private(set) var lives: [ObjectIdentifier: Life] = [:]
    private var echoes: [ObjectIdentifier: Int] = [:]
    /// Every stream object the layer showed us, to prove they are all freed.
    private(set) var seen: [Weak] = []
    private(set) var connectionsClosed = 0

    struct Weak { weak var stream: GRPCStream? }

    func rpcOpened(_ stream: GRPCStream) -> RPCAdmission {
        let id = ObjectIdentifier(stream)
        precondition(lives[id] == nil, "invariant broken: rpcOpened twice for stream \(stream.id)")
        precondition(connectionsClosed == 0, "invariant broken: rpcOpened after connectionClosed")
        seen.append(Weak(stream: stream))
        guard Self.admitted.contains(stream.path) else {
            return .reject(GRPCStatus(.unimplemented, "not served by the fuzz delegate"))
        }
        lives[id] = .opened
        return .accept
    }

    func rpcMessage(_ stream: GRPCStream, _ message: UnsafeRawBufferPointer) {
        expectOpen(stream, "rpcMessage")
        let id = ObjectIdentifier(stream)
        let count = echoes[id, default: 0]
        guard count < Self.maxEchoes else { return }
        echoes[id] = count + 1
        stream.send(WireMessage(payload: Array(message)))
        if count == 0 { stream.send(WireMessage(payload: Array("first".utf8))) }
        // An empty message asks for the call to end now, trailers after the echo.
        if message.isEmpty { stream.finish(GRPCStatus(.ok, "")) }
    }

    func rpcHalfClosed(_ stream: GRPCStream) {
        expectOpen(stream, "rpcHalfClosed")
        stream.finish(GRPCStatus(.ok, ""))
    }

    func rpcTooSlow(_ stream: GRPCStream) {
        // The connection total (--connection-hard-limit) ended the call; only
        // an open call can be too slow, and its rpcClosed still follows.
        expectOpen(stream, "rpcTooSlow")
    }

    func rpcClosed(_ stream: GRPCStream) {
        let id = ObjectIdentifier(stream)
        precondition(lives[id] != .closed, "invariant broken: rpcClosed twice for stream \(stream.id)")
        // Calls the layer refused itself (bad headers) close without an rpcOpened.
        if lives[id] == nil { seen.append(Weak(stream: stream)) }
        lives[id] = .closed
    }

    func connectionClosed(_ connection: HTTP2Connection, reason: String) {
        precondition(connectionsClosed == 0, "invariant broken: connectionClosed twice")
        precondition(!lives.values.contains(.opened), "invariant broken: connectionClosed with calls still open")
        connectionsClosed += 1
    }

    private func expectOpen(_ stream: GRPCStream, _ event: String) {
        precondition(lives[ObjectIdentifier(stream)] == .opened,
                     "invariant broken: \(event) for stream \(stream.id), which is \(String(describing: lives[ObjectIdentifier(stream)]))")
    }
}

// The real server, minus its sockets: a TickwireServer (no feed, no metrics,
// no listener) is the delegate of a real HTTP2Connection whose nghttp2
// session is never fed bytes. Streams are opened, fed DATA and closed through
// the connection's own session-event methods, the ones nghttp2's callbacks
// call, so every request goes deframer -> TickwireServer.rpcMessage ->
// SwiftProtobuf decode -> SubscriptionRequest -> StreamRegistry ->
// IndicatorService -> IndicatorEngine exactly as on the wire.

import BinanceFeed
@testable import FanOut
@testable import GRPCServer
import Logging
import Reactor
import TickwireProto

final class ServerRig {
    static let symbols = ["BTCUSDT", "ETHUSDT"]
    /// Small enough that the fuzzer reaches every limit: a full pool, a full
    /// stream, the longest period, RSI(maxPeriod) that the history cannot warm.
    static let indicators: IndicatorSettings = {
        var settings = IndicatorSettings()
        settings.historyCapacity = 8
        settings.maxPeriod = 8
        settings.maxIndicators = 6
        settings.maxSubscriptionsPerStream = 4
        return settings
    }()
    static let streamPricesPath = "/tickwire.v1.PriceStream/StreamPrices"

    let reactor: Reactor
    let server: TickwireServer
    let connection: HTTP2Connection
    let symbolTable: SymbolTable
    private var nextStreamID: Int32 = 1
    private var nextTradeID: Int64 = 1

    init() {
        do {
            reactor = Reactor(backend: .epoll(try EpollPoller(eventCapacity: 8)))
            symbolTable = try SymbolTable(Self.symbols)
            var configuration = ServerConfiguration(symbols: symbolTable)
            configuration.metricsListen = nil
            configuration.indicators = Self.indicators
            configuration.grpc.maxConnections = 2
            let logger = Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }
            server = try TickwireServer(configuration: configuration, reactor: reactor, logger: logger)
            // fd -1: this connection is never flushed, so it never touches a socket.
            connection = try HTTP2Connection(fd: -1, token: EventToken(kind: .connection), limits: configuration.grpc,
                                             hub: server.hub, tls: nil, openedAtNanos: 0, ageJitterNanos: 0)
        } catch {
            fatalError("rig setup: \(error)")
        }
    }

    /// Opens a StreamPrices call the way nghttp2 reports one: begin, header
    /// fields, end of headers. The server accepts it and it is open.
    func openStream() -> GRPCStream {
        let id = nextStreamID
        nextStreamID += 2
        connection.beginRequest(streamID: id)
        for (name, value) in [(":method", "POST"), (":scheme", "http"), (":path", Self.streamPricesPath),
                              ("content-type", "application/grpc"), ("te", "trailers")] {
            Array(name.utf8).withUnsafeBytes { name in
                Array(value.utf8).withUnsafeBytes { connection.header(streamID: id, name: name, value: $0) }
            }
        }
        connection.requestHeadersComplete(streamID: id)
        guard let stream = connection.streams[id] else { fatalError("stream \(id) vanished on open") }
        precondition(stream.isOpen, "invariant broken: the server did not accept StreamPrices \(id)")
        return stream
    }

    /// One request message in one DATA chunk, behind its gRPC prefix.
    func send(_ payload: [UInt8], on stream: GRPCStream) {
        let framed = WireMessage(payload: payload)
        framed.withBytes { connection.data(streamID: stream.id, chunk: $0) }
    }

    /// nghttp2 reporting the stream closed (client reset or call over).
    func close(_ stream: GRPCStream) {
        connection.streamClosed(streamID: stream.id)
    }

    /// A trade through the feed's sink, as the live feed and the replay deliver it.
    func trade(symbol: Int, price: Double) -> Int64 {
        let id = nextTradeID
        nextTradeID += 1
        server.distributor.publish(Trade(symbolIndex: symbol, tradeID: id, price: price, quantity: 1,
                                         tradeTimeMs: id, eventTimeMs: id, ingestUnixNanos: 0))
        return id
    }

    /// What the indicator batch timer does.
    func emitBatches() {
        server.distributor.indicators.emitBatches(&server.distributor.registry,
                                                  softLimitBytes: server.distributor.slowConsumers.softLimitBytes)
    }

    var openCalls: Int { server.openCalls }

    /// Everything the stream has queued since the last call, decoded.
    func responses(of stream: GRPCStream) -> [Tickwire_V1_StreamResponse] {
        var bytes = [UInt8](repeating: 0, count: stream.backlogBytes)
        let drained = bytes.withUnsafeMutableBytes { stream.outbound.drain(into: $0) }
        precondition(drained == bytes.count, "outbound queue drained \(drained) of \(bytes.count) bytes")
        var responses: [Tickwire_V1_StreamResponse] = []
        var offset = 0
        while offset < bytes.count {
            precondition(bytes.count - offset >= WireMessage.prefixLength && bytes[offset] == 0, "bad response framing")
            let length = bytes[offset + 1..<offset + 5].reduce(0) { $0 << 8 | Int($1) }
            let start = offset + WireMessage.prefixLength
            precondition(bytes.count - start >= length, "response message cut short")
            do {
                responses.append(try Tickwire_V1_StreamResponse(serializedBytes: Array(bytes[start..<start + length])))
            } catch {
                preconditionFailure("invariant broken: the server sent an undecodable StreamResponse: \(error)")
            }
            offset = start + length
        }
        return responses
    }

    /// Frees the session (reporting any stream still open closed) and the poller.
    func tearDown() {
        connection.releaseSession()
        reactor.close()
    }
}

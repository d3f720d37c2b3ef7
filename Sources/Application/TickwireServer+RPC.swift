import GRPCServer
import Logging
import SwiftProtobuf
import TickwireProto
import GRPCWire
import Engine

/// The server's gRPC side: which calls it admits, and what each message on
/// them does. StreamPrices streams join the registry; their IndicatorRequests
/// become subscriptions; health and reflection answer on their own streams.
extension TickwireServer: GRPCServerDelegate {
    public func rpcOpened(_ stream: GRPCStream) -> RPCAdmission {
        guard let method = RPCMethod(path: stream.path) else {
            return .reject(GRPCStatus(.unimplemented, "method \(stream.path) is not implemented by this server"))
        }
        // Health answers through the drain (NOT_SERVING); new price streams go elsewhere.
        guard reactor.phase.acceptsNewWork || method != .streamPrices else {
            return reject(method, ShutdownNotices.unavailable)
        }
        stream.handlerTag = method.rawValue
        if method == .streamPrices {
            let bound: StreamBound
            switch StreamBound.parse(duration: stream.requestedDuration, messages: stream.requestedMessages) {
            case .success(let parsed): bound = parsed
            case .failure(let invalid):
                stream.handlerTag = 0  // rejected: no handler, and not counted as open
                return reject(method, GRPCStatus(.invalidArgument, invalid.message))
            }
            apply(distributor.open(stream, bound: bound, callTimeoutNanos: stream.requestedTimeoutNanos,
                                   nowNanos: reactor.clock.monotonicNanos()))
            if replayState == .waitingForStreams && distributor.registry.count >= configuration.replayWaitStreams {
                replayState = .ready
                logger.info("replay starting", metadata: ["streams": "\(distributor.registry.count)"])
            }
        } else if let timeout = stream.requestedTimeoutNanos {
            // Health.Watch never ends by itself either: its deadline is ours to keep.
            apply(distributor.trackDeadline(of: stream, callTimeoutNanos: timeout, nowNanos: reactor.clock.monotonicNanos()))
        }
        openCalls += 1
        rpcCounts.started(method)
        return .accept
    }

    /// A call to a method this server has, refused before it starts: it
    /// counts as started and handled, as grpc-go's interceptors count it.
    private func reject(_ method: RPCMethod, _ status: GRPCStatus) -> RPCAdmission {
        rpcCounts.started(method)
        rpcCounts.handled(method, status.code)
        return .reject(status)
    }

    public func rpcMessage(_ stream: GRPCStream, _ message: UnsafeRawBufferPointer) {
        switch RPCMethod(rawValue: stream.handlerTag) {
        case .streamPrices: indicatorRequest(stream, message)
        case .healthCheck: health.check(stream, request: message)
        case .healthWatch: health.watch(stream, request: message)
        case .reflectionV1, .reflectionV1Alpha: reflection.request(stream, message)
        case nil: break
        }
    }

    public func rpcHalfClosed(_ stream: GRPCStream) {
        // StreamPrices keeps sending after the client half-closes: a client
        // that only listens may close its side at once. Health calls are
        // answered on their message; one that never came ends with an error.
        // Reflection has answered every request by now, so its call ends.
        switch RPCMethod(rawValue: stream.handlerTag) {
        case .reflectionV1, .reflectionV1Alpha: reflection.requestsEnded(stream)
        case .healthCheck, .healthWatch: health.requestsEnded(stream)
        case .streamPrices, nil: break
        }
    }

    public func rpcClosed(_ stream: GRPCStream) {
        if stream.handlerTag != 0 { openCalls -= 1 }
        if let method = RPCMethod(rawValue: stream.handlerTag) { rpcCounts.handled(method, stream.statusSent) }
        distributor.closed(stream)  // any method may have had a grpc-timeout
        switch RPCMethod(rawValue: stream.handlerTag) {
        case .streamPrices:
            if reactor.phase.isDraining { drain.streamsEndedByClients += 1 }
        case .healthWatch: health.streamClosed(stream)
        case .healthCheck, .reflectionV1, .reflectionV1Alpha, nil: break
        }
    }

    public var methodPaths: [String] { RPCMethod.allCases.map(\.path) }

    public func connectionClosed(_ connection: HTTP2Connection, reason: String) {
        freedMemory.connectionClosed()
        logger.info("connection closed", metadata: [
            "reason": "\(reason)", "peer": "\(connection.peer)", "connections": "\(hub.connectionCount)",
            "streams": "\(distributor.registry.count)",
        ])
    }

    /// An IndicatorRequest on StreamPrices: the engine applies and answers
    /// it; a refusal is worth a debug line.
    private func indicatorRequest(_ stream: GRPCStream, _ bytes: UnsafeRawBufferPointer) {
        guard case .answered(let status) = distributor.receive(indicatorRequest: bytes, from: stream),
              status.code != .ok else { return }
        logger.debug("subscription refused", metadata: ["stream": "\(stream.id)", "status": "\(status)"])
    }
}

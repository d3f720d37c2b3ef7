import GRPCCore
import GRPCProtobuf

/// tickwire.v1.PriceStream, registered by hand: the one bidirectional method
/// that `protoc-gen-grpc-swift-2` would generate, written against
/// grpc-swift-2's RegistrableRPCService/RPCRouter so this peer's build needs
/// no protoc plugin. Messages go through grpc-swift-protobuf's coders, as in
/// generated code.
struct PriceStreamService: RegistrableRPCService {
    static let streamPrices = MethodDescriptor(
        service: ServiceDescriptor(package: "tickwire.v1", service: "PriceStream"),
        method: "StreamPrices")

    let hub: PriceHub

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: Self.streamPrices,
            deserializer: ProtobufDeserializer<Tickwire_V1_IndicatorRequest>(),
            serializer: ProtobufSerializer<Tickwire_V1_StreamResponse>()
        ) { request, context in
            try await streamPrices(request: request, context: context)
        }
    }

    /// One StreamPrices call: bounds are checked before the response starts,
    /// then the call's sending loop runs until the client or a bound ends it.
    func streamPrices(
        request: StreamingServerRequest<Tickwire_V1_IndicatorRequest>,
        context: ServerContext
    ) async throws -> StreamingServerResponse<Tickwire_V1_StreamResponse> {
        let bounds = try StreamBounds(metadata: request.metadata)
        return StreamingServerResponse { writer in
            try await PriceStreamCall(hub: hub, bounds: bounds).run(requests: request.messages, writer: writer)
            return [:]
        }
    }
}

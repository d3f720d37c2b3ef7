import GRPCWire

/// One grpc.reflection.{v1,v1alpha}.ServerReflectionRequest, by the question
/// it asks (its `message_request` oneof). `host` is read past: this server
/// has one set of services whatever the client calls it.
enum ReflectionRequest: Equatable {
    /// file_by_filename: a file, e.g. `tickwire/v1/price_stream.proto`.
    case fileByFilename(String)
    /// file_containing_symbol: a service, method, message or enum by full name.
    case fileContainingSymbol(String)
    /// file_containing_extension: we declare no extensions.
    case fileContainingExtension(containingType: String, number: Int32)
    /// all_extension_numbers_of_type: a message type's extension numbers.
    case allExtensionNumbersOfType(String)
    /// list_services (its string value means nothing).
    case listServices
    /// The oneof was not set.
    case empty

    /// Decodes the request; nil when the bytes are not a protobuf message.
    /// A oneof seen more than once keeps its last value, as protobuf does.
    init?(decoding bytes: UnsafeRawBufferPointer) {
        var reader = ProtobufReader(bytes)
        var request = ReflectionRequest.empty
        do {
            while let field = try reader.next() {
                guard case .delimited(let value) = field.value else { continue }
                switch field.number {
                case 3: request = .fileByFilename(String(decoding: value, as: UTF8.self))
                case 4: request = .fileContainingSymbol(String(decoding: value, as: UTF8.self))
                case 5: request = try Self.extensionRequest(value)
                case 6: request = .allExtensionNumbersOfType(String(decoding: value, as: UTF8.self))
                case 7: request = .listServices
                default: break  // host (1) and anything newer than this server
                }
            }
        } catch {
            return nil
        }
        self = request
    }

    /// ExtensionRequest { containing_type = 1; extension_number = 2 }.
    private static func extensionRequest(_ bytes: UnsafeRawBufferPointer) throws(ProtobufReader.Malformed) -> ReflectionRequest {
        var reader = ProtobufReader(bytes)
        var containingType = ""
        var number: Int32 = 0
        while let field = try reader.next() {
            switch (field.number, field.value) {
            case (1, .delimited(let value)): containingType = String(decoding: value, as: UTF8.self)
            case (2, .varint(let value)): number = Int32(truncatingIfNeeded: value)
            default: break
            }
        }
        return .fileContainingExtension(containingType: containingType, number: number)
    }
}

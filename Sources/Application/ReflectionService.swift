import GRPCServer
import GRPCWire

/// grpc.reflection.v1 and v1alpha ServerReflectionInfo (the two packages
/// carry the same messages): each request is answered at once, in order, and
/// a question the server cannot answer gets an error_response while the
/// stream stays open, as the protocol asks. The call ends when the client
/// half-closes.
final class ReflectionService {
    private let catalog = ReflectionCatalog()

    func request(_ stream: GRPCStream, _ bytes: UnsafeRawBufferPointer) {
        guard let request = ReflectionRequest(decoding: bytes) else {
            stream.finish(GRPCStatus(.invalidArgument, "the request is not a valid ServerReflectionRequest"))
            return
        }
        stream.send(reply(to: request, original: bytes))
    }

    /// The client asks nothing more; every answer is already queued.
    func requestsEnded(_ stream: GRPCStream) {
        stream.finish(.ok)
    }

    /// ServerReflectionResponse, echoing the request as `original_request`.
    func reply(to request: ReflectionRequest, original: UnsafeRawBufferPointer) -> WireMessage {
        switch request {
        case .listServices:
            return Self.response(original: original, field: .listServices, body: catalog.servicesResponse)
        case .fileByFilename(let name):
            guard let file = catalog.file(named: name) else {
                return Self.error(.notFound, "file '\(name)' is not served here", original: original)
            }
            return Self.response(original: original, field: .fileDescriptors, body: catalog.fileResponses[file])
        case .fileContainingSymbol(let name):
            guard let symbol = catalog.symbol(name) else {
                return Self.error(.notFound, "symbol '\(name)' is not declared by any file served here", original: original)
            }
            return Self.response(original: original, field: .fileDescriptors, body: catalog.fileResponses[symbol.file])
        case .fileContainingExtension(let type, let number):
            return Self.error(.notFound, "no extension \(number) of '\(type)': this server declares no extensions",
                              original: original)
        case .allExtensionNumbersOfType(let name):
            guard catalog.symbol(name)?.kind == .message else {
                return Self.error(.notFound, "message type '\(name)' is not declared by any file served here",
                                  original: original)
            }
            // ExtensionNumberResponse { base_type_name = 1 } with no numbers: nothing extends our types.
            let body = ReflectionCatalog.encodeRepeatedBytes(fieldNumber: 1, [Array(name.utf8)])
            return Self.response(original: original, field: .extensionNumbers, body: body)
        case .empty:
            return Self.error(.invalidArgument, "the request sets none of message_request's fields", original: original)
        }
    }

    /// The `message_response` oneof's field numbers.
    private enum ResponseField: Int {
        /// FileDescriptorResponse.
        case fileDescriptors = 4
        /// ExtensionNumberResponse.
        case extensionNumbers = 5
        /// ListServiceResponse.
        case listServices = 6
        /// ErrorResponse.
        case error = 7
    }

    /// ErrorResponse { int32 error_code = 1; string error_message = 2 }.
    private static func error(_ code: GRPCStatusCode, _ message: String, original: UnsafeRawBufferPointer) -> WireMessage {
        let text = Array(message.utf8)
        let size = ProtobufWriter.int64FieldSize(fieldNumber: 1, Int64(code.rawValue))
            + ProtobufWriter.delimitedSize(fieldNumber: 2, payload: text.count)
        var body = [UInt8](repeating: 0, count: size)
        body.withUnsafeMutableBytes { buffer in
            var writer = ProtobufWriter(buffer)
            writer.writeInt64(fieldNumber: 1, Int64(code.rawValue))
            ReflectionCatalog.writeField(&writer, fieldNumber: 2, text)
        }
        return response(original: original, field: .error, body: body)
    }

    /// Sized, then written in one pass into the message that goes on the wire.
    private static func response(original: UnsafeRawBufferPointer, field: ResponseField, body: [UInt8]) -> WireMessage {
        let echoSize = original.isEmpty ? 0 : ProtobufWriter.delimitedSize(fieldNumber: 2, payload: original.count)
        let total = echoSize + ProtobufWriter.delimitedSize(fieldNumber: field.rawValue, payload: body.count)
        return WireMessage(payloadCount: total) { buffer in
            var writer = ProtobufWriter(buffer)
            writer.writeBytes(fieldNumber: 2, original)  // original_request; skipped when empty
            ReflectionCatalog.writeField(&writer, fieldNumber: field.rawValue, body)
            precondition(writer.offset == total, "ServerReflectionResponse size mismatch")
        }
    }
}

import GRPCServer
import SwiftProtobuf
import TickwireProto
import GRPCWire

/// The standard grpc.health.v1.Health service. The overall server ("") and
/// tickwire.v1.PriceStream share one status, which turns NOT_SERVING the
/// moment the server starts to stop; every open Watch hears about it.
final class HealthService {
    typealias Status = Grpc_Health_V1_HealthCheckResponse.ServingStatus

    static let servedNames: Set<String> = ["", "tickwire.v1.PriceStream", "grpc.health.v1.Health"]

    private(set) var status: Status = .serving
    private var watchers: [ObjectIdentifier: GRPCStream] = [:]

    var watcherCount: Int { watchers.count }

    /// Check: answers once the request message arrives.
    func check(_ stream: GRPCStream, request bytes: UnsafeRawBufferPointer) {
        guard let request = decode(bytes, on: stream) else { return }
        guard Self.servedNames.contains(request.service) else {
            stream.finish(GRPCStatus(.notFound, "unknown service '\(request.service)'"))
            return
        }
        stream.send(Self.message(status))
        stream.finish(.ok)
    }

    /// Watch: sends the current status now and every change after.
    func watch(_ stream: GRPCStream, request bytes: UnsafeRawBufferPointer) {
        guard let request = decode(bytes, on: stream) else { return }
        guard Self.servedNames.contains(request.service) else {
            // The spec keeps the call open and reports SERVICE_UNKNOWN.
            stream.send(Self.message(.serviceUnknown))
            return
        }
        watchers[ObjectIdentifier(stream)] = stream
        stream.send(Self.message(status))
    }

    /// Check and Watch each take exactly one request. A client that
    /// half-closes without sending it would otherwise hold one of its
    /// connection's stream slots until it gave up; the call ends now.
    func requestsEnded(_ stream: GRPCStream) {
        guard stream.isOpen, let status = Self.halfCloseStatus(requestMessages: stream.requestMessageCount) else { return }
        stream.finish(status)
    }

    /// INTERNAL, as for a request cut off mid-message: the client broke the
    /// call's contract (grpc-go answers UNKNOWN "EOF", grpcio UNIMPLEMENTED).
    static func halfCloseStatus(requestMessages: Int) -> GRPCStatus? {
        guard requestMessages == 0 else { return nil }
        return GRPCStatus(.internal, "the call half-closed without its request message: Health takes exactly one HealthCheckRequest")
    }

    func streamClosed(_ stream: GRPCStream) {
        watchers.removeValue(forKey: ObjectIdentifier(stream))
    }

    func setStatus(_ newStatus: Status) {
        guard newStatus != status else { return }
        status = newStatus
        let message = Self.message(newStatus)
        for stream in watchers.values { stream.send(message) }
    }

    /// Ends every Watch with `status` (when the server stops).
    func finishWatchers(_ status: GRPCStatus) {
        for stream in watchers.values { stream.finish(status) }
        watchers.removeAll()
    }

    private func decode(_ bytes: UnsafeRawBufferPointer, on stream: GRPCStream) -> Grpc_Health_V1_HealthCheckRequest? {
        do {
            return try Grpc_Health_V1_HealthCheckRequest(serializedBytes: Array(bytes))
        } catch {
            stream.finish(GRPCStatus(.invalidArgument, "the request is not a valid HealthCheckRequest: \(error)"))
            return nil
        }
    }

    private static func message(_ status: Status) -> WireMessage {
        var response = Grpc_Health_V1_HealthCheckResponse()
        response.status = status
        // Safe to force: encoding a message we just built cannot fail.
        return WireMessage(payload: try! response.serializedBytes())
    }
}

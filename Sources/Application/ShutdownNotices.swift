import GRPCServer
import SwiftProtobuf
import TickwireProto
import GRPCWire

/// The messages a stream receives as the server stops.
enum ShutdownNotices {
    /// StreamResponse.shutdown: when the stream will be ended, and why.
    static func notice(deadlineUnixMs: Int64, reason: String) -> WireMessage {
        var response = Tickwire_V1_StreamResponse()
        response.shutdown.deadlineUnixMs = deadlineUnixMs
        response.shutdown.reason = reason
        // Safe to force: encoding a message we just built cannot fail.
        return WireMessage(payload: try! response.serializedBytes())
    }

    static let unavailable = GRPCStatus(.unavailable, "server shutting down")
}

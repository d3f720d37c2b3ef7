/// gRPC's status codes (grpc/grpc doc/statuscodes.md), by their wire numbers.
public enum GRPCStatusCode: Int32, Sendable {
    case ok = 0
    case cancelled = 1
    case unknown = 2
    case invalidArgument = 3
    case deadlineExceeded = 4
    case notFound = 5
    case alreadyExists = 6
    case permissionDenied = 7
    case resourceExhausted = 8
    case failedPrecondition = 9
    case aborted = 10
    case outOfRange = 11
    case unimplemented = 12
    case `internal` = 13
    case unavailable = 14
    case dataLoss = 15
    case unauthenticated = 16
}

/// A code plus the human-readable message that travels in `grpc-message`.
public struct GRPCStatus: Equatable, Sendable, CustomStringConvertible {
    public let code: GRPCStatusCode
    public let message: String

    public init(_ code: GRPCStatusCode, _ message: String = "") {
        self.code = code
        self.message = message
    }

    public static let ok = GRPCStatus(.ok)

    public var description: String { message.isEmpty ? "\(code)" : "\(code): \(message)" }
}


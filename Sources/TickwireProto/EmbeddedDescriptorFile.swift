/// One .proto as server reflection hands it out: protoc's serialized
/// google.protobuf.FileDescriptorProto, kept as bytes because clients parse it
/// and the server only forwards it.
public struct EmbeddedDescriptorFile: Sendable {
    /// The path protoc knows the file by, e.g. `tickwire/v1/price_stream.proto`.
    public let name: String
    /// The names of the files it imports, which must be sent along with it.
    public let dependencies: [String]
    public let bytes: [UInt8]

    public init(name: String, dependencies: [String], bytes: [UInt8]) {
        self.name = name
        self.dependencies = dependencies
        self.bytes = bytes
    }
}

/// Where a fully-qualified name is declared, and what it names.
public struct EmbeddedSymbol: Sendable, Equatable {
    public enum Kind: Sendable {
        /// A service: listed by list_services.
        case service
        /// A service's method, e.g. `tickwire.v1.PriceStream.StreamPrices`.
        case method
        /// A message type, nested ones included.
        case message
        /// An enum type, top-level or nested.
        case enumeration
    }

    public let kind: Kind
    /// Index into EmbeddedDescriptors.files.
    public let file: Int

    public init(kind: Kind, file: Int) {
        self.kind = kind
        self.file = file
    }
}

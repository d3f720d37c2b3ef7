import GRPCWire
import TickwireProto

/// What server reflection knows, prepared once at startup: for every embedded
/// .proto the complete FileDescriptorResponse (the file, then everything it
/// imports, transitively, as grpcurl expects), the ListServiceResponse, and
/// the name tables that lead to them. Answering is then a lookup and a copy.
struct ReflectionCatalog {
    /// Serialized FileDescriptorResponse per file, indexed like EmbeddedDescriptors.files.
    let fileResponses: [[UInt8]]
    /// Serialized ListServiceResponse.
    let servicesResponse: [UInt8]
    /// Every service, sorted, as list_services reports them.
    let serviceNames: [String]
    private let fileIndex: [String: Int]
    private let symbols: [String: EmbeddedSymbol]

    init(files: [EmbeddedDescriptorFile] = EmbeddedDescriptors.files,
         symbols: [String: EmbeddedSymbol] = EmbeddedDescriptors.symbols) {
        var fileIndex: [String: Int] = [:]
        for (index, file) in files.enumerated() { fileIndex[file.name] = index }
        self.fileIndex = fileIndex
        self.symbols = symbols
        fileResponses = files.indices.map { index in
            let closure = Self.withImports(index, files: files, fileIndex: fileIndex)
            return Self.encodeRepeatedBytes(fieldNumber: 1, closure.map { files[$0].bytes })
        }
        serviceNames = symbols.filter { $0.value.kind == .service }.map(\.key).sorted()
        // ListServiceResponse { repeated ServiceResponse service = 1 { string name = 1 } }
        servicesResponse = Self.encodeRepeatedBytes(fieldNumber: 1, serviceNames.map {
            Self.encodeRepeatedBytes(fieldNumber: 1, [Array($0.utf8)])
        })
    }

    /// The file protoc knows by this name.
    func file(named name: String) -> Int? { fileIndex[name] }

    /// The file declaring a fully-qualified name; a leading dot is accepted,
    /// as in descriptor type references.
    func symbol(_ name: String) -> EmbeddedSymbol? {
        symbols[name.hasPrefix(".") ? String(name.dropFirst()) : name]
    }

    /// `index` first, then its imports depth first, each file once.
    private static func withImports(_ index: Int, files: [EmbeddedDescriptorFile], fileIndex: [String: Int]) -> [Int] {
        var order: [Int] = []
        var pending = [index]
        while let next = pending.popLast() {
            guard !order.contains(next) else { continue }
            order.append(next)
            // protoc embedded every import (--include_imports); a missing one is a generator bug.
            pending += files[next].dependencies.reversed().map { name in
                guard let found = fileIndex[name] else { preconditionFailure("import \(name) is not embedded") }
                return found
            }
        }
        return order
    }

    /// A message made only of one repeated length-delimited field.
    static func encodeRepeatedBytes(fieldNumber: Int, _ values: [[UInt8]]) -> [UInt8] {
        let size = values.reduce(0) { $0 + ProtobufWriter.delimitedSize(fieldNumber: fieldNumber, payload: $1.count) }
        var encoded = [UInt8](repeating: 0, count: size)
        encoded.withUnsafeMutableBytes { buffer in
            guard size > 0 else { return }
            var writer = ProtobufWriter(buffer)
            for value in values {
                Self.writeField(&writer, fieldNumber: fieldNumber, value)
            }
            precondition(writer.offset == size, "reflection encoding size mismatch")
        }
        return encoded
    }

    /// A length-delimited field, written even when empty: in a repeated field
    /// or a oneof an empty value still says something.
    static func writeField(_ writer: inout ProtobufWriter, fieldNumber: Int, _ value: UnsafeRawBufferPointer) {
        if value.isEmpty {
            writer.writeDelimitedHeader(fieldNumber: fieldNumber, length: 0)
        } else {
            writer.writeBytes(fieldNumber: fieldNumber, value)
        }
    }

    static func writeField(_ writer: inout ProtobufWriter, fieldNumber: Int, _ value: [UInt8]) {
        value.withUnsafeBytes { writeField(&writer, fieldNumber: fieldNumber, $0) }
    }
}

import GRPCWire
import Foundation
import SwiftProtobuf
import Testing
import TickwireProto
@testable import Application

@Suite struct EmbeddedDescriptorTests {
    /// Fails when a served .proto changed but scripts/regenerate-protos.sh was not run.
    @Test func descriptorsMatchTheProtos() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        #expect(EmbeddedDescriptors.sourceSHA256.count == EmbeddedDescriptors.files.count)
        for (path, digest) in EmbeddedDescriptors.sourceSHA256 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
            process.arguments = [root.appendingPathComponent("Protos").appendingPathComponent(path).path]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            process.waitUntilExit()
            let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(printed.split(separator: " ").first.map(String.init) == digest,
                    "Protos/\(path) changed since its descriptor was embedded: run scripts/regenerate-protos.sh")
        }
    }

    /// The index the generator wrote agrees with what the bytes declare.
    @Test func symbolIndexMatchesTheDescriptors() throws {
        var declared: [String: EmbeddedSymbol] = [:]
        for (index, file) in EmbeddedDescriptors.files.enumerated() {
            let proto = try Google_Protobuf_FileDescriptorProto(serializedBytes: file.bytes)
            #expect(proto.name == file.name)
            #expect(proto.dependency == file.dependencies)
            let package = proto.package
            func messages(_ list: [Google_Protobuf_DescriptorProto], scope: String) {
                for message in list {
                    let name = "\(scope).\(message.name)"
                    declared[name] = EmbeddedSymbol(kind: .message, file: index)
                    for nested in message.enumType { declared["\(name).\(nested.name)"] = EmbeddedSymbol(kind: .enumeration, file: index) }
                    messages(message.nestedType, scope: name)
                }
            }
            messages(proto.messageType, scope: package)
            for enumeration in proto.enumType { declared["\(package).\(enumeration.name)"] = EmbeddedSymbol(kind: .enumeration, file: index) }
            for service in proto.service {
                declared["\(package).\(service.name)"] = EmbeddedSymbol(kind: .service, file: index)
                for method in service.method { declared["\(package).\(service.name).\(method.name)"] = EmbeddedSymbol(kind: .method, file: index) }
            }
        }
        #expect(declared == EmbeddedDescriptors.symbols)
    }

    @Test func catalogAnswersWithTheFileThenItsImports() throws {
        // A made-up chain c imports b imports a, plus d importing a and c.
        func file(_ name: String, _ dependencies: [String]) -> EmbeddedDescriptorFile {
            EmbeddedDescriptorFile(name: name, dependencies: dependencies, bytes: Array(name.utf8))
        }
        let files = [file("a", []), file("b", ["a"]), file("c", ["b"]), file("d", ["a", "c"])]
        let catalog = ReflectionCatalog(files: files, symbols: ["p.S": EmbeddedSymbol(kind: .service, file: 3)])
        #expect(try repeatedBytes(catalog.fileResponses[2]) == ["c", "b", "a"])
        #expect(try repeatedBytes(catalog.fileResponses[3]) == ["d", "a", "c", "b"])
        #expect(catalog.symbol(".p.S") == EmbeddedSymbol(kind: .service, file: 3))
        #expect(catalog.file(named: "b") == 1)
        #expect(catalog.serviceNames == ["p.S"])
    }

    @Test func servedServicesAreListed() {
        #expect(ReflectionCatalog().serviceNames == [
            "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection", "tickwire.v1.PriceStream",
        ])
    }

    /// The payloads of field 1 in a message made of only that field.
    private func repeatedBytes(_ message: [UInt8]) throws -> [String] {
        try message.withUnsafeBytes { bytes in
            var reader = ProtobufReader(bytes)
            var values: [String] = []
            while let field = try reader.next() {
                guard field.number == 1, case .delimited(let value) = field.value else { Issue.record("unexpected field"); continue }
                values.append(String(decoding: value, as: UTF8.self))
            }
            return values
        }
    }
}

@Suite struct ReflectionRequestTests {
    private func decode(_ bytes: [UInt8]) -> ReflectionRequest? {
        bytes.withUnsafeBytes { ReflectionRequest(decoding: $0) }
    }

    @Test func decodesEachQuestion() {
        #expect(decode([0x3a, 0x00]) == .listServices)
        #expect(decode([0x0a, 0x01, 0x68, 0x22, 0x03, 0x61, 0x2e, 0x42]) == .fileContainingSymbol("a.B"))  // with host "h"
        #expect(decode([0x1a, 0x03, 0x78, 0x2e, 0x70]) == .fileByFilename("x.p"))
        #expect(decode([0x32, 0x01, 0x4d]) == .allExtensionNumbersOfType("M"))
        #expect(decode([0x2a, 0x05, 0x0a, 0x01, 0x4d, 0x10, 0x07]) == .fileContainingExtension(containingType: "M", number: 7))
        #expect(decode([]) == .empty)
        #expect(decode([0x22, 0x01, 0x41, 0x3a, 0x00]) == .listServices)  // the oneof's last value wins
    }

    @Test func rejectsBytesThatAreNotAMessage() {
        #expect(decode([0x22, 0x05, 0x41]) == nil)  // length past the end
        #expect(decode([0x22]) == nil)  // truncated
        #expect(decode([0x0b]) == nil)  // a group
        #expect(decode([0x00, 0x00]) == nil)  // field number 0
        #expect(decode([0x38, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]) == nil)  // varint too long
    }
}

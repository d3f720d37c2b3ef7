// swift-tools-version:6.1
// The grpc-swift-2 peer of issue 8's benchmark: a package of its own so the
// server's root Package.swift never pulls in gRPC, NIO-SSL or swift-protobuf.
import PackageDescription

let package = Package(
    name: "tickwire-grpc-swift-2",
    // grpc-swift-2 is available from macOS 15 on; Linux ignores this.
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        // The Swift example client, which build.sh builds with the peer so
        // that both share one compile of gRPC and NIO.
        .package(path: "../../../docs/examples/swift/tickwire-watch"),
    ],
    targets: [
        .executableTarget(
            name: "tickwire-grpc-swift-2",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Sources/TickwireGRPCSwift2"
        )
    ]
)

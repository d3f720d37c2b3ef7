// swift-tools-version:6.1
// tickwire-watch: the Swift example client (grpc-swift-2). A package of its
// own, which bench/peers/swift depends on by path so that
// bench/peers/swift/build.sh builds it next to the grpc-swift-2 peer, sharing
// one compile of gRPC and NIO. (A path dependency's identity is its directory
// name: "swift", the peer's own, would resolve to the peer itself.)
import PackageDescription

let package = Package(
    name: "tickwire-examples-swift",
    // grpc-swift-2 is available from macOS 15 on; Linux ignores this.
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tickwire-watch", targets: ["TickwireWatch"]),
    ],
    dependencies: [
        // The versions bench/peers/swift pins, so one resolution serves both.
        .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
    ],
    targets: [
        .executableTarget(
            name: "TickwireWatch",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
    ]
)

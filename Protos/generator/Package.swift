// swift-tools-version:6.0
// Builds only protoc-gen-swift, for scripts/regenerate-protos.sh. Kept out of the
// server's package so that its ~10 minute build never touches the server's graph.
import PackageDescription

let package = Package(
    name: "tickwire-protoc-gen",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
    ],
    targets: []
)

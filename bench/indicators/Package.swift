// swift-tools-version:6.1
// Microbenchmarks for the Indicators layer (ordo-one/benchmark).
//
// A package of its own so that the benchmark dependency and its plugins stay
// out of the server's build. It compiles the very sources the server does:
// Sources/Indicators here is a relative symlink to the repository's
// Sources/Indicators, because the root package exports no Indicators library.
//
// Run from this folder (see README.md):
//   swift package --scratch-path .build benchmark
import PackageDescription

let package = Package(
    name: "IndicatorsBench",
    platforms: [.macOS(.v13)],
    dependencies: [
        // Only MallocInterposer: the default RuntimeInterposer trait is not needed
        // for malloc counts and is not available offline here.
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The server's Indicators sources, unchanged (symlink, see above).
        .target(name: "Indicators", path: "Sources/Indicators"),
        .executableTarget(
            name: "IndicatorBenchmarks",
            dependencies: [
                "Indicators",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/IndicatorBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ]
)

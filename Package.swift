// swift-tools-version:6.0
// Tickwire: one target per layer, so that the import graph shows the architecture.
// Imports point down only.
//
//   tickwire (executable)  -> Application, Supervisor, ArgumentParser, Logging   (parse, wire, run)
//   Supervisor             -> Reactor, Logging (--workers: spawns, reaps and restarts worker processes)
//   Application            -> Engine, GRPCServer, BinanceFeed, MetricsHTTP, TLS, Prometheus
//                             (the composition root: wiring, RPC dispatch, health, reflection, metrics)
//   Engine                 -> MarketData, Indicators, Candles, GRPCWire, TickwireProto (no I/O: fan-out,
//                             stream registry, slow consumers, client bounds, indicator batches)
//   MetricsHTTP            -> Reactor (the /metrics HTTP/1.1 endpoint; knows nothing of Prometheus)
//   GRPCServer             -> Reactor, TLS, GRPCWire, CNghttp2 (gRPC semantics on nghttp2)
//   BinanceFeed            -> Reactor, TLS, WebSocket, MarketData, CBinanceJSON -> CSimdjson
//   WebSocket              -> CWslay, COpenSSL (RNG, SHA-1 for the handshake)
//   TLS                    -> Reactor (errno classes), COpenSSL
//   Reactor                -> CTickwireShim, CURing (liburing, for the io_uring poller), CAres (DNS on the loop)
//   GRPCWire               -> (nothing: a framed message, status codes, protobuf wire format)
//   MarketData             -> (nothing: Trade, TradeSink, SymbolTable)
//   Indicators             -> (nothing)
//   Candles                -> MarketData, Indicators (klines built from trades, indicators on their closes; no I/O)
//   TickwireProto          -> SwiftProtobuf (generated code, committed)
import PackageDescription

// Release builds of the per-trade layers skip Swift's dynamic exclusivity
// checks: a profile of 1000-stream fan-out spent ~13% of the server's CPU in
// them (swift_beginAccess, AccessSet::insert and their TLS lookups). Debug
// builds, and therefore every test run and the sanitizer runs, keep them.
//
// The engine is generic over the stream it queues on and is specialised in
// the application for GRPCStream; cross-module optimisation lets the
// compiler do that (and inline the wire helpers) across target boundaries,
// so the per-trade walk stays static calls.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked", "-cross-module-optimization"],
                                            .when(configuration: .release))]

let package = Package(
    name: "Tickwire",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "tickwire", targets: ["tickwire"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        // The registry and text exposition only; pulls in swift-metrics (CoreMetrics) and swift-atomics.
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // C edges: system libraries and the one small shim.
        .systemLibrary(name: "CNghttp2", path: "Sources/CSystem/CNghttp2", pkgConfig: "libnghttp2",
                       providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/CSystem/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CWslay", path: "Sources/CSystem/CWslay",
                       providers: [.apt(["libwslay-dev"])]),
        .systemLibrary(name: "CURing", path: "Sources/CSystem/CURing", pkgConfig: "liburing",
                       providers: [.apt(["liburing-dev"])]),
        .systemLibrary(name: "CAres", path: "Sources/CSystem/CAres", pkgConfig: "libcares",
                       providers: [.apt(["libc-ares-dev"])]),
        // No pkgConfig: simdjson.pc adds -DSIMDJSON_THREADS_ENABLED, a flag SwiftPM
        // refuses; the header is in /usr/include and On-Demand needs no threads.
        .systemLibrary(name: "CSimdjson", path: "Sources/CSystem/CSimdjson",
                       providers: [.apt(["libsimdjson-dev"])]),
        .target(name: "CTickwireShim", path: "Sources/CTickwireShim"),
        // The C++ shim #includes simdjson rather than importing the module, so
        // the module map's `link` does not apply: the library is named here.
        .target(name: "CBinanceJSON", dependencies: ["CSimdjson"], path: "Sources/CBinanceJSON",
                // NDEBUG in release turns off simdjson's development checks
                // (~300 instructions per trade); debug builds, the fuzzers and
                // the sanitizer runs keep them, and they catch a misuse.
                cxxSettings: [.unsafeFlags(["-O2", "-msse4.2", "-mpclmul", "-mpopcnt"]),
                              .define("NDEBUG", .when(configuration: .release))],
                linkerSettings: [.linkedLibrary("simdjson")]),

        // Layers.
        .target(name: "Reactor", dependencies: ["CTickwireShim", "CURing", "CAres"], swiftSettings: hotPath),
        .target(name: "MarketData", swiftSettings: hotPath),
        .target(name: "GRPCWire", swiftSettings: hotPath),
        .target(name: "TLS", dependencies: ["Reactor", "COpenSSL"], swiftSettings: hotPath),
        .target(name: "WebSocket", dependencies: ["CWslay", "COpenSSL"], swiftSettings: hotPath),
        .target(name: "BinanceFeed", dependencies: ["Reactor", "TLS", "WebSocket", "MarketData", "CBinanceJSON"], swiftSettings: hotPath),
        .target(name: "GRPCServer", dependencies: ["Reactor", "TLS", "GRPCWire", "CNghttp2", "CTickwireShim"], swiftSettings: hotPath),
        .target(name: "Indicators", swiftSettings: hotPath),
        .target(name: "Candles", dependencies: ["MarketData", "Indicators"], swiftSettings: hotPath),
        .target(name: "MetricsHTTP", dependencies: ["Reactor"]),
        .target(name: "TickwireProto", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .target(name: "Engine", dependencies: [
            "MarketData", "Indicators", "Candles", "GRPCWire", "TickwireProto",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ], swiftSettings: hotPath),
        .target(name: "Application", dependencies: [
            "Engine", "GRPCServer", "BinanceFeed", "MarketData", "GRPCWire", "Indicators", "Candles", "TickwireProto",
            "Reactor", "TLS", "MetricsHTTP",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], swiftSettings: hotPath),
        .target(name: "Supervisor", dependencies: [
            "Reactor", "CTickwireShim", .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "tickwire", dependencies: [
            "Application", "Engine", "MarketData", "Reactor", "BinanceFeed", "GRPCServer", "Supervisor",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Unit tests (Swift Testing). Integration tests live in Tests/Integration (Python).
        .testTarget(name: "ReactorTests", dependencies: ["Reactor", "CTickwireShim"]),
        .testTarget(name: "BinanceFeedTests", dependencies: ["BinanceFeed", "MarketData", "Reactor"]),
        .testTarget(name: "WebSocketTests", dependencies: ["WebSocket", "CWslay"]),
        .testTarget(name: "GRPCServerTests", dependencies: ["GRPCServer", "GRPCWire"]),
        .testTarget(name: "IndicatorsTests", dependencies: ["Indicators"]),
        .testTarget(name: "CandlesTests", dependencies: ["Candles", "Indicators", "MarketData"]),
        .testTarget(name: "MetricsHTTPTests", dependencies: ["MetricsHTTP", "Reactor"]),
        .testTarget(name: "SupervisorTests", dependencies: ["Supervisor"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "MarketData", "GRPCWire", "Indicators", "Candles", "TickwireProto",
                                                        .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .testTarget(name: "ApplicationTests", dependencies: ["Application", "Engine", "MarketData", "TickwireProto",
                                                             .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
    ]
)

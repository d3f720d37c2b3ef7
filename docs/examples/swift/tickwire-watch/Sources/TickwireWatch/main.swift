// tickwire-watch (Swift, grpc-swift-2): subscribes to RSI(14) of one symbol
// on a Tickwire server's StreamPrices stream, and prints every price and
// indicator value until Ctrl-C, the server ending the stream, or `--count N`
// messages (prices and indicator batches).
//
// usage: tickwire-watch [--target HOST:PORT] [--symbol SYMBOL] [--count N]
import Dispatch
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf

struct Options: Sendable {
    var host = "127.0.0.1"
    var port = 50051
    var symbol = "btcusdt"
    /// Stop after this many prices and indicator batches; 0 runs until Ctrl-C.
    var count = 0
}

let usage = "usage: tickwire-watch [--target HOST:PORT] [--symbol SYMBOL] [--count N]"

func parseOptions(_ arguments: [String]) -> Options {
    var options = Options()
    var rest = arguments[...]
    while let flag = rest.popFirst() {
        if flag == "-h" || flag == "--help" {
            print(usage)
            exit(0)
        }
        guard let value = rest.popFirst() else { fail("\(flag) needs a value") }
        switch flag {
        case "--target":
            // The last colon splits, so "[::1]:50051" keeps its address whole.
            guard let colon = value.lastIndex(of: ":"), let port = Int(value[value.index(after: colon)...]) else {
                fail("--target \(value) is not HOST:PORT")
            }
            options.host = String(value[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            options.port = port
        case "--symbol":
            options.symbol = value
        case "--count":
            guard let count = Int(value), count >= 0 else { fail("--count \(value) is not a whole number") }
            options.count = count
        default:
            fail("unknown flag \(flag)")
        }
    }
    return options
}

/// Prints one line with its own write, so a pipe gets each line as it comes
/// (print would buffer it; stdout's buffering cannot be set from Swift 6 code).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("\(message)\n\(usage)\n".utf8))
    exit(2)
}

/// tickwire.v1.PriceStream/StreamPrices, described by hand: the one method
/// protoc-gen-grpc-swift-2 would generate a stub for (see docs/examples/README.md).
let streamPrices = MethodDescriptor(
    service: ServiceDescriptor(package: "tickwire.v1", service: "PriceStream"),
    method: "StreamPrices")

func typeName(_ type: Tickwire_V1_IndicatorType) -> String {
    switch type {
    case .sma: "SMA"
    case .ema: "EMA"
    case .rsi: "RSI"
    default: "type \(type.rawValue)"
    }
}

/// A status code as the other examples print it: resourceExhausted -> RESOURCE_EXHAUSTED.
func codeName(_ code: RPCError.Code) -> String {
    String(describing: code).reduce(into: "") { name, character in
        if character.isUppercase { name += "_" }
        name += character.uppercased()
    }
}

/// Opens the stream, subscribes, and prints until the count, the server's end
/// of the call, or cancellation (Ctrl-C).
func watch(_ options: Options) async throws {
    let transport = try HTTP2ClientTransport.Posix(
        target: .dns(host: options.host, port: options.port), transportSecurity: .plaintext)
    try await withGRPCClient(transport: transport) { client in
        let request = StreamingClientRequest<Tickwire_V1_IndicatorRequest> { writer in
            var subscribe = Tickwire_V1_IndicatorRequest()
            subscribe.action = .subscribe
            subscribe.symbol = options.symbol
            subscribe.type = .rsi
            subscribe.period = 14
            subscribe.requestID = "rsi14"
            try await writer.write(subscribe)
            // Returning closes our side; the server keeps streaming (a half-close
            // does not end StreamPrices). Keep the producer running instead to
            // change subscriptions later.
        }
        try await client.bidirectionalStreaming(
            request: request,
            descriptor: streamPrices,
            serializer: ProtobufSerializer<Tickwire_V1_IndicatorRequest>(),
            deserializer: ProtobufDeserializer<Tickwire_V1_StreamResponse>(),
            options: .defaults
        ) { response in
            try await printResponses(response, count: options.count)
        }
    }
}

func printResponses(_ response: StreamingClientResponse<Tickwire_V1_StreamResponse>, count: Int) async throws {
    var prices = 0
    var batches = 0
    defer { say("done: \(prices) prices, \(batches) indicator batches") }
    do {
        for try await message in response.messages {
            switch message.payload {
            case .price(let p)?:
                prices += 1
                say("price \(p.symbol) #\(p.tradeID) \(p.price) x \(p.quantity)")
            case .indicators(let batch)?:
                batches += 1
                for u in batch.updates {
                    say("indicator \(u.symbol) \(typeName(u.type))(\(u.period)) = \(String(format: "%.4f", u.value))"
                          + " as of trade #\(u.tradeID)")
                }
            case .status(let s)?:
                say("subscription \(s.requestID): code \(s.code) \(s.message)")
            case .shutdown(let notice)?:
                say("server stops at \(notice.deadlineUnixMs) ms: \(notice.reason)")
            default:
                break  // gaps and candles: not subscribed to here
            }
            if count > 0 && prices + batches >= count {
                say("stream ended: --count \(count) reached")
                return  // returning cancels the call
            }
        }
        say("stream ended: OK")
    } catch let error as RPCError {
        say("stream ended: \(codeName(error.code)) \(error.message)")  // UNAVAILABLE after a server drain
    } catch is CancellationError {
        say("stream ended: cancelled")
    }
}

let options = parseOptions(Array(CommandLine.arguments.dropFirst()))
let watching = Task { try await watch(options) }

// Ctrl-C (and SIGTERM) cancel the call.
let signalSources = onTerminationSignals { watching.cancel() }

do {
    try await watching.value
    exit(0)
} catch where watching.isCancelled {
    exit(0)  // Ctrl-C before or while connecting
} catch {
    FileHandle.standardError.write(Data("tickwire-watch: \(error)\n".utf8))
    exit(1)
}

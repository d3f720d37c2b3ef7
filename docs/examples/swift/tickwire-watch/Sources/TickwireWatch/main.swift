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
    defer { print("done: \(prices) prices, \(batches) indicator batches") }
    do {
        for try await message in response.messages {
            switch message.payload {
            case .price(let p)?:
                prices += 1
                print("price \(p.symbol) #\(p.tradeID) \(p.price) x \(p.quantity)")
            case .indicators(let batch)?:
                batches += 1
                for u in batch.updates {
                    print("indicator \(u.symbol) \(typeName(u.type))(\(u.period)) = \(String(format: "%.4f", u.value))"
                          + " as of trade #\(u.tradeID)")
                }
            case .status(let s)?:
                print("subscription \(s.requestID): code \(s.code) \(s.message)")
            case .shutdown(let notice)?:
                print("server stops at \(notice.deadlineUnixMs) ms: \(notice.reason)")
            default:
                break  // gaps and candles: not subscribed to here
            }
            if count > 0 && prices + batches >= count {
                print("stream ended: --count \(count) reached")
                return  // returning cancels the call
            }
        }
        print("stream ended: OK")
    } catch let error as RPCError {
        print("stream ended: \(error.code) \(error.message)")  // UNAVAILABLE after a server drain
    } catch is CancellationError {
        print("stream ended: cancelled")
    }
}

setvbuf(stdout, nil, _IOLBF, 0)  // one line at a time, also into a pipe
let options = parseOptions(Array(CommandLine.arguments.dropFirst()))
let watching = Task { try await watch(options) }

// Ctrl-C (and SIGTERM) cancel the call; the handler runs on a Dispatch queue.
let signalQueue = DispatchQueue(label: "signals")
let signalSources = [SIGINT, SIGTERM].map { number in
    signal(number, SIG_IGN)  // delivered through the source instead
    let source = DispatchSource.makeSignalSource(signal: number, queue: signalQueue)
    source.setEventHandler { watching.cancel() }
    source.resume()
    return source
}

do {
    try await watching.value
    exit(0)
} catch where watching.isCancelled {
    exit(0)  // Ctrl-C before or while connecting
} catch {
    FileHandle.standardError.write(Data("tickwire-watch: \(error)\n".utf8))
    exit(1)
}

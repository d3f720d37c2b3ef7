// tickwire-grpc-swift-2: the grpc-swift-2 peer Tickwire is benchmarked
// against (issue 8). The same StreamPrices contract as Tickwire and the
// grpc-go peer, fed by the same replay file at the same fixed rate, written
// as an ordinary grpc-swift-2 service on the NIO HTTP/2 transport. This file
// only parses the flags, wires the parts and runs them until a signal.
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix

let flags: ServerFlags
do {
    flags = try ServerFlags.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("\(error)\n\(ServerFlags.usage)\n".utf8))
    exit(2)
}
let (host, port): (String, Int)
do { (host, port) = try flags.hostAndPort() } catch { fatal("\(error)") }

let trades: [Trade]
do { trades = try loadTrades(path: flags.replayPath) } catch { fatal("replay: \(error)") }
let hub = PriceHub(symbols: symbols(of: trades), streamBuffer: flags.streamBuffer, waitStreams: flags.replayWaitStreams)

// grpc-swift-2's defaults except where a benchmark peer must not differ from
// grpc-go's: see README.md ("Configuration"). Compression stays off (the
// default) and streams per connection stay unlimited (the default, nil).
let transport = HTTP2ServerTransport.Posix(
    address: .ipv4(host: host, port: port),
    transportSecurity: .plaintext,
    config: .defaults { config in
        config.http2.maxConcurrentStreams = nil
        config.compression.enabledAlgorithms = .none
    })
let server = GRPCServer(transport: transport, services: [PriceStreamService(hub: hub)])

let serving = Task { try await server.serve() }
let replaying = Task {
    await hub.enoughStreams()
    if Task.isCancelled { return }
    logLine("trades=\(trades.count) rate=\(formatRate(flags.replayRate)) loop=\(flags.replayLoop) replay starting")
    await Replayer(trades: trades, rate: flags.replayRate, loop: flags.replayLoop).run(into: hub)
}

// Streams never end by themselves, so a graceful shutdown would wait forever:
// SIGTERM/SIGINT stop at once, as the grpc-go peer's Stop() does.
let signalSources = onTerminationSignals {
    replaying.cancel()
    serving.cancel()
}

do {
    let address = try await transport.listeningAddress
    guard let bound = address.ipv4 else { fatal("listen: \(address) is not an IPv4 address") }
    logLine("address=\(bound.host):\(bound.port) listening")
    try await serving.value
} catch where serving.isCancelled {
    // A signal cancelled serve(); the transport reports that as its error.
} catch {
    fatal("serve: \(error)")
}
replaying.cancel()
logLine("dropped=\(hub.droppedCount) stopped")
exit(0)

/// Go's %g for the rate in the `replay starting` line (1000, not 1000.0).
func formatRate(_ rate: Double) -> String {
    rate == rate.rounded() ? String(Int(rate)) : String(rate)
}

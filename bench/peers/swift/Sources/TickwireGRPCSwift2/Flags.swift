import Foundation

/// The command line, with the grpc-go peer's flag names, defaults and
/// syntax (Go's `flag` package: `-name value`, `-name=value`, `--name`, and
/// booleans that take no value), so bench/compare/servers.py starts both peers
/// with the same argv.
struct ServerFlags {
    var listen = "127.0.0.1:50051"
    var replayPath = ""
    /// Trades per second; 0 is as fast as the streams accept.
    var replayRate = 1000.0
    var replayLoop = false
    var replayWaitStreams = 0
    /// Messages buffered per stream (the AsyncStream's bound).
    var streamBuffer = 4096

    static let usage = """
        usage: tickwire-grpc-swift-2 [-listen HOST:PORT] -replay FILE [-replay-rate N] [-replay-loop]
               [-replay-wait-streams N] [-stream-buffer N] [-policy drop]
        """

    /// Parses argv (without the program name); the error is for the user.
    static func parse(_ arguments: [String]) throws(FlagError) -> ServerFlags {
        var flags = ServerFlags()
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            guard argument.hasPrefix("-"), argument != "-" else { throw FlagError("unexpected argument \(argument)") }
            let body = argument.drop(while: { $0 == "-" })
            let parts = body.split(separator: "=", maxSplits: 1)
            let name = String(parts[0])
            var inline: String? = parts.count == 2 ? String(parts[1]) : nil
            if name == "replay-loop" {
                // A Go boolean flag takes a value only as `-replay-loop=false`.
                flags.replayLoop = inline.map { $0 == "true" || $0 == "1" } ?? true
                continue
            }
            if inline == nil { inline = rest.popFirst() }
            guard let value = inline else { throw FlagError("flag needs an argument: -\(name)") }
            try flags.set(name, value)
        }
        if flags.replayPath.isEmpty { throw FlagError("-replay FILE is required") }
        return flags
    }

    private mutating func set(_ name: String, _ value: String) throws(FlagError) {
        switch name {
        case "listen": listen = value
        case "replay": replayPath = value
        case "replay-rate":
            guard let rate = Double(value), rate >= 0 else { throw FlagError("-replay-rate: \(value) is not a rate ≥ 0") }
            replayRate = rate
        case "replay-wait-streams":
            guard let count = Int(value) else { throw FlagError("-replay-wait-streams: \(value) is not a count") }
            replayWaitStreams = count
        case "stream-buffer":
            guard let size = Int(value), size > 0 else { throw FlagError("-stream-buffer: \(value) is not a size > 0") }
            streamBuffer = size
        case "policy":
            // AsyncStream never makes its producer wait, so the Go peer's
            // default `block` has no AsyncStream counterpart: see README.md.
            guard value == "drop" else { throw FlagError("-policy: only drop (an AsyncStream never blocks its producer)") }
        default: throw FlagError("flag provided but not defined: -\(name)")
        }
    }

    /// `listen` split into host and port.
    func hostAndPort() throws(FlagError) -> (host: String, port: Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            throw FlagError("-listen: \(listen) is not HOST:PORT")
        }
        let host = listen[..<colon].trimmingCharacters(in: ["[", "]"])
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }
}

struct FlagError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

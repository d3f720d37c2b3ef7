import ArgumentParser
import GRPCServer

/// The keepalive, client PING policy and connection age flags.
extension TickwireCommand {
    func makeKeepalivePolicy() throws -> KeepalivePolicy {
        var policy = KeepalivePolicy()
        policy.timeNanos = try Self.duration("keepalive-time", keepaliveTime, atLeastMs: 1_000, example: "2m",
                                             never: ["off"])
        policy.timeoutNanos = try Self.duration("keepalive-timeout", keepaliveTimeout, atLeastMs: 100,
                                                example: "20s", never: [])!
        policy.minPingIntervalNanos = try Self.duration("keepalive-min-ping-interval", keepaliveMinPingInterval,
                                                        atLeastMs: 0, example: "5m", never: [])!
        policy.permitWithoutCalls = keepalivePermitWithoutCalls
        policy.maxConnectionAgeNanos = try Self.duration("max-connection-age", maxConnectionAge, atLeastMs: 1_000,
                                                         example: "30m", never: ["off", "infinite"])
        policy.maxConnectionAgeGraceNanos = try Self.duration("max-connection-age-grace", maxConnectionAgeGrace,
                                                              atLeastMs: 0, example: "30s", never: ["infinite", "off"])
        return policy
    }

    /// A Go duration of at least `atLeastMs`, or nil for one of the `never` words.
    private static func duration(_ flag: String, _ text: String, atLeastMs: Int64, example: String,
                                 never: [String]) throws -> Int64? {
        if never.contains(text.lowercased()) { return nil }
        guard let parsed = GoDuration(parsing: text), parsed.nanoseconds >= atLeastMs * 1_000_000 else {
            let words = never.isEmpty ? "" : " (or \(never.map { "'\($0)'" }.joined(separator: " or ")))"
            throw ValidationError("--\(flag) '\(text)' must be a duration of at least \(atLeastMs)ms, such as \(example)\(words)")
        }
        return parsed.nanoseconds
    }
}

import ArgumentParser

/// Duration options are parsed `.unconditional`ly: otherwise
/// swift-argument-parser takes `-1s` for short flags and answers "Missing
/// value for '--drain-timeout'", which hides the real mistake.
extension TickwireCommand {
    /// Every duration-valued option, by flag name.
    var durationOptions: KeyValuePairs<String, String> {
        [
            "slow-consumer-timeout": slowConsumerTimeout, "write-idle-timeout": writeIdleTimeout,
            "handshake-timeout": handshakeTimeout, "flush-linger": flushLinger, "flush-budget": flushBudget ?? "",
            "keepalive-time": keepaliveTime, "keepalive-timeout": keepaliveTimeout,
            "keepalive-min-ping-interval": keepaliveMinPingInterval, "max-connection-age": maxConnectionAge,
            "max-connection-age-grace": maxConnectionAgeGrace, "drain-timeout": drainTimeout,
            "stop-flush-timeout": stopFlushTimeout, "indicator-interval": indicatorInterval,
            "candle-close-grace": candleCloseGrace, "stale-timeout": staleTimeout,
            "binance-max-connection-age": binanceMaxConnectionAge, "reconnect-base": reconnectBase,
            "reconnect-cap": reconnectCap, "backfill-timeout": backfillTimeout,
        ]
    }

    /// A duration with a minus sign is refused as such, before any option's
    /// own range check calls it "not a duration".
    func refuseNegativeDurations() throws {
        for (flag, text) in durationOptions where text.hasPrefix("-") {
            guard GoDuration(parsing: String(text.dropFirst())) != nil else { continue }
            throw ValidationError("--\(flag) '\(text)': negative durations are not allowed")
        }
    }
}

import ArgumentParser
import Application
import Engine

/// Parts of `makeConfiguration`, one group of flags each, in the order their
/// errors are reported.
extension TickwireCommand {
    /// --stream-hard-limit, --stream-soft-limit, --slow-consumer-timeout.
    func applyBacklogLimits(to configuration: inout ServerConfiguration) throws {
        guard streamHardLimit >= 64 * 1024 else { throw ValidationError("--stream-hard-limit must be at least 65536") }
        guard streamSoftLimit >= 16 * 1024 && streamSoftLimit <= streamHardLimit else {
            throw ValidationError("--stream-soft-limit must be at least 16384 and at most --stream-hard-limit (\(streamHardLimit))")
        }
        guard let slowTimeout = GoDuration(parsing: slowConsumerTimeout), slowTimeout.nanoseconds >= 100_000_000 else {
            throw ValidationError("--slow-consumer-timeout '\(slowConsumerTimeout)' must be a duration of at least 100ms, such as 10s")
        }
        configuration.grpc.maxStreamBacklogBytes = streamHardLimit
        configuration.slowConsumers.softLimitBytes = streamSoftLimit
        configuration.slowConsumers.timeoutNanos = slowTimeout.nanoseconds
    }

    /// --flush-linger and --flush-budget, checked against --write-idle-timeout
    /// (applied before them).
    func applyFlushLinger(to configuration: inout ServerConfiguration) throws {
        let budgetNanos = try flushBudgetNanos()
        let windowFlag: String
        if flushLinger.lowercased() == "auto" {
            configuration.flushLingerNanos = budgetNanos
            configuration.flushLingerFollowsLoad = true
            windowFlag = "--flush-budget (\(flushBudget ?? GoDuration(nanoseconds: budgetNanos).description))"
        } else {
            guard let linger = GoDuration(parsing: flushLinger), linger.nanoseconds <= 100_000_000 else {
                throw ValidationError("--flush-linger '\(flushLinger)' must be auto, 0 (off), or a duration of at most 100ms, such as 1ms")
            }
            // A fixed window is its own budget: two windows would leave the reader guessing which applies.
            guard linger.nanoseconds == 0 || flushBudget == nil else {
                throw ValidationError("--flush-budget is the window of --flush-linger auto; a fixed --flush-linger (\(flushLinger)) is its own window")
            }
            configuration.flushLingerNanos = linger.nanoseconds
            configuration.flushLingerFollowsLoad = false
            windowFlag = "--flush-linger (\(flushLinger))"
        }
        // A lingering connection makes no progress for up to a window: the
        // write-idle check must not take that for a stalled reader.
        let idleNanos = configuration.grpc.writeIdleTimeoutNanos
        guard idleNanos == 0 || idleNanos > 2 * configuration.flushLingerNanos else {
            throw ValidationError("--write-idle-timeout (\(writeIdleTimeout)) must be more than twice \(windowFlag), or 0")
        }
    }

    /// --flush-budget, or its default.
    private func flushBudgetNanos() throws -> Int64 {
        guard let flushBudget else { return ServerConfiguration.defaultFlushBudgetNanos }
        guard let budget = GoDuration(parsing: flushBudget), budget.nanoseconds > 0, budget.nanoseconds <= 100_000_000 else {
            throw ValidationError("--flush-budget '\(flushBudget)' must be a duration more than 0 and at most 100ms, such as 1ms")
        }
        return budget.nanoseconds
    }

    /// --stop-flush-timeout and --drain-timeout.
    func applyShutdownTimings(to configuration: inout ServerConfiguration) throws {
        guard let flush = GoDuration(parsing: stopFlushTimeout) else {
            throw ValidationError("--stop-flush-timeout '\(stopFlushTimeout)' is not a duration such as 500ms or 2s")
        }
        configuration.stopFlushNanos = flush.nanoseconds
        guard let drain = GoDuration(parsing: drainTimeout) else {
            throw ValidationError("--drain-timeout '\(drainTimeout)' is not a duration such as 5s or 30s")
        }
        configuration.drainNanos = drain.nanoseconds
    }

    /// --indicator-interval, --max-period, --history, --max-indicators,
    /// --max-subscriptions-per-stream.
    func makeIndicatorSettings() throws -> IndicatorSettings {
        var settings = IndicatorSettings()
        guard let interval = GoDuration(parsing: indicatorInterval), interval.nanoseconds >= 1_000_000 else {
            throw ValidationError("--indicator-interval '\(indicatorInterval)' must be a duration of at least 1ms, such as 100ms")
        }
        settings.intervalNanos = interval.nanoseconds
        guard maxPeriod >= 2 else { throw ValidationError("--max-period must be at least 2") }
        guard history >= maxPeriod && history <= 10_000_000 else {
            throw ValidationError("--history (\(history)) must be at least --max-period (\(maxPeriod)) and at most 10000000")
        }
        guard (1...10_000_000).contains(maxIndicators) else { throw ValidationError("--max-indicators must be from 1 to 10000000") }
        guard maxSubscriptionsPerStream >= 1 else { throw ValidationError("--max-subscriptions-per-stream must be at least 1") }
        settings.historyCapacity = history
        settings.maxPeriod = maxPeriod
        settings.maxIndicators = maxIndicators
        settings.maxSubscriptionsPerStream = maxSubscriptionsPerStream
        guard maxIndicatorsPerConnection >= 1 else { throw ValidationError("--max-indicators-per-connection must be at least 1") }
        settings.maxIndicatorsPerConnection = maxIndicatorsPerConnection
        return settings
    }

    /// --max-candle-history, --candle-close-grace; candles close on the
    /// newest trade's time under --replay (a recording's hours are not today's).
    func makeCandleSettings(maxIndicators: Int) throws -> CandleSettings {
        var settings = CandleSettings()
        guard (2...1_000_000).contains(maxCandleHistory) else {
            throw ValidationError("--max-candle-history must be from 2 to 1000000")
        }
        guard let grace = GoDuration(parsing: candleCloseGrace), grace.nanoseconds >= 0,
              grace.nanoseconds <= 60_000_000_000 else {
            throw ValidationError("--candle-close-grace '\(candleCloseGrace)' must be a duration from 0s to 60s, such as 300ms")
        }
        settings.historyCapacity = maxCandleHistory
        settings.closeGraceMs = grace.nanoseconds / 1_000_000
        settings.maxIndicators = maxIndicators
        settings.clock = replay == nil ? .wall : .newestTrade
        return settings
    }
}

import BinanceFeed
import Indicators
import MetricsHTTP
import Reactor

/// The server's side of the /metrics endpoint: it opens the listener,
/// feeds the latency histogram after each flush, and at scrape time reads
/// every layer's plain counters into one snapshot for the collector.
extension TickwireServer: MetricsExposition {
    func startMetrics() throws(SystemError) {
        guard let metrics, let address = configuration.metricsListen else { return }
        try metrics.listen(on: address)
    }

    /// Right after the flush pass: every trade queued since the previous one
    /// has now been written, except to connections whose socket was full
    /// (they send it on EPOLLOUT, which this does not wait for). Telling those
    /// apart would need per-connection bookkeeping in the hub for a rare case.
    /// One clock read per pass, not per trade.
    func observeFlushedTrades() {
        guard let collector, !distributor.ingestTimes.isEmpty else { return }
        let now = reactor.clock.wallUnixNanos()
        distributor.ingestTimes.drain { collector.observeLatency(nanos: now - $0) }
    }

    public func renderMetrics(into buffer: inout [UInt8]) {
        guard let collector else { return }
        let snapshot = metricsSnapshot()
        collector.update(snapshot)
        collector.render(snapshot, into: &buffer)
    }

    func metricsSnapshot() -> MetricsSnapshot {
        var s = MetricsSnapshot()
        if let liveFeed {
            let stats = liveFeed.statistics
            s.feedState = liveFeed.connectionState
            s.feedConnectionsOpened = stats.connectionsOpened
            s.feedMessagesReceived = stats.messagesReceived
            s.feedFramesSkipped = stats.skippedFramesByReason
            s.feedDuplicatesDropped = stats.duplicatesDropped
            s.backfill = liveFeed.backfillStatistics
            s.klineFetch = liveFeed.klineFetchStatistics
            s.feedLateTrades = stats.lateTradesDelivered
        } else if let replay {
            // A recording is Binance traffic too: its frames count the same way.
            let stats = replay.statistics
            s.feedMessagesReceived = stats.published + stats.malformed + stats.ignored + stats.unknownSymbol
            s.feedFramesSkipped = [.malformed: stats.malformed, .unknownEvent: stats.ignored, .unknownSymbol: stats.unknownSymbol]
        }
        s.feedReconnects = feedCounts.reconnects
        s.feedMissingTrades = feedCounts.missingTrades
        s.feedSuspectIDs = feedCounts.suspectIDs
        s.feedOutliersDropped = feedCounts.outliersDropped
        s.feedSequenceResets = feedCounts.sequenceResets
        s.feedSymbolCutOff = feedCounts.cutOff

        s.tradesPublished = distributor.tradesPublished
        s.grpcConnections = hub.connectionCount
        s.grpcStreams = openCalls
        s.priceStreams = distributor.registry.count
        for entry in distributor.registry.entries {
            for subscription in entry.subscriptions { s.subscriptions[subscription.key.kind, default: 0] += 1 }
        }
        s.indicatorBatches = distributor.indicators.batchesSent
        s.candleMemoryBytes = distributor.candles.memoryBytes
        s.candleSubscriptions = distributor.registry.entries.reduce(0) { $0 + $1.candleSubscriptions.count }
        s.candleBatches = distributor.candles.batchesSent
        s.candleLateTrades = Int(distributor.candles.lateTrades)
        s.candleHistoriesRefused = distributor.candles.historiesRefused
        s.priceMessages = distributor.messagesQueued
        s.priceBytes = distributor.bytesQueued
        s.slowConsumerDisconnects = distributor.slowStreamsDropped
        s.conflatedTrades = distributor.conflatedTrades
        s.deferredIndicatorBatches = distributor.indicators.batchesDeferred
        s.keepaliveEvents = hub.keepaliveEvents
        s.writeIdleDisconnects = hub.writeIdleClosed
        s.queuedBudgetBytes = hub.limits.maxQueuedBytes
        s.queuedBytes = hub.queuedBytes
        s.outputAllocatedBytes = hub.outputAllocatedBytes
        s.inboundHeldBytes = hub.inboundHeldBytes
        s.nghttp2AllocatedBytes = hub.nghttp2LiveBytes
        s.budgetStreamsEnded = hub.memoryBudgetCuts
        s.budgetConnectionsClosed = hub.memoryBudgetClosedConnections
        s.handshakesClosed = hub.handshakeClosed
        s.scrapeConnectionsReclaimed = metrics?.connectionsReclaimed ?? 0
        s.maxStreams = hub.limits.maxStreams
        s.streamsRefused = hub.streamsRefused

        s.connectionsAccepted = hub.connectionsAccepted
        s.connectionsRefusedAtLimit = hub.connectionsRefusedAtLimit
        s.connectionsRefusedSetupFailed = hub.connectionsRefusedSetupFailed
        s.maxConnections = hub.limits.maxConnections
        s.rpcs = rpcCounts
        s.feedLag = distributor.feedLag
        if let replay {
            s.replayProgress = replay.passProgress
            s.replayPassesCompleted = replay.completedPasses
            s.replayFinished = replayState == .finished
        }
        s.process = ProcessStatistics.current()

        s.phase = reactor.phase
        s.loop = reactor.loopStatistics
        s.flushLingerEngaged = flushLinger.isEnabled
        s.holdWindowsEnded = hub.holdWindowsEnded
        return s
    }
}

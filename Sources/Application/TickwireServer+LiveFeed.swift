import BinanceFeed
import Logging

/// Every live-feed event becomes one log line; the feed layer itself has no
/// logger. Message texts and metadata keys are part of the operator's (and
/// the integration tests') contract: change them deliberately.
extension TickwireServer: FeedEventObserver {
    public func feedEvent(_ event: FeedEvent) {
        feedCounts.record(event)
        switch event {
        case let .connecting(connection, url, failures, purpose):
            logger.info("feed connecting", metadata: [
                "url": "\(url)", "connection": "\(connection)", "failures": "\(failures)", "purpose": "\(purpose.rawValue)",
            ])
        case let .connected(connection, tlsVersion, handshakeMs):
            logger.notice("feed connected", metadata: [
                "connection": "\(connection)", "tls_version": "\(tlsVersion)", "handshake_ms": "\(handshakeMs)",
            ])
        case let .connectionFailed(connection, reason, retryInMs, failures):
            logger.warning("feed connection failed", metadata: [
                "connection": "\(connection)", "reason": "\(reason)", "failures": "\(failures)",
                "retry_in_ms": "\(retryInMs.map(String.init) ?? "none")",
            ])
        case let .connectionLost(connection, reason, retryInMs):
            logger.warning("feed connection lost", metadata: [
                "connection": "\(connection)", "reason": "\(reason)",
                "retry_in_ms": "\(retryInMs.map(String.init) ?? "none (rotation candidate takes over)")",
            ])
        case let .stale(connection, silentMs):
            logger.warning("feed stale", metadata: ["connection": "\(connection)", "silent_ms": "\(silentMs)"])
        case let .gap(symbol, missingTrades, lastID, nextID):
            logger.warning("feed gap", metadata: [
                "symbol": "\(symbol)", "missing_trades": "\(missingTrades)", "last_id": "\(lastID)", "next_id": "\(nextID)",
            ])
        case let .rotationStarted(reason, connection, candidate):
            logger.notice("feed rotation started", metadata: [
                "reason": "\(reason.rawValue)", "connection": "\(connection)", "candidate": "\(candidate)",
            ])
        case let .rotationComplete(from, to, duplicatesDropped, proven):
            logger.notice("feed rotation complete", metadata: [
                "from": "\(from)", "to": "\(to)", "duplicates_dropped": "\(duplicatesDropped)",
                "overlap": "\(proven ? "proven" : "not proven (gaps, if any, are counted)")",
            ])
        case let .frameSkipped(reason, connection, skippedTotal, suppressed):
            logger.warning("feed frame skipped", metadata: [
                "reason": "\(reason.rawValue)", "connection": "\(connection)",
                "skipped_total": "\(skippedTotal)", "suppressed_since_last": "\(suppressed)",
            ])
        case let .serverShutdownNotice(connection, eventTimeMs):
            logger.notice("feed maintenance notice", metadata: [
                "connection": "\(connection)", "event_time_ms": "\(eventTimeMs)",
            ])
        case .suspectTradeID, .outlierDropped, .sequenceReset, .symbolCutOff, .symbolRestored:
            logSequencing(event)
        }
    }

    /// What the sequencer made of implausible ids, and symbols cut off.
    private func logSequencing(_ event: FeedEvent) {
        switch event {
        case let .suspectTradeID(symbol, tradeID, lastID):
            logger.warning("feed suspect trade id", metadata: [
                "symbol": "\(symbol)", "trade_id": "\(tradeID)", "last_id": "\(lastID)",
            ])
        case let .outlierDropped(symbol, tradeID, lastID):
            logger.warning("feed outlier dropped", metadata: [
                "symbol": "\(symbol)", "trade_id": "\(tradeID)", "last_id": "\(lastID)",
            ])
        case let .sequenceReset(symbol, previousID, nextID):
            logger.warning("feed sequence reset", metadata: [
                "symbol": "\(symbol)", "previous_id": "\(previousID)", "next_id": "\(nextID)",
            ])
        case let .symbolCutOff(symbol, droppedTrades, forMs):
            logger.error("feed symbol cut off", metadata: [
                "symbol": "\(symbol)", "dropped_trades": "\(droppedTrades)", "for_ms": "\(forMs)",
            ])
        case let .symbolRestored(symbol, forMs):
            logger.notice("feed symbol restored", metadata: ["symbol": "\(symbol)", "after_ms": "\(forMs)"])
        default:
            break
        }
    }
}

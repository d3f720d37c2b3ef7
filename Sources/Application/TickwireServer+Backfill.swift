import BinanceFeed
import Logging

/// Every backfill event becomes one log line. Message texts and metadata
/// keys are part of the operator's (and the integration tests') contract.
extension TickwireServer: BackfillEventObserver {
    public func backfillEvent(_ event: BackfillEvent) {
        switch event {
        case let .gapFound(symbol, first, last):
            logger.info("feed backfill started", metadata: [
                "symbol": "\(symbol)", "first_missing_id": "\(first)", "last_missing_id": "\(last)",
            ])
        case let .released(symbol, backfilled, heldTrades, heldMs):
            logger.notice("feed backfill complete", metadata: [
                "symbol": "\(symbol)", "backfilled": "\(backfilled)", "held_trades": "\(heldTrades)",
                "held_ms": "\(heldMs)",
            ])
        case let .unrecoverable(symbol, gap):
            logger.error("feed gap unrecoverable", metadata: [
                "symbol": "\(symbol)", "first_missing_id": "\(gap.firstMissingID)",
                "last_missing_id": "\(gap.lastMissingID)", "missing_trades": "\(gap.tradeCount)",
                "reason": "\(gap.reason.label)", "detail": "\(gap.detail)",
            ])
        case let .apiRefused(status, code, message, retryInMs):
            logger.warning("backfill api refused", metadata: [
                "status": "\(status)", "code": "\(code)", "message": "\(message)",
                "retry_in_ms": "\(retryInMs.map(String.init) ?? "none (the range is announced)")",
            ])
        case let .apiConnectionEnded(connection, reason):
            logger.info("backfill api connection ended", metadata: [
                "connection": "\(connection)", "reason": "\(reason)",
            ])
        }
    }
}

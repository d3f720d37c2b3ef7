/// What one Binance connection reports, turned into the machine's events.
extension LiveFeed {
    func connectionDidOpen(_ connection: BinanceConnection) {
        statistics.connectionsOpened += 1
        let handshakeMs = (connection.openedAtNanos - connection.startedAtNanos) / 1_000_000
        observer.feedEvent(.connected(connection: connection.serial, tlsVersion: connection.tlsVersion,
                                      handshakeMs: handshakeMs))
        apply(machine.connectionOpened(serial: connection.serial, nowNanos: connection.openedAtNanos))
    }

    func connection(_ connection: BinanceConnection, didReceiveText message: UnsafeRawBufferPointer) {
        statistics.messagesReceived += 1
        // An empty frame reaches us with no base address (wslay has nothing to flatten).
        guard message.count > 0, message.count <= Self.maxMessageBytes, let bytes = message.baseAddress else {
            reportSkip(.malformed, connection: connection)
            return
        }
        scratch.baseAddress!.copyMemory(from: bytes, byteCount: message.count)
        let frame = parser.parse(scratch.baseAddress!, length: message.count, capacity: scratch.count,
                                 ingestUnixNanos: connection.ingestUnixNanos)
        switch frame {
        case .trade(let trade):
            deliver(trade, on: connection.serial)
        case .serverShutdown(let eventTimeMs):
            apply(machine.serverShutdownNotice(serial: connection.serial, eventTimeMs: eventTimeMs, nowNanos: nowNanos))
        case .ignored:
            reportSkip(.unknownEvent, connection: connection)
        case .unknownSymbol:
            reportSkip(.unknownSymbol, connection: connection)
        case .malformed:
            reportSkip(.malformed, connection: connection)
        }
    }

    func connectionDidReceiveBinary(_ connection: BinanceConnection) {
        statistics.messagesReceived += 1
        reportSkip(.binary, connection: connection)
    }

    func connection(_ connection: BinanceConnection, didEndWith reason: String, retryAfterSeconds: Int?) {
        forget(connection)
        apply(machine.connectionEnded(serial: connection.serial, reason: reason, retryAfterSeconds: retryAfterSeconds,
                                      nowNanos: nowNanos))
    }

    private func reportSkip(_ reason: FeedEvent.SkipReason, connection: BinanceConnection) {
        statistics.skippedFrames += 1
        statistics.skippedFramesByReason[reason, default: 0] += 1
        guard let suppressed = skipReports.admit(reason, nowNanos: nowNanos) else { return }
        observer.feedEvent(.frameSkipped(reason: reason, connection: connection.serial,
                                         skippedTotal: statistics.skippedFrames, suppressed: suppressed))
    }
}

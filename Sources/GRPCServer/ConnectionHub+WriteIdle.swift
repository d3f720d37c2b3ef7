/// Write-idle detection (--write-idle-timeout): a connection that has output
/// waiting, in our buffer or behind the peer's flow-control windows, and
/// sends none of it for the timeout is closed. A peer that never sends
/// WINDOW_UPDATE, or never reads its socket, holds its streams' memory and
/// trailers hostage; per-stream limits only end streams, whose trailers such
/// a peer never takes either. One periodic sweep, no per-write clock reads.
extension ConnectionHub {
    /// How often the sweep runs: a quarter of the timeout, within 100 ms to
    /// 1 s, so a stall is caught between the timeout and the timeout plus two
    /// intervals. nil when the check is off.
    var writeIdleSweepIntervalNanos: Int64? {
        let timeout = limits.writeIdleTimeoutNanos
        guard timeout > 0 else { return nil }
        return min(1_000_000_000, max(100_000_000, timeout / 4))
    }

    /// Arms the next write-idle sweep (none when --write-idle-timeout is 0).
    func armWriteIdleSweep() {
        guard let interval = writeIdleSweepIntervalNanos else { return }
        reactor.schedule(afterNanos: interval, HubTimer.writeIdleSweep.token)
    }

    func writeIdleSweepDue() {
        sweepWriteIdle(nowNanos: monotonicNanos)
        armWriteIdleSweep()
    }

    func sweepWriteIdle(nowNanos: Int64) {
        let timeout = limits.writeIdleTimeoutNanos
        guard timeout > 0 else { return }
        var stalled: [(HTTP2Connection, Int64)] = []
        forEachConnection { connection in
            guard connection.phase.servesSession, connection.transportReady else { return }
            let idle = connection.idleWatch.observe(connection.backlog, outputWaiting: !connection.output.isEmpty,
                                                    nowNanos: nowNanos)
            if idle >= timeout { stalled.append((connection, idle)) }
        }
        for (connection, idleNanos) in stalled {
            writeIdleClosed += 1
            log(.warning, "write idle; closing the connection", [
                "slot": "\(connection.token.slot)", "peer": connection.peer, "idle_ms": "\(idleNanos / 1_000_000)",
                "queued_bytes": "\(connection.backlog.queuedBytes)", "output_bytes": "\(connection.output.count)",
                "streams": "\(connection.openStreamCount)",
            ])
            apply(connection.phase.closeRequested("write idle for \(idleNanos / 1_000_000) ms"), to: connection)
        }
    }
}

import GRPCWire

/// The server-wide bound on queued bytes (--max-queued-bytes). The stream
/// and connection bounds each stop one slow reader; this stops many of them
/// together from taking the process past its memory limit. The running total
/// makes the check one comparison per loop iteration; only when it is over
/// are the streams walked, and then the largest backlogs are cut first.
extension ConnectionHub {
    /// Bytes all connections' streams have queued and not yet handed to nghttp2.
    public var queuedBytes: Int { serverQueuedBytes.pointee }

    var isOverMemoryBudget: Bool { serverQueuedBytes.pointee > limits.maxQueuedBytes }

    /// Ends the streams with the largest backlogs, largest first, until the
    /// total is an eighth under the budget: the slack keeps a server held at
    /// the budget by its readers from walking every stream each iteration.
    func trimToMemoryBudget() {
        let budget = limits.maxQueuedBytes
        let target = budget - budget / 8
        let before = serverQueuedBytes.pointee
        let status = GRPCStatus(.resourceExhausted, "client too slow: the server's queued-bytes budget (--max-queued-bytes \(budget)) is spent")
        var cut = 0
        for stream in largestBacklogsFirst() where serverQueuedBytes.pointee > target {
            stream.cut(status)
            delegate.rpcTooSlow(stream)
            cut += 1
        }
        memoryBudgetCuts += cut
        log(.warning, "queued-bytes budget exceeded; ended the largest backlogs", [
            "budget_bytes": "\(budget)", "queued_bytes_before": "\(before)",
            "queued_bytes_after": "\(serverQueuedBytes.pointee)", "streams_ended": "\(cut)",
        ])
    }

    /// Every stream holding queued bytes that a cut can free: open ones, and
    /// finishing ones whose trailers wait behind data the client is not taking.
    private func largestBacklogsFirst() -> [GRPCStream] {
        var streams: [GRPCStream] = []
        forEachConnection { connection in
            guard connection.phase.servesSession else { return }
            for stream in connection.streams.values where stream.backlogBytes > 0 && stream.isCuttable {
                streams.append(stream)
            }
        }
        streams.sort { $0.backlogBytes > $1.backlogBytes }
        return streams
    }
}

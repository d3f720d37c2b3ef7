import GRPCWire

/// The server-wide bound on what clients make it hold (--max-queued-bytes):
/// messages queued on streams, the memory of the connections' output
/// buffers, and request messages still arriving. The stream and connection bounds each stop one slow reader; this
/// stops many of them together from taking the process past its memory
/// limit. Running totals make the check one comparison per loop iteration;
/// only when it is over are the holdings walked, and then the largest go
/// first, whether a stream's queue or a connection's unread output.
extension ConnectionHub {
    /// Bytes all connections' streams have queued and not yet handed to nghttp2.
    public var queuedBytes: Int { serverQueuedBytes.pointee }

    /// What the budget counts: queued messages, allocated output buffers
    /// and partial request messages.
    public var budgetedBytes: Int { serverQueuedBytes.pointee + outputAllocatedBytes + inboundHeldBytes }

    var isOverMemoryBudget: Bool { budgetedBytes > limits.maxQueuedBytes }

    /// A stream's partial request message grew (positive) or was freed.
    func inboundHeld(_ delta: Int) {
        inboundHeldBytes &+= delta
    }

    /// Frees what costs no client anything (the pool's idle output buffers),
    /// then ends the largest holdings, largest first, until the total
    /// is an eighth under the budget: the slack keeps a server held at the
    /// budget by its readers from walking every stream each iteration.
    func trimToMemoryBudget() {
        let budget = limits.maxQueuedBytes
        let target = budget - budget / 8
        let before = budgetedBytes
        let released = outputBuffers.pointee.freeIdle()
        var streamsCut = 0
        var connectionsClosed = 0
        if budgetedBytes > target {
            let streamStatus = GRPCStatus(.resourceExhausted, "client too slow: the server's queued-bytes budget (--max-queued-bytes \(budget)) is spent")
            for holding in largestHoldingsFirst() where budgetedBytes > target {
                switch holding {
                case .stream(let stream, _):
                    guard stream.isCuttable else { continue }  // a connection closed above may have taken it
                    stream.cut(streamStatus)
                    delegate.rpcTooSlow(stream)
                    streamsCut += 1
                case .inbound(let stream, _):
                    guard stream.phase.acceptsRequestMessages else { continue }
                    stream.connection.abandonPartialRequest(stream, GRPCStatus(.resourceExhausted,
                        "request message arriving too slowly: the server's queued-bytes budget (--max-queued-bytes \(budget)) is spent"))
                    streamsCut += 1
                case .output(let connection, _):
                    guard !connection.phase.isClosed else { continue }
                    let reason = "client too slow: the queued-bytes budget is spent and it reads none of its \(connection.output.count) bytes of output"
                    apply(connection.phase.closeRequested(reason), to: connection)
                    connectionsClosed += 1
                }
            }
        }
        memoryBudgetCuts += streamsCut
        memoryBudgetClosedConnections += connectionsClosed
        log(.warning, "queued-bytes budget exceeded; ended the largest backlogs", [
            "budget_bytes": "\(budget)", "queued_bytes_before": "\(before)",
            "queued_bytes_after": "\(budgetedBytes)", "idle_output_released_bytes": "\(released)",
            "streams_ended": "\(streamsCut)", "connections_closed": "\(connectionsClosed)",
        ])
    }

    /// One thing the budget can free: a stream's queue (by ending the
    /// stream), a partial request message (by ending its call), or a
    /// connection's output buffer that its client is not reading (by closing
    /// the connection).
    private enum Holding {
        case stream(GRPCStream, bytes: Int)
        case inbound(GRPCStream, bytes: Int)
        case output(HTTP2Connection, bytes: Int)

        var bytes: Int {
            switch self {
            case .stream(_, let bytes), .inbound(_, let bytes), .output(_, let bytes): bytes
            }
        }
    }

    /// Every holding a cut can free: open streams and finishing ones whose
    /// trailers wait behind data the client is not taking, partial request
    /// messages, and output buffers with bytes still waiting for the socket.
    private func largestHoldingsFirst() -> [Holding] {
        var holdings: [Holding] = []
        forEachConnection { connection in
            guard connection.phase.servesSession else { return }
            if !connection.output.isEmpty {
                holdings.append(.output(connection, bytes: connection.output.allocatedBytes))
            }
            for stream in connection.streams.values {
                if stream.backlogBytes > 0 && stream.isCuttable {
                    holdings.append(.stream(stream, bytes: stream.backlogBytes))
                }
                if stream.deframer.heldBytes > 0 && stream.phase.acceptsRequestMessages {
                    holdings.append(.inbound(stream, bytes: stream.deframer.heldBytes))
                }
            }
        }
        holdings.sort { $0.bytes > $1.bytes }
        return holdings
    }
}

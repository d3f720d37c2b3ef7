import Glibc
import Reactor

/// `--io io_uring`: the iteration's writes in one io_uring_enter.
///
/// A flush happens in two passes. The first (flushPending) pulls each h2c
/// connection's frames out of nghttp2 into its output buffer, running any
/// nghttp2 callbacks that causes. The second (sendBatched) queues every
/// filled buffer and submits them together. Nothing runs between queuing a
/// buffer and its submission, so the bytes the kernel reads cannot move; and
/// UringSendBatch's sends finish inside the submission, so nothing is in
/// flight afterwards. A connection that sent everything then goes through the
/// ordinary flush, which collects what nghttp2 still holds (rarely anything)
/// and notices a session that has ended.
extension ConnectionHub {
    var sendBatch: UringSendBatch? {
        sendBatchAbandoned ? nil : reactor.sendBatch
    }

    /// Fills `connection`'s output for the batch. Returns true when it joined
    /// the batch; false when it was dealt with here (it had nothing to send,
    /// or nghttp2 failed).
    func prepareBatchedSend(_ connection: HTTP2Connection) -> Bool {
        if let failure = connection.fillOutput() {
            apply(connection.phase.failed(failure), to: connection)
            return false
        }
        guard !connection.output.isEmpty else {
            flush(connection)  // settles drained or finished
            return false
        }
        batched.append(connection)
        return true
    }

    /// Submits the batch, as many sends per io_uring_enter as the ring takes,
    /// and applies each result.
    func sendBatched() {
        guard !batched.isEmpty else { return }
        defer { batched.removeAll(keepingCapacity: true) }
        // Closing waits until every result is in: a slot must not be reused
        // while the batch still refers to its connection.
        deferringCloses { submitBatched() }
    }

    private func submitBatched() {
        guard let batch = sendBatch else {
            // Abandoned during this iteration: the rest go out the ordinary way.
            for connection in batched { flush(connection) }
            return
        }
        var start = 0
        while start < batched.count {
            let end = min(batched.count, start + batch.capacity)
            for index in start..<end {
                let queued = batch.queue(fd: batched[index].fd, bytes: batched[index].output.unsent, tag: UInt64(index))
                precondition(queued, "a send batch of at most its capacity was refused")
            }
            do {
                try batch.submit { tag, result in settle(batched[Int(tag)], result) }
            } catch {
                abandonSendBatch(error, failed: batched[start..<end])
                for connection in batched[end...] { flush(connection) }
                break
            }
            start = end
        }
    }

    private func settle(_ connection: HTTP2Connection, _ result: UringSendBatch.Result) {
        switch result {
        case .sent(let count):
            if connection.wrote(count) != nil {
                setWritableInterest(connection, true)  // the socket took part: the rest waits for EPOLLOUT
            } else {
                flush(connection)
            }
        case .wouldBlock:
            setWritableInterest(connection, true)
        case .failed(let error):
            // Judged as sendmsg's errno is (EBADF and EFAULT trap there too).
            switch ErrnoClass.of(error.errno, call: error.call) {
            case .interrupted, .wouldBlock: setWritableInterest(connection, true)
            case .failed(let error): apply(connection.phase.failed("write: \(error)"), to: connection)
            }
        }
    }

    /// io_uring_enter itself failed: which of the chunk's sends happened is
    /// unknown, so those connections' byte streams cannot be trusted and
    /// they close; the ring is not used again (a late completion would carry
    /// a stale tag).
    private func abandonSendBatch(_ error: SystemError, failed: ArraySlice<HTTP2Connection>) {
        sendBatchAbandoned = true
        log(.error, "io_uring sends failed; writing with sendmsg from now on", [
            "error": "\(error)", "connections_closed": "\(failed.count)",
        ])
        for connection in failed {
            apply(connection.phase.closeRequested("io_uring send batch failed: \(error)"), to: connection)
        }
    }
}

import Reactor

/// One accepted scraper connection. It reads one request into its slice of
/// the endpoint's preallocated buffer, writes one response, then half-closes
/// and reads to EOF so that closing cannot reset a response still unread.
final class ScrapeConnection {
    /// Where the connection is in its one request.
    enum Phase: Equatable {
        /// Reading the request's header block.
        case reading
        /// Sending the response; waits for EPOLLOUT when the socket is full.
        case writing
        /// Response sent and write side shut: discarding input until EOF.
        case lingering
        /// Socket closed; the slot is free.
        case closed
    }

    let fd: Int32
    let token: EventToken
    /// Accept order, for ScrapeSlotReclaim: smaller is older.
    let acceptSerial: UInt64
    /// The request may take until then, and the whole exchange too.
    var deadlineNanos: Int64
    var phase = Phase.reading
    /// This connection's part of the endpoint's inbound buffer.
    let inbound: UnsafeMutableRawBufferPointer
    var received = 0
    var output: [UInt8] = []
    var sent = 0
    /// Interest currently registered with the poller.
    var interest: Interest = .read

    init(fd: Int32, token: EventToken, acceptSerial: UInt64, inbound: UnsafeMutableRawBufferPointer, deadlineNanos: Int64) {
        self.fd = fd
        self.token = token
        self.acceptSerial = acceptSerial
        self.inbound = inbound
        self.deadlineNanos = deadlineNanos
    }

    /// The bytes of the request read so far.
    var request: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: inbound[0..<received])
    }

    /// Room left for the request.
    var freeSpace: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: inbound[received...])
    }

    /// Sends what the socket takes; true once the whole response is out.
    func sendPending() throws(SystemError) -> Bool {
        while sent < output.count {
            // withUnsafeBytes rethrows untyped errors, so the typed one travels in a Result.
            let outcome = output.withUnsafeBytes { bytes in
                Result { () throws(SystemError) in try SocketIO.send(fd: fd, bytes: UnsafeRawBufferPointer(rebasing: bytes[sent...])) }
            }
            let count = try outcome.get()
            if count == 0 { return false }
            sent += count
        }
        return true
    }
}

import Reactor
import TLS

/// The byte pipe under a connection: the socket itself for h2c, or the TLS
/// session on it. Everything above (nghttp2, the hub's batching) is the same.
extension HTTP2Connection {
    enum InputOutcome {
        case bytes(Int)
        case wouldBlock
        case endOfStream
        case failed(String)
    }

    enum OutputOutcome {
        case sent(Int)
        case blocked
        case failed(String)
    }

    func readInput(into buffer: UnsafeMutableRawBufferPointer) -> InputOutcome {
        guard let tls else {
            do {
                switch try SocketIO.read(fd: fd, into: buffer) {
                case .bytes(let count): return .bytes(count)
                case .wouldBlock: return .wouldBlock
                case .endOfStream: return .endOfStream
                }
            } catch {
                return .failed("read: \(error)")
            }
        }
        switch tls.read(into: buffer) {
        case .transferred(let count): return count > 0 ? .bytes(count) : .wouldBlock
        // A read that wants the socket writable is retried on the next event;
        // read interest stays on and output flushes watch EPOLLOUT.
        case .wantRead, .wantWrite: return .wouldBlock
        case .closed: return .endOfStream
        case .failed(let reason): return .failed("TLS read: \(reason)")
        }
    }

    func writeOutput() -> OutputOutcome {
        let bytes = output.unsent
        guard let tls else {
            do {
                let sent = try SocketIO.send(fd: fd, bytes: bytes)
                return sent > 0 ? .sent(sent) : .blocked
            } catch {
                return .failed("write: \(error)")
            }
        }
        // With partial writes SSL_write returns after one record (16 KiB),
        // so a short write does not mean the socket is full: write on until
        // everything is out or TLS says it would block.
        var sent = 0
        while sent < bytes.count {
            switch tls.write(UnsafeRawBufferPointer(rebasing: bytes[sent...])) {
            case .transferred(let count) where count > 0: sent += count
            case .transferred, .wantRead, .wantWrite: return sent > 0 ? .sent(sent) : .blocked
            case .closed: return .failed("TLS write: the peer closed the session")
            case .failed(let reason): return .failed("TLS write: \(reason)")
            }
        }
        return .sent(sent)
    }
}

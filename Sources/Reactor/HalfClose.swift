import Glibc

/// A graceful close from our side: shut down writing, then read (and throw
/// away) until the peer's EOF before closing. Closing a socket with unread
/// input makes the kernel send a reset, and a reset can destroy our last
/// response while it is still in flight to the peer.
public enum HalfClose {
    /// Whether reading to EOF is over.
    public enum Progress: Equatable {
        /// The peer has more to send, or has not closed yet: wait for input.
        case waiting
        /// EOF or a read error: the socket can be closed.
        case finished
    }

    /// Sends our FIN; reads continue to work.
    public static func shutDownWriting(fd: Int32) {
        // Fails only for a descriptor that is not a connected socket, and
        // the close that follows the linger deals with the socket either way.
        _ = shutdown(fd, Int32(SHUT_WR))
    }

    /// Reads whatever has arrived into `scratch` and discards it.
    /// `maxReads` bounds one call, so a peer that keeps sending cannot hold
    /// the loop; level-triggered readiness brings the caller back.
    public static func discardInput(fd: Int32, scratch: UnsafeMutableRawBufferPointer, maxReads: Int = 16) -> Progress {
        for _ in 0..<maxReads {
            do {
                switch try SocketIO.read(fd: fd, into: scratch) {
                case .bytes: continue
                case .wouldBlock: return .waiting
                case .endOfStream: return .finished
                }
            } catch {
                return .finished
            }
        }
        return .waiting
    }
}

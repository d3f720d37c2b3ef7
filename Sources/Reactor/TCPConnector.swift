import CTickwireShim
import Glibc

/// Opens outgoing TCP connections without blocking the loop on the connect:
/// the socket comes back non-blocking with the connect in flight, and the
/// reactor reports it writable once it has succeeded or failed. Names are
/// resolved before, by the reactor's DNSResolver; this takes addresses only.
public enum TCPConnector {
    /// What a connect in flight has come to.
    public enum Outcome: Equatable {
        /// The three-way handshake finished: the socket is ready for TLS.
        case connected
        /// Not yet: a readiness event for an earlier socket (closed since)
        /// carried the same token. Keep waiting.
        case inProgress
        /// Refused, unreachable or timed out: try the next address.
        case failed(SystemError)
    }

    /// Starts connecting to `address` (its port included).
    /// - Parameter othersWaiting: more addresses wait their turn. The kernel
    ///   then abandons an unanswered SYN after one retransmission (about 3 s)
    ///   instead of its default two minutes, so a blackholed address leaves
    ///   the rest of the handshake budget to the next one, without a timer.
    public static func startConnect(to address: SocketAddress, othersWaiting: Bool = false) throws(SystemError) -> Int32 {
        let fd = try systemCallOrThrow("socket") { tw_socket_nonblocking(address.family, Int32(SOCK_STREAM.rawValue)) }
        // Every trade is latency-sensitive: no Nagle delay on our pings and pongs.
        _ = tw_set_int_sockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        if othersWaiting { _ = tw_set_int_sockopt(fd, Int32(IPPROTO_TCP), TCP_SYNCNT, 1) }
        if address.withSockaddr({ connect(fd, $0, $1) }) != 0 {
            let error = tw_errno()
            guard error == EINPROGRESS else {
                closeDescriptor(fd)
                throw SystemError(call: "connect", errno: error)
            }
        }
        return fd
    }

    /// After the socket reported ready: whether the connect succeeded.
    public static func outcome(fd: Int32) -> Outcome {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 {
            return .failed(SystemError(call: "getsockopt(SO_ERROR)", errno: tw_errno()))
        }
        if error != 0 { return .failed(SystemError(call: "connect", errno: error)) }
        // No error yet is not success: the connect may still be in flight.
        var peer = sockaddr_storage()
        var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &peer) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &peerLength) }
        }
        return named == 0 ? .connected : .inProgress
    }
}

import CTickwireShim
import Glibc

/// Opens outgoing TCP connections without blocking the loop on the connect:
/// the socket comes back non-blocking with the connect in flight, and the
/// reactor reports it writable once it has succeeded or failed.
public enum TCPConnector {
    /// Starts connecting to `host:port`. The host is resolved with
    /// getaddrinfo, which may block on DNS for a hostname (an IP literal never
    /// does); the feed connects rarely, so the resolver's timeout is the bound.
    public static func startConnect(host: String, port: UInt16) throws(SystemError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw SystemError(call: "getaddrinfo(\(host))", errno: status == EAI_SYSTEM ? tw_errno() : EHOSTUNREACH)
        }
        defer { freeaddrinfo(list) }

        let fd = try systemCallOrThrow("socket") { tw_socket_nonblocking(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue)) }
        // Every trade is latency-sensitive: no Nagle delay on our pings and pongs.
        _ = tw_set_int_sockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        if connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 {
            let error = tw_errno()
            guard error == EINPROGRESS else {
                closeDescriptor(fd)
                throw SystemError(call: "connect", errno: error)
            }
        }
        return fd
    }

    /// After the socket reported writable: nil when the connect succeeded,
    /// otherwise why it failed.
    public static func connectError(fd: Int32) -> SystemError? {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 {
            return SystemError(call: "getsockopt(SO_ERROR)", errno: tw_errno())
        }
        return error == 0 ? nil : SystemError(call: "connect", errno: error)
    }
}

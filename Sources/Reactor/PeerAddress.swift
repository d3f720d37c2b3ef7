import Glibc

/// The far end of an accepted socket as `ip:port`, for log lines: an
/// operator tracing an attack or a misbehaving client needs to know who it
/// was, and the address is gone once the descriptor is closed.
public enum PeerAddress {
    /// `127.0.0.1:53124` or `[::1]:53124`; `unknown` when the socket has no
    /// peer any more (it was reset between accept and this call).
    public static func describe(fd: Int32) -> String {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        // Safe because getpeername writes at most `length` bytes into `storage`,
        // which is as large as any socket address.
        let named = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard named == 0 else { return "unknown" }
        let address = withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress(copying: $0, length: length) }
        }
        guard let address else { return "unknown" }
        return "\(address):\(port(of: storage))"
    }

    /// The port in host order; sin_port and sin6_port sit at the same offset.
    private static func port(of storage: sockaddr_storage) -> UInt16 {
        var copy = storage
        // Safe because every AF_INET/AF_INET6 address starts like a sockaddr_in.
        return withUnsafePointer(to: &copy) { pointer in
            pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
    }
}

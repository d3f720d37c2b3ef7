import CTickwireShim
import Glibc

/// The bind half of a listening socket, shared by TCPListener (which then
/// listens) and PortReservation (which never does).
enum BoundSocket {
    /// A non-blocking, close-on-exec TCP socket bound to `address`. With
    /// `reusePort`, SO_REUSEPORT lets other sockets of the same user bind the
    /// same address: the kernel then spreads new connections over the
    /// listening ones (the `--workers` processes).
    static func make(address: ListenAddress, reusePort: Bool) throws(SystemError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(address.host, String(address.port), &hints, &list)
        guard status == 0, let first = list else {
            throw SystemError(call: "getaddrinfo(\(address.host))", errno: status == EAI_SYSTEM ? tw_errno() : EINVAL)
        }
        defer { freeaddrinfo(list) }

        let socketFD = try systemCallOrThrow("socket") { tw_socket_nonblocking(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue)) }
        do throws(SystemError) {
            try systemCallOrThrow("setsockopt(SO_REUSEADDR)") { tw_set_int_sockopt(socketFD, SOL_SOCKET, SO_REUSEADDR, 1) }
            if reusePort {
                try systemCallOrThrow("setsockopt(SO_REUSEPORT)") { tw_set_int_sockopt(socketFD, SOL_SOCKET, SO_REUSEPORT, 1) }
            }
            do throws(SystemError) {
                try systemCallOrThrow("bind") { bind(socketFD, first.pointee.ai_addr, first.pointee.ai_addrlen) }
            } catch {
                throw SystemError(call: "bind(\(address))", errno: error.errno)  // which address is in use
            }
            return socketFD
        } catch {
            closeDescriptor(socketFD)
            throw error
        }
    }

    /// The port the kernel bound (its choice when 0 was asked for).
    static func localPort(of fd: Int32) throws(SystemError) -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        try withUnsafeMutablePointer(to: &storage) { (pointer) throws(SystemError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (address) throws(SystemError) in
                _ = try systemCallOrThrow("getsockname") { getsockname(fd, address, &length) }
            }
        }
        // Safe because getsockname filled `storage` with the family it reports.
        let family = Int32(storage.ss_family)
        return withUnsafePointer(to: &storage) { pointer in
            if family == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
    }
}

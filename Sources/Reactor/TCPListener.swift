import CTickwireShim
import Glibc

/// A non-blocking listening TCP socket.
public final class TCPListener {
    public private(set) var fd: Int32
    /// The address actually bound (the kernel's choice when the port was 0).
    public let boundAddress: ListenAddress

    /// The default backlog absorbs a reconnect storm (every client of a
    /// rolled pod arriving at once) between two loop iterations; the kernel
    /// clamps it to net.core.somaxconn (4096 since Linux 5.4).
    public init(address: ListenAddress, backlog: Int32 = 4096) throws(SystemError) {
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
            try systemCallOrThrow("bind") { bind(socketFD, first.pointee.ai_addr, first.pointee.ai_addrlen) }
            try systemCallOrThrow("listen") { listen(socketFD, backlog) }
            self.fd = socketFD
            self.boundAddress = ListenAddress(host: address.host, port: try Self.localPort(of: socketFD))
        } catch {
            closeDescriptor(socketFD)
            throw error
        }
    }

    deinit {
        precondition(fd < 0, "TCPListener released without close()")
    }

    /// One accepted connection, already non-blocking with TCP_NODELAY set
    /// (every trade is latency-sensitive), or nil when the backlog is empty.
    public func accept() throws(SystemError) -> Int32? {
        switch try systemCall("accept4", { tw_accept4(fd) }) {
        case .wouldBlock:
            return nil
        case .done(let client):
            _ = tw_set_int_sockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            return client
        }
    }

    public func close() {
        guard fd >= 0 else { return }
        closeDescriptor(fd)
        fd = -1
    }

    private static func localPort(of fd: Int32) throws(SystemError) -> UInt16 {
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

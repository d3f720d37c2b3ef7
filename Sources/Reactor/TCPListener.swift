import CTickwireShim
import Glibc

/// A non-blocking listening TCP socket.
public final class TCPListener {
    public private(set) var fd: Int32
    /// The address actually bound (the kernel's choice when the port was 0).
    public let boundAddress: ListenAddress
    /// SO_SNDBUF for every accepted connection; 0 leaves the kernel's
    /// autotuning, which lets a client that stops reading park megabytes
    /// in kernel memory (counted in a container's cgroup) per connection.
    public var sendBufferBytes: Int32 = 0

    /// The default backlog absorbs a reconnect storm (every client of a
    /// rolled pod arriving at once) between two loop iterations; the kernel
    /// clamps it to net.core.somaxconn (4096 since Linux 5.4). `reusePort`
    /// joins the SO_REUSEPORT group of the other `--workers` processes.
    public init(address: ListenAddress, backlog: Int32 = 4096, reusePort: Bool = false) throws(SystemError) {
        let socketFD = try BoundSocket.make(address: address, reusePort: reusePort)
        do throws(SystemError) {
            try systemCallOrThrow("listen") { listen(socketFD, backlog) }
            self.fd = socketFD
            self.boundAddress = ListenAddress(host: address.host, port: try BoundSocket.localPort(of: socketFD))
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
            if sendBufferBytes > 0 { _ = tw_set_int_sockopt(client, SOL_SOCKET, SO_SNDBUF, sendBufferBytes) }
            return client
        }
    }

    public func close() {
        guard fd >= 0 else { return }
        closeDescriptor(fd)
        fd = -1
    }
}

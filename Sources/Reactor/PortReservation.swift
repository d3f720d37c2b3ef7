import CTickwireShim
import Glibc

/// A port held for the `--workers` processes: a socket bound with
/// SO_REUSEPORT that never listens. The kernel adds a socket to a port's
/// SO_REUSEPORT group (the sockets new connections are spread over) only at
/// listen(), so this one receives no connection; yet while it stays bound,
/// only sockets of the same user with SO_REUSEPORT can bind the port. That
/// resolves `--listen HOST:0` once, for every worker, and keeps the port ours
/// while a crashed worker is restarted.
public final class PortReservation {
    public private(set) var fd: Int32
    /// The address with the port the kernel chose.
    public let boundAddress: ListenAddress

    public init(address: ListenAddress) throws(SystemError) {
        let socketFD = try BoundSocket.make(address: address, reusePort: true)
        do throws(SystemError) {
            self.boundAddress = ListenAddress(host: address.host, port: try BoundSocket.localPort(of: socketFD))
            self.fd = socketFD
        } catch {
            closeDescriptor(socketFD)
            throw error
        }
    }

    deinit {
        precondition(fd < 0, "PortReservation released without close()")
    }

    public func close() {
        guard fd >= 0 else { return }
        closeDescriptor(fd)
        fd = -1
    }
}

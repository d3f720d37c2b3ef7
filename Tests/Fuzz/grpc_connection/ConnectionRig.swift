// One real server-side connection with no listener: a ConnectionHub on a real
// Reactor adopts one end of a socketpair, exactly as after accept(2). The
// harness writes client bytes into the other end and delivers the readiness
// events itself instead of waiting in epoll_wait, so every run is the same.

import Glibc
@testable import GRPCServer
@testable import Reactor

final class ConnectionRig {
    let reactor: Reactor
    let delegate = RecordingDelegate()
    private(set) var hub: ConnectionHub?
    /// The client's end of the socketpair.
    private var peer: Int32
    private let sink = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 1)
    /// Bytes the server sent, for the harness's sanity checks.
    private(set) var bytesReceived = 0

    init() {
        var fds: [Int32] = [-1, -1]
        precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                                0, &fds) == 0, "socketpair: errno \(errno)")
        peer = fds[1]
        do {
            reactor = Reactor(backend: .epoll(try EpollPoller(eventCapacity: 8)))
        } catch {
            fatalError("reactor: \(error)")
        }
        var limits = GRPCLimits()
        limits.maxConnections = 1
        // The sweep timer (keepalive, max age) is armed but never fires: no loop runs here.
        let hub = ConnectionHub(reactor: reactor, limits: limits, delegate: delegate) { _, _, _ in }
        hub.adopt(fds[0])
        precondition(hub.connectionCount == 1, "the hub did not adopt the socket")
        self.hub = hub
        hub.flushPending()  // our SETTINGS go out first, as in the server
        drainPeer()
    }

    var connection: HTTP2Connection? {
        var found: HTTP2Connection?
        hub?.forEachConnection { found = $0 }
        return found
    }

    /// Sends `bytes` from the client and lets the server react as one loop
    /// iteration would: the read event, then the flush before sleeping, then
    /// writability while output is waiting on a full socket.
    func deliver(_ bytes: ArraySlice<UInt8>) {
        guard let hub, let connection else { return }
        let written = bytes.withUnsafeBytes { Glibc.write(peer, $0.baseAddress, $0.count) }
        precondition(written == bytes.count, "socketpair took \(written) of \(bytes.count) bytes")
        hub.connectionReady(ReadyEvent(token: connection.token, readiness: .readable))
        settle()
    }

    /// The client closes its side: the server reads end-of-stream.
    func clientHangsUp() {
        guard let hub, let connection else { return }
        shutdown(peer, Int32(SHUT_WR))
        hub.connectionReady(ReadyEvent(token: connection.token, readiness: [.readable, .hangup]))
        settle()
    }

    private func settle() {
        guard let hub else { return }
        for _ in 0..<64 {
            hub.flushPending()
            let drained = drainPeer()
            guard let connection = self.connection, connection.watchingWritable, drained > 0 else { return }
            hub.connectionReady(ReadyEvent(token: connection.token, readiness: .writable))
        }
    }

    @discardableResult
    private func drainPeer() -> Int {
        var total = 0
        while true {
            let count = Glibc.read(peer, sink.baseAddress, sink.count)
            guard count > 0 else { break }
            total += count
        }
        bytesReceived += total
        return total
    }

    /// Closes whatever is still open the way the server's stop does, then
    /// frees the hub and the poller.
    func tearDown() {
        hub?.closeAll(reason: "fuzz input over")
        precondition(hub?.connectionCount == 0, "invariant broken: closeAll left a connection")
        hub = nil
        close(peer)
        peer = -1
        reactor.close()
        sink.deallocate()
    }
}

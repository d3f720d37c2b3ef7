import Glibc
import MetricsHTTP
import Reactor
import Testing

/// The endpoint itself, on real loopback sockets, driven by hand (no loop):
/// which connection gives way when a flood of silent ones keeps every slot
/// taken, and whether a scraper whose request the loop has not read yet
/// still gets its answer.
@Suite struct ScrapeUnderSlotPressureTests {
    final class FixedExposition: MetricsExposition {
        func renderMetrics(into buffer: inout [UInt8]) { buffer += Array("up 1\n".utf8) }
    }

    private func connect(port: UInt16) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0, "socket: \(errno)")
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        precondition(connected == 0, "connect: \(errno)")
        return fd
    }

    /// What the peer of `fd` sent before closing, with a deadline (SO_RCVTIMEO).
    private func readAll(_ fd: Int32) -> String {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<64 {  // bounded: a response is one or two reads
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The scraper's request reaches the socket after its accept read found
    /// nothing, and the loop has not read it again when the next flood
    /// comes: once it is the oldest silent-looking connection, it is read
    /// rather than reset, and is answered.
    @Test func aScraperWhoseRequestWaitsUnreadIsAnsweredNotReset() throws {
        let reactor = Reactor(backend: .epoll(try EpollPoller()), clock: SystemClock())
        defer { reactor.close() }
        var limits = MetricsEndpoint.Limits()
        limits.maxConnections = 4
        let endpoint = MetricsEndpoint(reactor: reactor, limits: limits)
        try endpoint.listen(on: ListenAddress(host: "127.0.0.1", port: 0))
        let port = try #require(endpoint.boundAddress?.port)
        let exposition = FixedExposition()
        defer { endpoint.close() }

        var silent = (0..<3).map { _ in connect(port: port) }
        let scraper = connect(port: port)
        defer { for fd in silent + [scraper] { Glibc.close(fd) } }
        endpoint.listenerReady(exposition: exposition)
        #expect(endpoint.connectionCount == 4 && endpoint.scrapesServed == 0)

        let request = Array("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n".utf8)
        #expect(request.withUnsafeBytes { send(scraper, $0.baseAddress, $0.count, 0) } == request.count)
        // Four newcomers: the three older silent ones give way, then the scraper is the oldest.
        silent += (0..<4).map { _ in connect(port: port) }
        endpoint.listenerReady(exposition: exposition)

        #expect(endpoint.scrapesServed == 1)
        let response = readAll(scraper)
        #expect(response.hasPrefix("HTTP/1.1 200"), "got \(response.prefix(80).debugDescription)")
        #expect(response.hasSuffix("up 1\n"))
    }
}

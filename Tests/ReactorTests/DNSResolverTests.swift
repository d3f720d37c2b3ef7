import Glibc
import Testing
@testable import Reactor

private func address(_ text: String, _ port: UInt16 = 443) -> SocketAddress {
    guard let address = SocketAddress(ipLiteral: text, port: port) else {
        preconditionFailure("\(text) is not an IP literal")
    }
    return address
}

@Suite struct SocketAddressTests {
    @Test func ipLiteralsParseAndNamesDoNot() {
        #expect(address("127.0.0.1").family == AF_INET)
        #expect(address("::1").family == AF_INET6)
        #expect(address("2001:db8::7").description == "[2001:db8::7]")
        #expect(address("10.1.2.3").description == "10.1.2.3")
        #expect(SocketAddress(ipLiteral: "stream.binance.com", port: 443) == nil)
        #expect(SocketAddress(ipLiteral: "localhost", port: 443) == nil, "a name, even a local one, goes to the resolver")
        #expect(SocketAddress(ipLiteral: "[::1]", port: 443) == nil, "brackets belong to the URL, not the address")
    }
}

@Suite struct ResolvedAddressesTests {
    @Test func familiesAlternateStartingWithTheResolversFirstChoice() {
        let resolved = ResolvedAddresses([address("2001:db8::1"), address("2001:db8::2"), address("2001:db8::3"),
                                          address("192.0.2.1"), address("192.0.2.2")])
        #expect(resolved.addresses.map(\.description)
                == ["[2001:db8::1]", "192.0.2.1", "[2001:db8::2]", "192.0.2.2", "[2001:db8::3]"])
    }

    @Test func anIPv4FirstAnswerStaysIPv4First() {
        let resolved = ResolvedAddresses([address("192.0.2.1"), address("2001:db8::1"), address("192.0.2.2")])
        #expect(resolved.addresses.map(\.description) == ["192.0.2.1", "[2001:db8::1]", "192.0.2.2"])
    }

    @Test func duplicatesAreTriedOnce() {
        let resolved = ResolvedAddresses([address("192.0.2.1"), address("192.0.2.1"), address("192.0.2.2")])
        #expect(resolved.addresses.map(\.description) == ["192.0.2.1", "192.0.2.2"])
        #expect(ResolvedAddresses([address("192.0.2.1", 1), address("192.0.2.1", 2)]).count == 2, "other port, other address")
        #expect(ResolvedAddresses([]).isEmpty)
    }
}

@Suite struct ResolverErrorTests {
    // c-ares' status codes, from ares.h.
    static let notFound: Int32 = 4, noData: Int32 = 1, timedOut: Int32 = 12, serverFailed: Int32 = 3
    static let connectionRefused: Int32 = 11, badName: Int32 = 8, cancelled: Int32 = 24

    @Test func errorsSpeakInTheResolversWords() {
        func text(_ status: Int32) -> String { ResolverError(host: "stream.binance.com", aresStatus: status).description }
        // Our words first, then c-ares' own, so nothing it said is lost.
        #expect(text(Self.notFound) == "cannot resolve stream.binance.com: name does not resolve (c-ares: Domain name not found)")
        #expect(text(Self.noData).hasPrefix("cannot resolve stream.binance.com: name does not resolve (c-ares: "))
        #expect(text(Self.timedOut) == "cannot resolve stream.binance.com: resolver timed out (c-ares: Timeout while contacting DNS servers)")
        #expect(text(Self.serverFailed).contains("DNS server failed (SERVFAIL) (c-ares: "))
        #expect(text(Self.connectionRefused).contains("DNS server unreachable (connection refused) (c-ares: "))
        #expect(text(Self.badName).contains("not a valid host name (c-ares: "))
        #expect(text(Self.cancelled).contains("lookup cancelled (c-ares: "))
        #expect(!text(Self.notFound).contains("No route to host"), "the old getaddrinfo path made up EHOSTUNREACH")
    }

    @Test func anUnknownStatusKeepsItsCodeAndCAresText() {
        let text = ResolverError(host: "h", aresStatus: 16_000).description
        #expect(text.hasPrefix("cannot resolve h: resolver error 16000 (c-ares: "), "\(text)")
    }
}

@Suite struct DNSServerListTests {
    @Test func addressesWithAndWithoutPorts() throws {
        let list = try DNSServerList(parsing: "127.0.0.1:5353, 10.0.0.2,[::1]:53,::1")
        #expect(list.servers == [.init(host: "127.0.0.1", port: 5353), .init(host: "10.0.0.2", port: 53),
                                 .init(host: "::1", port: 53), .init(host: "::1", port: 53)])
        #expect(list.aresCSV == "127.0.0.1:5353,10.0.0.2:53,[::1]:53,[::1]:53")
        #expect(DNSServerList.system.servers.isEmpty)
    }

    @Test(arguments: [
        ("dns.google", "is not an IP address"),
        ("127.0.0.1:0", "the port must be a number from 1 to 65535"),
        ("127.0.0.1:99999", "the port must be a number from 1 to 65535"),
        ("127.0.0.1:", "the port must be a number from 1 to 65535"),
        ("127.0.0.1,,10.0.0.1", "has an empty entry"),
        ("", "has an empty entry"),
        ("[::1", "unterminated '['"),
        ("[::1]53", "expected ':PORT' after ']'"),
        ("1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,1.1.1.9", "at most 8"),
    ])
    func malformedListsSayWhatIsWrong(_ text: String, _ complaint: String) {
        #expect(throws: DNSServerList.ParseError.self) { try DNSServerList(parsing: text) }
        do {
            _ = try DNSServerList(parsing: text)
        } catch {
            #expect(error.description.contains(complaint), "\(error)")
        }
    }
}

/// A stand-in for a connection waiting on a lookup.
private final class RecordingOwner: DNSLookupOwner {
    var results: [Result<ResolvedAddresses, ResolverError>] = []
    func lookupFinished(_ result: Result<ResolvedAddresses, ResolverError>) { results.append(result) }
}

@Suite struct DNSLookupSlotTests {
    @Test func aCancelledLookupsLateAnswerFreesTheSlotAndReachesNobody() {
        let owner = RecordingOwner()
        var slot = DNSLookupSlot()
        slot.begin(host: "a.example", owner: owner)
        let first = slot.generation
        slot.cancel()
        #expect(!slot.isFree, "c-ares still holds the lookup: the slot must not be reused yet")
        slot.complete(.failure(ResolverError(host: "a.example", reason: .timedOut)))
        #expect(slot.isFree)
        #expect(slot.owner == nil)
        slot.begin(host: "b.example", owner: owner)
        #expect(slot.generation != first, "a new lookup gets a new generation")
    }

    @Test func anAnswerWaitsInTheSlotForDelivery() {
        let owner = RecordingOwner()
        var slot = DNSLookupSlot()
        slot.begin(host: "a.example", owner: owner)
        slot.complete(.success(ResolvedAddresses([address("192.0.2.1")])))
        #expect(slot.isFinished)
        #expect(slot.owner === owner)
    }
}

/// One real c-ares lookup, answered from /etc/hosts (no DNS traffic): the
/// answer comes through the reactor's loop, never from inside `resolve`.
@Suite(.serialized) struct DNSResolverLoopTests {
    @Test func aHostsFileAnswerIsDeliveredByTheLoopNotByResolve() throws {
        let reactor = Reactor(backend: .epoll(try EpollPoller()))
        defer { reactor.close() }
        try reactor.startResolver(servers: try DNSServerList(parsing: "127.0.0.1:1"))
        let resolver = try #require(reactor.resolver)
        let owner = RecordingOwner()
        _ = try resolver.resolve(host: "localhost", port: 9443, owner: owner)
        #expect(owner.results.isEmpty, "answered inside resolve(): the caller would be re-entered")
        let handler = RecordingHandler()
        for _ in 0..<20 where owner.results.isEmpty {
            try reactor.runOnce(handler, maxWaitMs: 100)
        }
        let addresses = try #require(try owner.results.first?.get())
        #expect(addresses.addresses.contains { $0.description == "127.0.0.1" })
        #expect(handler.timers.isEmpty, "the resolver's timer went to the application's handler")
        #expect(resolver.lookupsInFlight == 0)
    }

    @Test func aCancelledLookupIsNeverDelivered() throws {
        let reactor = Reactor(backend: .epoll(try EpollPoller()))
        defer { reactor.close() }
        try reactor.startResolver(servers: .system)
        let resolver = try #require(reactor.resolver)
        let owner = RecordingOwner()
        let lookup = try resolver.resolve(host: "localhost", port: 9443, owner: owner)
        resolver.cancel(lookup)
        let handler = RecordingHandler()
        for _ in 0..<5 { try reactor.runOnce(handler, maxWaitMs: 20) }
        #expect(owner.results.isEmpty)
        #expect(resolver.lookupsInFlight == 0)
    }
}

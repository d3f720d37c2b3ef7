import CAres
import CTickwireShim
import Glibc

/// Looks host names up without blocking the loop, and without a thread:
/// c-ares' sockets are registered in the reactor's poller (kind `.resolver`),
/// its retry deadlines go on the reactor's timer queue, and its answers are
/// handed to each lookup's owner from the reactor's dispatch. The reactor owns
/// the one resolver (`Reactor.startResolver`).
public final class DNSResolver {
    /// c-ares' one timeout: the reactor hands timers of this owner to the resolver.
    static let timerToken = TimerToken(owner: .resolver, purpose: 0)
    /// Lookups at once: the feed needs two (current and rotation candidate);
    /// the rest hold cancelled ones until c-ares lets go of them.
    static let lookupCapacity = 8
    /// Per try: a lost UDP packet is resent after this, to the next server.
    static let timeoutMs: Int32 = 2000
    /// Tries per server; the wait doubles each round, so one server gives
    /// up after 2 + 4 s, well inside the feed's 10 s handshake timeout.
    static let tries: Int32 = 2

    var channel: ares_channel?
    unowned let reactor: Reactor
    var lookups: [DNSLookupSlot]
    var sockets: [ResolverSocket]
    /// c-ares sockets that found no free slot (they then time out instead).
    public internal(set) var socketsUnwatched = 0
    var timer: TimerID?
    /// The callback argument of each lookup slot: where it is, and whose.
    let contexts: UnsafeMutablePointer<LookupContext>

    struct LookupContext {
        let resolver: Unmanaged<DNSResolver>
        let slot: Int
    }

    init(servers: DNSServerList, reactor: Reactor) throws(ResolverError) {
        self.reactor = reactor
        lookups = Array(repeating: DNSLookupSlot(), count: Self.lookupCapacity)
        // c-ares 1.18 keeps one UDP socket per server, plus TCP for truncated answers.
        sockets = Array(repeating: ResolverSocket(), count: 2 * max(servers.servers.count, 3) + 2)
        contexts = .allocate(capacity: Self.lookupCapacity)
        for slot in 0..<Self.lookupCapacity {
            (contexts + slot).initialize(to: LookupContext(resolver: .passUnretained(self), slot: slot))
        }
        channel = try makeChannel(servers: servers)
    }

    deinit {
        precondition(channel == nil, "close() the resolver before releasing it")
        contexts.deinitialize(count: Self.lookupCapacity)
        contexts.deallocate()
    }

    private func makeChannel(servers: DNSServerList) throws(ResolverError) -> ares_channel {
        var status = ares_library_init(ARES_LIB_INIT_ALL)
        guard status == ARES_SUCCESS else { throw ResolverError(host: "", reason: .setup("ares_library_init: \(status)")) }
        var options = ares_options()
        options.timeout = Self.timeoutMs
        options.tries = Self.tries
        options.sock_state_cb = Self.socketStateChanged
        options.sock_state_cb_data = Unmanaged.passUnretained(self).toOpaque()
        let mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB
        var made: ares_channel?
        status = ares_init_options(&made, &options, mask)
        guard status == ARES_SUCCESS, let made else {
            ares_library_cleanup()
            throw ResolverError(host: "", reason: .setup(String(cString: ares_strerror(status))))
        }
        if !servers.servers.isEmpty {
            status = ares_set_servers_ports_csv(made, servers.aresCSV)
            guard status == ARES_SUCCESS else {
                ares_destroy(made)
                ares_library_cleanup()
                throw ResolverError(host: "", reason: .setup("--dns-servers \(servers): \(String(cString: ares_strerror(status)))"))
            }
        }
        return made
    }

    /// Starts looking `host` up (A and AAAA); the answer goes to `owner`'s
    /// `lookupFinished`, always later, from the reactor's dispatch, even when
    /// c-ares knows it at once (/etc/hosts).
    public func resolve(host: String, port: UInt16, owner: any DNSLookupOwner) throws(ResolverError) -> DNSLookup {
        guard let channel else { throw ResolverError(host: host, reason: .cancelled) }
        guard let slot = lookups.firstIndex(where: \.isFree) else { throw ResolverError(host: host, reason: .busy) }
        lookups[slot].begin(host: host, owner: owner)
        var hints = ares_addrinfo_hints()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = ARES_AI_NUMERICSERV
        ares_getaddrinfo(channel, host, String(port), &hints, Self.lookupFinished, UnsafeMutableRawPointer(contexts + slot))
        rearmTimer()
        return DNSLookup(slot: slot, generation: lookups[slot].generation)
    }

    /// The owner no longer wants the answer (its connection ended).
    public func cancel(_ lookup: DNSLookup) {
        guard lookups[lookup.slot].generation == lookup.generation else { return }
        lookups[lookup.slot].cancel()
    }

    /// Lookups not yet answered or delivered.
    public var lookupsInFlight: Int { lookups.count { !$0.isFree } }

    /// Destroys the channel (its sockets leave the poller first). Call before
    /// the poller closes; idempotent.
    public func close() {
        guard let channel else { return }
        self.channel = nil
        ares_destroy(channel)  // answers what is pending with ARES_EDESTRUCTION; nothing is delivered
        ares_library_cleanup()
        if let timer { reactor.cancel(timer) }
        timer = nil
        for slot in lookups.indices { lookups[slot].release() }
    }
}

import CAres
import Glibc

/// One c-ares socket the poller watches; its slot index is the event token's slot.
struct ResolverSocket {
    var fd: Int32 = -1
    var generation: UInt32 = 0
}

extension DNSResolver {
    // MARK: Calls from the reactor

    /// One of c-ares' sockets is ready.
    func ready(_ event: ReadyEvent) {
        let slot = Int(event.token.slot)
        guard let channel, slot < sockets.count, sockets[slot].fd >= 0,
              sockets[slot].generation == event.token.generation else { return }  // stale: closed since
        let fd = sockets[slot].fd
        let readable = event.readiness.contains(.readable) || event.readiness.contains(.hangup)
        ares_process_fd(channel, readable ? fd : ARES_SOCKET_BAD,
                        event.readiness.contains(.writable) ? fd : ARES_SOCKET_BAD)
        deliverFinished()
        rearmTimer()
    }

    /// The resolver's timer: retries and timeouts are due, or an answer
    /// c-ares gave at once waits for delivery.
    func timerFired() {
        timer = nil
        guard let channel else { return }
        ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD)
        deliverFinished()
        rearmTimer()
    }

    /// Hands every finished answer to its owner. The slots are freed first,
    /// so an owner may start a new lookup from its callback.
    private func deliverFinished() {
        var answers: [(any DNSLookupOwner, Result<ResolvedAddresses, ResolverError>)] = []
        for slot in lookups.indices {
            guard case .finished(let result) = lookups[slot].state else { continue }
            if let owner = lookups[slot].owner { answers.append((owner, result)) }
            lookups[slot].release()
        }
        for (owner, result) in answers { owner.lookupFinished(result) }
    }

    /// One timer at a time: now when an answer waits for delivery, else at
    /// c-ares' next deadline, else none.
    func rearmTimer() {
        if let timer { reactor.cancel(timer) }
        timer = nil
        guard let channel else { return }
        var delayNanos: Int64 = 0
        if !lookups.contains(where: \.isFinished) {
            var wait = timeval()
            let pending = withUnsafeMutablePointer(to: &wait) { ares_timeout(channel, nil, $0) != nil }
            guard pending else { return }
            delayNanos = Int64(wait.tv_sec) * 1_000_000_000 + Int64(wait.tv_usec) * 1_000
        }
        timer = reactor.schedule(afterNanos: delayNanos, Self.timerToken)
    }

    // MARK: Calls from c-ares

    /// ARES_OPT_SOCK_STATE_CB: c-ares opened a socket, changed what it waits
    /// for, or is about to close it (neither readable nor writable).
    static let socketStateChanged: ares_sock_state_cb = { data, fd, readable, writable in
        // Safe because `data` is the resolver that made the channel, and only
        // the channel calls this; close() destroys the channel, and the
        // resolver outlives close().
        let resolver = Unmanaged<DNSResolver>.fromOpaque(data!).takeUnretainedValue()
        var interest: Interest = []
        if readable != 0 { interest.insert(.read) }
        if writable != 0 { interest.insert(.write) }
        resolver.socketChanged(fd: fd, interest: interest)
    }

    private func socketChanged(fd: Int32, interest: Interest) {
        if let slot = sockets.firstIndex(where: { $0.fd == fd }) {
            let token = EventToken(kind: .resolver, slot: UInt32(slot), generation: sockets[slot].generation)
            if interest.isEmpty {
                try? reactor.unregister(fd: fd)  // before c-ares closes it, as io_uring needs
                sockets[slot].fd = -1
            } else {
                try? reactor.modify(fd: fd, token: token, interest: interest)
            }
            return
        }
        guard !interest.isEmpty else { return }
        guard let slot = sockets.firstIndex(where: { $0.fd < 0 }) else {
            socketsUnwatched += 1
            return
        }
        let generation = (sockets[slot].generation + 1) & 0xFF_FFFF
        sockets[slot] = ResolverSocket(fd: fd, generation: generation)
        let token = EventToken(kind: .resolver, slot: UInt32(slot), generation: generation)
        if (try? reactor.register(fd: fd, token: token, interest: interest)) == nil {
            sockets[slot].fd = -1
            socketsUnwatched += 1
        }
    }

    /// ares_getaddrinfo's callback: copies the addresses out, frees c-ares'
    /// list, and keeps the answer in the slot for delivery.
    static let lookupFinished: ares_addrinfo_callback = { argument, status, _, result in
        // Safe because `argument` points into `contexts`, which live as long
        // as the resolver, and the resolver outlives its channel.
        let context = argument!.assumingMemoryBound(to: LookupContext.self).pointee
        let resolver = context.resolver.takeUnretainedValue()
        let addresses = copyAddresses(result)
        if let result { ares_freeaddrinfo(result) }
        let host = resolver.lookups[context.slot].host
        if status == ARES_SUCCESS, !addresses.isEmpty {
            resolver.lookups[context.slot].complete(.success(ResolvedAddresses(addresses)))
        } else {
            let code = status == ARES_SUCCESS ? ARES_ENODATA : status
            resolver.lookups[context.slot].complete(.failure(ResolverError(host: host, aresStatus: code)))
        }
    }

    private static func copyAddresses(_ result: UnsafeMutablePointer<ares_addrinfo>?) -> [SocketAddress] {
        var addresses: [SocketAddress] = []
        var node = result?.pointee.nodes
        // Safe because c-ares' list stays valid until ares_freeaddrinfo, after this walk.
        while let current = node {
            if let raw = current.pointee.ai_addr,
               let address = SocketAddress(copying: raw, length: current.pointee.ai_addrlen) {
                addresses.append(address)
            }
            node = current.pointee.ai_next
        }
        return addresses
    }
}

import Reactor

/// The attempt's first steps: resolve the host without blocking the loop,
/// then connect to each address it resolved to, in turn, until one connects.
/// Only when every address failed is the attempt over.
extension BinanceConnection: DNSLookupOwner {
    var token: EventToken { EventToken(kind: .feed, slot: 0, generation: generation) }

    /// Called once from init: connects to an IP literal at once, or starts the lookup.
    func start() throws(StartError) {
        if let literal = SocketAddress(ipLiteral: endpoint.host, port: endpoint.port) {
            addresses = ResolvedAddresses([literal])
            if let reason = connectNext() { throw StartError(reason: reason) }
            return
        }
        guard let resolver = reactor.resolver else {
            throw StartError(reason: "cannot resolve \(endpoint.host): no resolver was started")
        }
        do {
            lookup = try resolver.resolve(host: endpoint.host, port: endpoint.port, owner: self)
        } catch {
            throw StartError(reason: "\(error)")
        }
    }

    func lookupFinished(_ result: Result<ResolvedAddresses, ResolverError>) {
        lookup = nil
        guard case .resolving = phase else { return }
        switch result {
        case .failure(let error):
            end("\(error)")
        case .success(let resolved):
            addresses = resolved
            if let reason = connectNext() { end(reason) }
        }
    }

    /// Starts a connect to the next address that takes one (nil), or says why
    /// every address failed when none is left.
    func connectNext() -> String? {
        while nextAddress < addresses.count {
            let address = addresses[nextAddress]
            nextAddress += 1
            do throws(SystemError) {
                let socket = try TCPConnector.startConnect(to: address, othersWaiting: nextAddress < addresses.count)
                do {
                    try reactor.register(fd: socket, token: token, interest: .write)
                } catch {
                    closeDescriptor(socket)
                    throw error
                }
                connecting(on: socket)
                return nil
            } catch {
                noteFailure(of: address, error)
            }
        }
        return "cannot connect to \(endpoint.host):\(endpoint.port): " + connectFailures.joined(separator: "; ")
    }

    /// The connect to the current address failed: on to the next one.
    func abandonAddress(_ error: SystemError) {
        noteFailure(of: addresses[nextAddress - 1], error)
        try? reactor.unregister(fd: fd)
        closeDescriptor(fd)
        fd = -1
        if let reason = connectNext() { end(reason) }
    }

    private func noteFailure(of address: SocketAddress, _ error: SystemError) {
        // One address (an IP literal, or a name with one) reads as before: just the error.
        connectFailures.append(addresses.count > 1 ? "\(address): \(error)" : "\(error)")
    }
}

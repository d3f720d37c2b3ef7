import ArgumentParser
import BinanceFeed
import Reactor

extension TickwireCommand {
    /// `--dns-servers`, checked here so that a typo stops the server at startup.
    func parseDNSServers() throws -> DNSServerList {
        guard let dnsServers else { return .system }
        do {
            return try DNSServerList(parsing: dnsServers)
        } catch {
            throw ValidationError("--dns-servers: \(error)")
        }
    }

    /// The live feed's host is resolved on the loop: the resolver is set up
    /// now (reading resolv.conf, unless --dns-servers names servers), before
    /// the loop runs. An IP-literal --binance-url, or a replay, needs none.
    func startResolver(on reactor: Reactor, for feed: LiveFeedSettings?) throws {
        guard let feed, SocketAddress(ipLiteral: feed.endpoint.host, port: feed.endpoint.port) == nil else { return }
        try reactor.startResolver(servers: feed.dnsServers)
    }
}

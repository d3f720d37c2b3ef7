import Glibc

/// `--dns-servers`: the DNS servers the resolver asks instead of the ones in
/// /etc/resolv.conf (tests point it at a server on 127.0.0.1; clusters with
/// their own resolvers name them). Empty means the system's.
public struct DNSServerList: Equatable, Sendable, CustomStringConvertible {
    public struct Server: Equatable, Sendable, CustomStringConvertible {
        /// An IPv4 or IPv6 literal, without brackets.
        public let host: String
        public let port: UInt16

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// More would only lengthen a failing lookup: each server gets every try.
    public static let maxServers = 8

    public let servers: [Server]

    /// The system's servers (/etc/resolv.conf).
    public static let system = DNSServerList(servers: [])

    init(servers: [Server]) {
        self.servers = servers
    }

    /// `IP[:PORT][,IP[:PORT]…]`, IPv6 in brackets when a port follows:
    /// `127.0.0.1:5353,[::1]:53`. The port defaults to 53.
    public init(parsing text: String) throws(ParseError) {
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
        guard items.count <= Self.maxServers else {
            throw ParseError(description: "'\(text)' names \(items.count) servers; at most \(Self.maxServers)")
        }
        var servers: [Server] = []
        for item in items {
            servers.append(try Self.server(String(item.trimmingSpaces), in: text))
        }
        self.servers = servers
    }

    private static func server(_ item: String, in text: String) throws(ParseError) -> Server {
        guard !item.isEmpty else {
            throw ParseError(description: "'\(text)' has an empty entry; write IP[:PORT],… e.g. 127.0.0.1:5353")
        }
        var host = Substring(item)
        var portText: Substring?
        if item.hasPrefix("[") {
            guard let close = item.firstIndex(of: "]") else {
                throw ParseError(description: "'\(item)': unterminated '[' (write [IPv6]:PORT)")
            }
            let after = item[item.index(after: close)...]
            host = item[item.index(after: item.startIndex)..<close]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw ParseError(description: "'\(item)': expected ':PORT' after ']'") }
                portText = after.dropFirst()
            }
        } else if item.filter({ $0 == ":" }).count == 1, let colon = item.firstIndex(of: ":") {
            host = item[..<colon]
            portText = item[item.index(after: colon)...]
        }
        guard isIPLiteral(String(host)) else {
            throw ParseError(description: "'\(item)' is not an IP address: DNS servers are named by address, "
                                        + "since naming them would need DNS (write IP[:PORT], IPv6 as [IP]:PORT)")
        }
        var port: UInt16 = 53
        if let portText {
            guard let parsed = UInt16(portText), parsed > 0 else {
                throw ParseError(description: "'\(item)': the port must be a number from 1 to 65535")
            }
            port = parsed
        }
        return Server(host: String(host), port: port)
    }

    private static func isIPLiteral(_ text: String) -> Bool {
        SocketAddress(ipLiteral: text, port: 0) != nil
    }

    /// The list as c-ares' ares_set_servers_ports_csv takes it.
    var aresCSV: String { servers.map(\.description).joined(separator: ",") }

    public var description: String { servers.isEmpty ? "system (/etc/resolv.conf)" : aresCSV }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}

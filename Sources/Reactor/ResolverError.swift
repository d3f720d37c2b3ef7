import CAres

/// Why a host name gave no address, in the resolver's own words: an operator
/// reading "name does not resolve" knows to look at DNS, where an errno such
/// as "No route to host" would send them to the network.
public struct ResolverError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        /// NXDOMAIN, or the name has no A or AAAA record.
        case doesNotResolve
        /// No DNS server answered within the resolver's tries.
        case timedOut
        /// The DNS server answered SERVFAIL.
        case serverFailed
        /// The DNS server answered REFUSED.
        case queryRefused
        /// The DNS server's port refused the connection (nothing listens there).
        case serverUnreachable
        /// The name is not a valid DNS name.
        case badName
        /// The answer could not be parsed.
        case badResponse
        /// The lookup was given up (the resolver closed).
        case cancelled
        /// Every lookup slot is in use; the attempt is retried later.
        case busy
        /// The resolver could not be set up (resolv.conf, the server list).
        case setup(String)
        /// Any other c-ares status, with its own text.
        case other(code: Int32)
    }

    public let host: String
    public let reason: Reason
    /// The c-ares status behind the reason, when c-ares gave one: its own
    /// text goes into the message too, so nothing it said is lost in our words.
    public let aresStatus: Int32?

    public init(host: String, reason: Reason) {
        self.host = host
        self.reason = reason
        self.aresStatus = nil
    }

    /// Maps a c-ares status (not ARES_SUCCESS) to its reason.
    public init(host: String, aresStatus status: Int32) {
        self.host = host
        self.reason = Self.reason(forAresStatus: status)
        self.aresStatus = status
    }

    static func reason(forAresStatus status: Int32) -> Reason {
        switch status {
        case ARES_ENOTFOUND, ARES_ENODATA, ARES_ENONAME: return .doesNotResolve
        case ARES_ETIMEOUT: return .timedOut
        case ARES_ESERVFAIL: return .serverFailed
        case ARES_EREFUSED: return .queryRefused
        case ARES_ECONNREFUSED: return .serverUnreachable
        case ARES_EBADNAME: return .badName
        case ARES_EBADRESP, ARES_EFORMERR: return .badResponse
        case ARES_ECANCELLED, ARES_EDESTRUCTION: return .cancelled
        default: return .other(code: status)
        }
    }

    public var reasonText: String {
        switch reason {
        case .doesNotResolve: return "name does not resolve"
        case .timedOut: return "resolver timed out"
        case .serverFailed: return "DNS server failed (SERVFAIL)"
        case .queryRefused: return "DNS server refused the query"
        case .serverUnreachable: return "DNS server unreachable (connection refused)"
        case .badName: return "not a valid host name"
        case .badResponse: return "DNS server sent a malformed answer"
        case .cancelled: return "lookup cancelled"
        case .busy: return "too many lookups in flight"
        case .setup(let why): return "resolver setup failed: \(why)"
        case .other(let code): return "resolver error \(code)"
        }
    }

    /// Setting the resolver up concerns no host: it reads "DNS resolver: …".
    public var description: String {
        let aresText = aresStatus.map { " (c-ares: \(String(cString: ares_strerror($0))))" } ?? ""
        return host.isEmpty ? "DNS resolver: \(reasonText)\(aresText)" : "cannot resolve \(host): \(reasonText)\(aresText)"
    }
}

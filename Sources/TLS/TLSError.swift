import Reactor

/// Why a TLS session failed, kept apart from plain errnos so a log line says
/// which layer gave up: the socket under OpenSSL, the peer's certificate, or
/// the TLS protocol itself.
public enum TLSError: Error, Equatable, CustomStringConvertible {
    /// The read or write OpenSSL made on the socket failed (SSL_ERROR_SYSCALL).
    case socket(SystemError)
    /// The peer's TCP connection ended without a TLS close_notify.
    case closedWithoutNotify
    /// The peer's certificate did not verify.
    case certificate(String)
    /// OpenSSL's error queue: a protocol or configuration failure.
    case protocolFailure(String)

    public var description: String {
        switch self {
        case .socket(let error): return "\(error)"
        case .closedWithoutNotify: return "connection closed without TLS close_notify"
        case .certificate(let reason): return "certificate verify failed: \(reason)"
        case .protocolFailure(let reason): return reason
        }
    }
}

import COpenSSL
import Glibc
import Reactor

/// One TLS session (client or server side) over a non-blocking socket the
/// caller owns and the reactor watches. Every call returns at once; "would block" comes back as
/// which readiness the caller must wait for. The socket stays the caller's:
/// it closes it after `shutdown()`.
public final class TLSConnection {
    /// What one call did.
    public enum Step: Equatable {
        case transferred(Int)
        /// Wait for the socket to be readable, then call again.
        case wantRead
        /// Wait for the socket to be writable, then call again.
        case wantWrite
        /// The peer ended the session in order (close_notify, or EOF).
        case closed
        case failed(TLSError)
    }

    private let ssl: OpaquePointer
    public let host: String
    /// The last read could not finish until the socket accepts a write
    /// (TLS 1.3 key updates and session tickets can do this): the caller
    /// must add write interest and retry the read when writable.
    public private(set) var readWantsWritable = false
    /// The mirror case: a write that needs the socket readable first.
    public private(set) var writeWantsReadable = false
    public private(set) var handshakeComplete = false

    /// - Parameters:
    ///   - host: the URL's host. A hostname is sent as SNI and checked against
    ///     the certificate's names; an IP literal is sent without SNI (RFC 6066
    ///     forbids it) and checked against the certificate's IP addresses.
    public init(context: TLSClientContext, fd: Int32, host: String) throws(TLSClientContext.ConfigurationError) {
        guard let ssl = SSL_new(context.raw) else {
            throw TLSClientContext.ConfigurationError(description: "SSL_new failed: \(TLSErrorQueue.drain())")
        }
        self.ssl = ssl
        self.host = host
        let parameters = SSL_get0_param(ssl)
        let configured: Bool
        if Self.isIPLiteral(host) {
            configured = X509_VERIFY_PARAM_set1_ip_asc(parameters, host) == 1
        } else {
            configured = tw_ssl_set_sni(ssl, host) == 1 && X509_VERIFY_PARAM_set1_host(parameters, host, 0) == 1
        }
        guard configured, SSL_set_fd(ssl, fd) == 1 else {
            let reason = TLSErrorQueue.drain()
            SSL_free(ssl)
            throw TLSClientContext.ConfigurationError(description: "cannot set up TLS for \(host): \(reason)")
        }
        SSL_set_connect_state(ssl)
    }

    /// The server side of a connection accepted on the gRPC listener.
    public init(serverContext: TLSServerContext, fd: Int32) throws(TLSClientContext.ConfigurationError) {
        guard let ssl = SSL_new(serverContext.raw) else {
            throw TLSClientContext.ConfigurationError(description: "SSL_new failed: \(TLSErrorQueue.drain())")
        }
        guard SSL_set_fd(ssl, fd) == 1 else {
            let reason = TLSErrorQueue.drain()
            SSL_free(ssl)
            throw TLSClientContext.ConfigurationError(description: "SSL_set_fd failed: \(reason)")
        }
        self.ssl = ssl
        self.host = ""
        SSL_set_accept_state(ssl)
    }

    deinit {
        SSL_free(ssl)
    }

    /// Advances the handshake; `.transferred(0)` once it is complete.
    public func handshake() -> Step {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            handshakeComplete = true
            return .transferred(0)
        }
        switch classify(result) {
        case .closed: return .failed(.protocolFailure("the peer closed the connection during the TLS handshake"))
        case let step: return step
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) -> Step {
        let step = transfer { SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max)))) }
        readWantsWritable = step == .wantWrite
        return step
    }

    public func write(_ bytes: UnsafeRawBufferPointer) -> Step {
        guard bytes.count > 0 else { return .transferred(0) }
        let step = transfer { SSL_write(ssl, bytes.baseAddress, Int32(min(bytes.count, Int(Int32.max)))) }
        writeWantsReadable = step == .wantRead
        return step
    }

    /// One SSL_read or SSL_write: bytes moved, or what the session waits for.
    /// The error queue is cleared first, so what `classify` finds is this call's.
    @inline(__always)
    private func transfer(_ call: () -> Int32) -> Step {
        ERR_clear_error()
        let count = call()
        return count > 0 ? .transferred(Int(count)) : classify(count)
    }

    /// Sends close_notify once, without waiting for the peer's: the socket is
    /// closed right after, and a reply would have nowhere to go.
    public func shutdown() {
        guard handshakeComplete else { return }
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    /// The ALPN protocol agreed in the handshake ("h2"), if any.
    public var negotiatedProtocol: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// "TLSv1.3" and the like, once the handshake is done.
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    private func classify(_ result: Int32) -> Step {
        let error = SSL_get_error(ssl, result)
        switch error {
        case SSL_ERROR_WANT_READ:
            return .wantRead
        case SSL_ERROR_WANT_WRITE:
            return .wantWrite
        case SSL_ERROR_ZERO_RETURN:
            return .closed
        case SSL_ERROR_SYSCALL:
            let errno = Glibc.errno
            if ERR_peek_error() != 0 { return .failed(.protocolFailure(TLSErrorQueue.drain())) }
            // OpenSSL 3 reports a bare TCP EOF as SSL_ERROR_SSL "unexpected eof";
            // errno 0 here is the same event from older paths.
            if errno == 0 { return .failed(.closedWithoutNotify) }
            switch ErrnoClass.of(errno, call: "TLS socket I/O") {
            case .failed(let error): return .failed(.socket(error))
            // OpenSSL turns a socket's EAGAIN and EINTR into WANT_READ or
            // WANT_WRITE itself; one seen here left its state unknown.
            case .wouldBlock, .interrupted: return .failed(.socket(SystemError(call: "TLS socket I/O", errno: errno)))
            }
        default:
            let verify = SSL_get_verify_result(ssl)
            if verify != X509_V_OK {
                _ = TLSErrorQueue.drain()
                return .failed(.certificate(String(cString: X509_verify_cert_error_string(verify))))
            }
            return .failed(.protocolFailure(TLSErrorQueue.drain()))
        }
    }

    private static func isIPLiteral(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}

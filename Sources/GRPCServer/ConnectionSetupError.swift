import CNghttp2

/// Why an accepted connection could not be set up. nghttp2 and OpenSSL report
/// codes of their own, and neither is an errno: each keeps its own words.
public enum ConnectionSetupError: Error, CustomStringConvertible {
    /// An nghttp2 call returned this error code (one of NGHTTP2_ERR_*).
    case nghttp2(call: String, code: Int32)
    /// OpenSSL could not make the connection's TLS session.
    case tls(String)

    public var description: String {
        switch self {
        case .nghttp2(let call, let code):
            return "\(call): \(String(cString: nghttp2_strerror(code))) (nghttp2 error \(code))"
        case .tls(let reason):
            return "TLS setup: \(reason)"
        }
    }
}

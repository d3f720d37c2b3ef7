import COpenSSL

/// The process-wide TLS client settings for the Binance feed: TLS 1.2 at
/// least, peer verification always on, trusting the system store plus an
/// optional extra CA file. One context serves every connection attempt.
public final class TLSClientContext {
    public struct ConfigurationError: Error, CustomStringConvertible {
        public let description: String
    }

    let raw: OpaquePointer

    /// - Parameter extraCAFile: a PEM bundle trusted in addition to the
    ///   system store (`--binance-ca-file`); a file that cannot be loaded is
    ///   a startup error, never a silent fallback to no verification.
    public init(extraCAFile: String? = nil) throws(ConfigurationError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw ConfigurationError(description: "cannot create a TLS context: \(TLSErrorQueue.drain())")
        }
        raw = context
        guard tw_ssl_ctx_set_min_proto_version(context, tw_tls1_2_version()) == 1 else {
            throw ConfigurationError(description: "cannot require TLS 1.2: \(TLSErrorQueue.drain())")
        }
        // Partial writes let a WebSocket frame leave in pieces as the socket
        // drains, instead of the whole record being retried from the start.
        _ = tw_ssl_ctx_set_mode(context, tw_ssl_mode_partial_write())
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        if SSL_CTX_set_default_verify_paths(context) != 1 {
            // Containers without ca-certificates: only --binance-ca-file can work then.
            _ = TLSErrorQueue.drain()
        }
        if let extraCAFile {
            guard SSL_CTX_load_verify_locations(context, extraCAFile, nil) == 1 else {
                throw ConfigurationError(description: "cannot load CA file \(extraCAFile): \(TLSErrorQueue.drain())")
            }
        }
    }

    deinit {
        SSL_CTX_free(raw)
    }
}

/// OpenSSL reports errors on a per-thread queue; each call site drains it so
/// that a stale entry is never blamed on the next connection.
enum TLSErrorQueue {
    static func drain() -> String {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            let text = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { buffer in
                ERR_error_string_n(code, buffer.baseAddress, buffer.count)
                return String(cString: buffer.baseAddress!)
            }
            messages.append(text)
        }
        return messages.isEmpty ? "no OpenSSL error recorded" : messages.joined(separator: "; ")
    }
}

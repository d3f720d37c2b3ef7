import COpenSSL

/// TLS settings for the gRPC listener: our certificate chain and key, TLS
/// 1.2 at least, ALPN "h2", and, for mutual TLS, the CA that client
/// certificates must chain to (a client without one is refused).
public final class TLSServerContext {
    let raw: OpaquePointer
    public let requiresClientCertificate: Bool

    public init(certificateChainFile: String, privateKeyFile: String,
                clientCAFile: String? = nil) throws(TLSClientContext.ConfigurationError) {
        guard let context = SSL_CTX_new(TLS_server_method()) else {
            throw .init(description: "cannot create a TLS context: \(TLSErrorQueue.drain())")
        }
        raw = context
        requiresClientCertificate = clientCAFile != nil
        guard tw_ssl_ctx_set_min_proto_version(context, tw_tls1_2_version()) == 1 else {
            throw .init(description: "cannot require TLS 1.2: \(TLSErrorQueue.drain())")
        }
        _ = tw_ssl_ctx_set_mode(context, tw_ssl_mode_partial_write())
        guard SSL_CTX_use_certificate_chain_file(context, certificateChainFile) == 1 else {
            throw .init(description: "cannot load the certificate chain \(certificateChainFile): \(TLSErrorQueue.drain())")
        }
        guard SSL_CTX_use_PrivateKey_file(context, privateKeyFile, SSL_FILETYPE_PEM) == 1 else {
            // OpenSSL 3 checks the pair here already, so say both possibilities.
            throw .init(description: "cannot load the private key \(privateKeyFile), or it does not match the certificate \(certificateChainFile): \(TLSErrorQueue.drain())")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw .init(description: "the private key \(privateKeyFile) does not match the certificate: \(TLSErrorQueue.drain())")
        }
        if let clientCAFile {
            guard SSL_CTX_load_verify_locations(context, clientCAFile, nil) == 1 else {
                throw .init(description: "cannot load the client CA file \(clientCAFile): \(TLSErrorQueue.drain())")
            }
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        }
        tw_ssl_ctx_select_h2(context)
    }

    deinit {
        SSL_CTX_free(raw)
    }
}

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

// OpenSSL spells these as function-like macros over SSL_ctrl, which Swift
// cannot import; each is the macro's own expansion, nothing more.
static inline long tw_ssl_ctx_set_min_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_min_proto_version(ctx, version);
}
static inline long tw_ssl_ctx_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline long tw_ssl_set_sni(SSL *ssl, const char *name) { return SSL_set_tlsext_host_name(ssl, name); }
static inline int tw_tls1_2_version(void) { return TLS1_2_VERSION; }
static inline long tw_ssl_mode_partial_write(void) {
    return SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
}

// ALPN on the gRPC listener: select "h2" when the client offers it, and fail
// the handshake (no_application_protocol) when it offers only others. A client
// that offers no ALPN at all is not asked about (the callback never runs).
static inline int tw_alpn_select_h2(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                                    const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl;
    (void)arg;
    static const unsigned char h2[] = {2, 'h', '2'};
    unsigned char *selected = NULL;
    unsigned char selected_length = 0;
    if (SSL_select_next_proto(&selected, &selected_length, h2, sizeof(h2), in, inlen) != OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    *out = selected;
    *outlen = selected_length;
    return SSL_TLSEXT_ERR_OK;
}
static inline void tw_ssl_ctx_select_h2(SSL_CTX *ctx) { SSL_CTX_set_alpn_select_cb(ctx, tw_alpn_select_h2, NULL); }

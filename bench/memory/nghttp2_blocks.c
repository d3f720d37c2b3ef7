// What one idle StreamPrices connection's nghttp2 server session holds, block
// by block (docs/performance.md, "Capacity"): a server session made as
// Tickwire makes it (SETTINGS with a header table of 0, deflate table 0)
// talks to a client session in memory; the client sends one request, the
// server answers with response headers and one DATA frame, and the live
// blocks are listed with glibc's usable size.
//
//   cc -O2 -o /tmp/nghttp2_blocks bench/memory/nghttp2_blocks.c -lnghttp2 && /tmp/nghttp2_blocks
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nghttp2/nghttp2.h>

#define MAX_BLOCKS 256
static void *blocks[MAX_BLOCKS];
static size_t asked[MAX_BLOCKS];
static int counting;

static void track(void *p, size_t size) {
    for (int i = 0; i < MAX_BLOCKS; i++) if (!blocks[i]) { blocks[i] = p; asked[i] = size; return; }
}
static void untrack(void *p) {
    for (int i = 0; i < MAX_BLOCKS; i++) if (blocks[i] == p) { blocks[i] = NULL; return; }
}
static void *m_malloc(size_t n, void *u) { (void)u; void *p = malloc(n); if (counting) track(p, n); return p; }
static void m_free(void *p, void *u) { (void)u; if (p) untrack(p); free(p); }
static void *m_calloc(size_t c, size_t n, void *u) { (void)u; void *p = calloc(c, n); if (counting) track(p, c * n); return p; }
static void *m_realloc(void *p, size_t n, void *u) {
    (void)u; if (p) untrack(p); void *q = realloc(p, n); if (counting) track(q, n); return q;
}

static void pump(nghttp2_session *from, nghttp2_session *to) {
    const uint8_t *data;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(from, &data)) > 0) nghttp2_session_mem_recv(to, data, (size_t)n);
}

static ssize_t one_message(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                           nghttp2_data_source *src, void *u) {
    (void)s; (void)id; (void)src; (void)u;
    if (*(int *)src->ptr) return NGHTTP2_ERR_DEFERRED;  // a stream that stays open, like StreamPrices
    *(int *)src->ptr = 1;
    memset(buf, 7, 80 < len ? 80 : len);
    (void)flags;
    return 80;
}

#define NV(n, v) {(uint8_t *)n, (uint8_t *)v, sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE}

int main(void) {
    nghttp2_mem mem = {NULL, m_malloc, m_free, m_calloc, m_realloc};
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_option *opt;
    nghttp2_option_new(&opt);
    nghttp2_option_set_max_deflate_dynamic_table_size(opt, 0);
    nghttp2_session *server, *client;
    counting = 1;
    nghttp2_session_server_new3(&server, cb, NULL, opt, &mem);
    counting = 0;
    nghttp2_session_client_new(&client, cb, NULL);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100},
                                   {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 16384},
                                   {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, 0}};
    counting = 1;
    nghttp2_submit_settings(server, 0, iv, 3);
    counting = 0;
    nghttp2_submit_settings(client, 0, NULL, 0);
    nghttp2_nv req[] = {NV(":method", "POST"), NV(":scheme", "http"), NV(":path", "/tickwire.v1.PriceStream/StreamPrices"),
                        NV(":authority", "127.0.0.1:50051"), NV("content-type", "application/grpc"), NV("te", "trailers"),
                        NV("user-agent", "tw-load"), NV("grpc-accept-encoding", "identity")};
    nghttp2_submit_request(client, NULL, req, 8, NULL, NULL);
    pump(client, server);
    counting = 1;
    pump(server, client);
    int sent = 0;
    nghttp2_data_provider provider = {.source.ptr = &sent, .read_callback = one_message};
    nghttp2_nv res[] = {NV(":status", "200"), NV("content-type", "application/grpc")};
    nghttp2_submit_response(server, 1, res, 2, &provider);
    pump(server, client);
    counting = 0;
    pump(client, server);
    counting = 1;
    pump(server, client);
    counting = 0;
    size_t total_asked = 0, total_usable = 0;
    int count = 0;
    printf("%8s %8s\n", "asked", "usable");
    for (int i = 0; i < MAX_BLOCKS; i++) {
        if (!blocks[i]) continue;
        printf("%8zu %8zu\n", asked[i], malloc_usable_size(blocks[i]));
        total_asked += asked[i];
        total_usable += malloc_usable_size(blocks[i]);
        count++;
    }
    printf("%d blocks: %zu bytes asked, %zu usable; inflate table %zu, deflate table %zu\n", count, total_asked,
           total_usable, nghttp2_session_get_hd_inflate_dynamic_table_size(server),
           nghttp2_session_get_hd_deflate_dynamic_table_size(server));
    return 0;
}

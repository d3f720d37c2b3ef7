#include "grpc_frames.h"

#include <string.h>

void grpc_deframer_init(struct grpc_deframer *d, uint8_t *buffer, uint32_t capacity)
{
    *d = (struct grpc_deframer){.buffer = buffer, .capacity = capacity};
}

static void deliver(struct grpc_deframer *d, const uint8_t *data, size_t have,
                    grpc_message_fn on_message, void *ctx)
{
    struct grpc_message m = {
        .data = data, .len = have, .full_len = d->body_len, .compressed = d->prefix[0] != 0,
    };
    on_message(ctx, &m);
    d->prefix_have = 0;
    d->body_have = 0;
    d->body_len = 0;
}

void grpc_deframer_feed(struct grpc_deframer *d, const uint8_t *data, size_t len,
                        grpc_message_fn on_message, void *ctx)
{
    const uint8_t *at = data, *end = data + len;
    while (at < end) {
        if (d->prefix_have < 5) {
            /* The common case: prefix and body both whole in this chunk. */
            if (d->prefix_have == 0 && end - at >= 5) {
                uint32_t n = (uint32_t)at[1] << 24 | (uint32_t)at[2] << 16 | (uint32_t)at[3] << 8 | at[4];
                if ((size_t)(end - at - 5) >= n) {
                    d->prefix[0] = at[0];
                    d->body_len = n;
                    deliver(d, at + 5, n, on_message, ctx);
                    at += 5 + (size_t)n;
                    continue;
                }
            }
            d->prefix[d->prefix_have++] = *at++;
            if (d->prefix_have < 5) continue;
            d->body_len = (uint32_t)d->prefix[1] << 24 | (uint32_t)d->prefix[2] << 16 |
                          (uint32_t)d->prefix[3] << 8 | d->prefix[4];
            d->body_have = 0;
            if (d->body_len == 0) deliver(d, d->buffer, 0, on_message, ctx);
            continue;
        }
        /* A straddling body: keep what fits, count the rest. */
        size_t want = d->body_len - d->body_have;
        size_t take = (size_t)(end - at) < want ? (size_t)(end - at) : want;
        if (d->body_have < d->capacity) {
            size_t room = d->capacity - d->body_have;
            memcpy(d->buffer + d->body_have, at, take < room ? take : room);
        }
        d->body_have += (uint32_t)take;
        at += take;
        if (d->body_have == d->body_len) {
            size_t kept = d->body_len < d->capacity ? d->body_len : d->capacity;
            deliver(d, d->buffer, kept, on_message, ctx);
        }
    }
}

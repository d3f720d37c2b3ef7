/* gRPC message reassembly over HTTP/2 DATA chunks: a 5-byte prefix
   (compressed flag, big-endian length), then the message. A message wholly
   inside one chunk is handed over in place; only one that straddles chunks is
   copied, into the stream's own buffer, fixed at startup. */
#ifndef TW_GRPC_FRAMES_H
#define TW_GRPC_FRAMES_H

#include <stddef.h>
#include <stdint.h>

struct grpc_message {
    const uint8_t *data;
    size_t len;                  /* bytes at data: < full_len when truncated */
    size_t full_len;             /* the length the prefix announced */
    int compressed;              /* we never ask for compression: counted as an error */
};

typedef void (*grpc_message_fn)(void *ctx, const struct grpc_message *message);

struct grpc_deframer {
    uint8_t prefix[5];
    uint8_t prefix_have;         /* 0..5 prefix bytes seen of the current message */
    uint32_t body_len;
    uint32_t body_have;
    uint8_t *buffer;             /* capacity bytes, owned by the caller */
    uint32_t capacity;           /* longer messages are kept truncated to this */
};

void grpc_deframer_init(struct grpc_deframer *d, uint8_t *buffer, uint32_t capacity);

/* Feeds one DATA chunk; calls `on_message` for every message it completes. */
void grpc_deframer_feed(struct grpc_deframer *d, const uint8_t *data, size_t len,
                        grpc_message_fn on_message, void *ctx);

#endif

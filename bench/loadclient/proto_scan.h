/* Just enough protobuf to read StreamResponse: a field cursor and the few
   fields tw-load looks at. Nothing is allocated; strings point into the message. */
#ifndef TW_PROTO_SCAN_H
#define TW_PROTO_SCAN_H

#include <stddef.h>
#include <stdint.h>

/* First byte of a serialized StreamResponse: its oneof field's tag
   (field << 3 | wire type 2). Classifying a message needs nothing more. */
enum response_tag {
    RESPONSE_PRICE = 0x0A,       /* PriceUpdate price = 1 */
    RESPONSE_INDICATORS = 0x12,  /* IndicatorBatch indicators = 2 */
    RESPONSE_STATUS = 0x1A,      /* SubscriptionStatus status = 3 */
    RESPONSE_SHUTDOWN = 0x22,    /* ShutdownNotice shutdown = 4 */
};

struct pb_bytes {
    const uint8_t *data;
    size_t len;
};

struct price_fields {
    struct pb_bytes symbol;
    int64_t trade_id;
    int64_t ingest_unix_nanos;
};

struct indicator_update_fields {
    struct pb_bytes symbol;
    uint32_t type;               /* IndicatorType: 1 SMA, 2 EMA, 3 RSI */
    uint32_t period;
    double value;
    int64_t trade_id;
    int64_t trade_time_ms;
};

struct status_fields {
    struct pb_bytes request_id;
    int32_t code;                /* a gRPC status code number; 0 is OK */
    struct pb_bytes message;
};

/* The oneof payload of a StreamResponse: its tag and its bytes; -1 if malformed. */
int scan_response(const uint8_t *msg, size_t len, uint8_t *tag, struct pb_bytes *payload);

int scan_price(struct pb_bytes payload, struct price_fields *out);
int scan_status(struct pb_bytes payload, struct status_fields *out);

/* Calls `each` for every IndicatorUpdate (when non-NULL); returns how many
   there were, or -1 if malformed. */
int scan_batch(struct pb_bytes payload,
               void (*each)(void *ctx, const struct indicator_update_fields *update), void *ctx);

#endif

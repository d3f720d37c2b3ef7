/* A protobuf field cursor over one message: tag, wire type, then a varint, a
   fixed64 or a length-delimited slice. Unknown fields are stepped over, as a
   proto3 reader must, so the server may add fields without breaking us. */
#include "proto_scan.h"

#include <string.h>

enum wire_type { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2, WIRE_FIXED32 = 5 };

struct pb_cursor {
    const uint8_t *at;
    const uint8_t *end;
};

struct pb_field {
    uint32_t number;
    uint32_t wire;
    uint64_t scalar;             /* varint or fixed value */
    struct pb_bytes bytes;       /* length-delimited value */
};

static int read_varint(struct pb_cursor *c, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (c->at >= c->end) return -1;
        uint8_t b = *c->at++;
        v |= (uint64_t)(b & 0x7F) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* 1: a field was read; 0: end of message; -1: malformed. */
static int next_field(struct pb_cursor *c, struct pb_field *f)
{
    if (c->at >= c->end) return 0;
    uint64_t key;
    if (read_varint(c, &key) != 0 || (key >> 3) == 0 || (key >> 3) > UINT32_MAX) return -1;
    f->number = (uint32_t)(key >> 3);
    f->wire = (uint32_t)(key & 7);
    switch (f->wire) {
    case WIRE_VARINT:
        return read_varint(c, &f->scalar) == 0 ? 1 : -1;
    case WIRE_FIXED64:
        if (c->end - c->at < 8) return -1;
        memcpy(&f->scalar, c->at, 8);    /* protobuf is little-endian, as is this host */
        c->at += 8;
        return 1;
    case WIRE_FIXED32:
        if (c->end - c->at < 4) return -1;
        f->scalar = 0;
        memcpy(&f->scalar, c->at, 4);
        c->at += 4;
        return 1;
    case WIRE_LEN: {
        uint64_t len;
        if (read_varint(c, &len) != 0 || len > (uint64_t)(c->end - c->at)) return -1;
        f->bytes = (struct pb_bytes){c->at, (size_t)len};
        c->at += len;
        return 1;
    }
    default:
        return -1;
    }
}

static struct pb_cursor cursor_of(struct pb_bytes b)
{
    return (struct pb_cursor){b.data, b.data + b.len};
}

int scan_response(const uint8_t *msg, size_t len, uint8_t *tag, struct pb_bytes *payload)
{
    struct pb_cursor c = {msg, msg + len};
    struct pb_field f;
    int found = 0, r;
    /* A oneof may in principle repeat; the last one wins, as in every parser. */
    while ((r = next_field(&c, &f)) == 1) {
        if (f.wire == WIRE_LEN && f.number >= 1 && f.number <= 4) {
            *tag = (uint8_t)(f.number << 3 | WIRE_LEN);
            *payload = f.bytes;
            found = 1;
        }
    }
    return r == 0 && found ? 0 : -1;
}

int scan_price(struct pb_bytes payload, struct price_fields *out)
{
    struct pb_cursor c = cursor_of(payload);
    struct pb_field f;
    int r;
    *out = (struct price_fields){0};
    while ((r = next_field(&c, &f)) == 1) {
        if (f.number == 1 && f.wire == WIRE_LEN) out->symbol = f.bytes;
        else if (f.number == 4 && f.wire == WIRE_VARINT) out->trade_id = (int64_t)f.scalar;
        else if (f.number == 7 && f.wire == WIRE_VARINT) out->ingest_unix_nanos = (int64_t)f.scalar;
    }
    return r;
}

int scan_status(struct pb_bytes payload, struct status_fields *out)
{
    struct pb_cursor c = cursor_of(payload);
    struct pb_field f;
    int r;
    *out = (struct status_fields){0};
    while ((r = next_field(&c, &f)) == 1) {
        if (f.number == 1 && f.wire == WIRE_LEN) out->request_id = f.bytes;
        else if (f.number == 2 && f.wire == WIRE_VARINT) out->code = (int32_t)f.scalar;
        else if (f.number == 3 && f.wire == WIRE_LEN) out->message = f.bytes;
    }
    return r;
}

static int scan_update(struct pb_bytes payload, struct indicator_update_fields *out)
{
    struct pb_cursor c = cursor_of(payload);
    struct pb_field f;
    int r;
    *out = (struct indicator_update_fields){0};
    while ((r = next_field(&c, &f)) == 1) {
        switch (f.number) {
        case 1: if (f.wire == WIRE_LEN) out->symbol = f.bytes; break;
        case 2: if (f.wire == WIRE_VARINT) out->type = (uint32_t)f.scalar; break;
        case 3: if (f.wire == WIRE_VARINT) out->period = (uint32_t)f.scalar; break;
        case 4: if (f.wire == WIRE_FIXED64) memcpy(&out->value, &f.scalar, 8); break;
        case 5: if (f.wire == WIRE_VARINT) out->trade_id = (int64_t)f.scalar; break;
        case 6: if (f.wire == WIRE_VARINT) out->trade_time_ms = (int64_t)f.scalar; break;
        default: break;
        }
    }
    return r;
}

int scan_batch(struct pb_bytes payload,
               void (*each)(void *ctx, const struct indicator_update_fields *update), void *ctx)
{
    struct pb_cursor c = cursor_of(payload);
    struct pb_field f;
    int r, count = 0;
    while ((r = next_field(&c, &f)) == 1) {
        if (f.number != 1 || f.wire != WIRE_LEN) continue;
        count++;
        if (each == NULL) continue;
        struct indicator_update_fields update;
        if (scan_update(f.bytes, &update) != 0) return -1;
        each(ctx, &update);
    }
    return r == 0 ? count : -1;
}

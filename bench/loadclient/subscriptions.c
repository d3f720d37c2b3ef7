#include "subscriptions.h"

#include <stdio.h>
#include <string.h>

enum { TYPE_SMA = 1, TYPE_EMA = 2, TYPE_RSI = 3 };

/* Ten subscriptions over two symbols; the variants swap one each, so that
   streams share indicator states without all asking the same ten. */
static const struct subscription base_set[SUBSCRIPTION_SET_SIZE] = {
    {"btcusdt", TYPE_SMA, 14}, {"btcusdt", TYPE_SMA, 50}, {"btcusdt", TYPE_SMA, 200},
    {"btcusdt", TYPE_EMA, 14}, {"btcusdt", TYPE_EMA, 50}, {"btcusdt", TYPE_RSI, 14},
    {"ethusdt", TYPE_SMA, 20}, {"ethusdt", TYPE_EMA, 20}, {"ethusdt", TYPE_EMA, 100},
    {"ethusdt", TYPE_RSI, 28},
};

/* Variant v (stream_index % 5) replaces base_set[slot] with `with`; v 0 is the base set. */
static const struct {
    int slot;
    struct subscription with;
} variant_swaps[5] = {
    {-1, {NULL, 0, 0}},
    {2, {"btcusdt", TYPE_SMA, 100}},
    {8, {"ethusdt", TYPE_EMA, 50}},
    {5, {"btcusdt", TYPE_RSI, 21}},
    {6, {"ethusdt", TYPE_SMA, 30}},
};

struct subscription subscription_of(int stream_index, int n)
{
    int v = stream_index % 5;
    return variant_swaps[v].slot == n ? variant_swaps[v].with : base_set[n];
}

const char *indicator_type_name(uint32_t type)
{
    switch (type) {
    case TYPE_SMA: return "SMA";
    case TYPE_EMA: return "EMA";
    case TYPE_RSI: return "RSI";
    default: return "UNSPECIFIED";
    }
}

static uint8_t *put_varint(uint8_t *at, uint64_t v)
{
    while (v >= 0x80) {
        *at++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *at++ = (uint8_t)v;
    return at;
}

static uint8_t *put_string(uint8_t *at, uint32_t field, const char *s, size_t len)
{
    at = put_varint(at, field << 3 | 2);
    at = put_varint(at, len);
    memcpy(at, s, len);
    return at + len;
}

/* IndicatorRequest: action = 1 (SUBSCRIBE is 0, the default, so omitted),
   symbol = 2, type = 3, period = 4, request_id = 5, interval = 6, forming = 7.
   At most ~44 bytes. */
static size_t encode_request(const struct subscription *s, const char *request_id, uint32_t candle_interval,
                             uint8_t *out)
{
    uint8_t *at = out;
    at = put_string(at, 2, s->symbol, strlen(s->symbol));
    at = put_varint(at, 3 << 3);
    at = put_varint(at, s->type);
    at = put_varint(at, 4 << 3);
    at = put_varint(at, s->period);
    at = put_string(at, 5, request_id, strlen(request_id));
    if (candle_interval != 0) {
        at = put_varint(at, 6 << 3);
        at = put_varint(at, candle_interval);
        at = put_varint(at, 7 << 3);
        at = put_varint(at, 1);
    }
    return (size_t)(at - out);
}

size_t encode_subscribe_requests(int stream_index, int count, uint32_t candle_interval, uint8_t *out, size_t cap)
{
    size_t used = 0;
    for (int n = 0; n < count; n++) {
        uint8_t message[96];
        char request_id[32];
        snprintf(request_id, sizeof request_id, "s%d-%d", stream_index, n);
        struct subscription s = subscription_of(stream_index, n);
        size_t len = encode_request(&s, request_id, candle_interval, message);
        if (used + 5 + len > cap) return 0;
        out[used] = 0;                                 /* not compressed */
        out[used + 1] = (uint8_t)(len >> 24);
        out[used + 2] = (uint8_t)(len >> 16);
        out[used + 3] = (uint8_t)(len >> 8);
        out[used + 4] = (uint8_t)len;
        memcpy(out + used + 5, message, len);
        used += 5 + len;
    }
    return used;
}

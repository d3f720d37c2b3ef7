/* The deframer and the field scan against scripted bytes: three messages
   (a price, a batch, a status), fed split at every pair of boundaries, must
   come out the same every time. Run by `make test`. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "grpc_frames.h"
#include "proto_scan.h"

/* StreamResponse{price{symbol "BTCUSDT", trade_id 300, ingest_unix_nanos 1700000000000000000}} */
static const uint8_t price_msg[] = {
    0x0A, 0x16, 0x0A, 0x07, 'B', 'T', 'C', 'U', 'S', 'D', 'T', 0x20, 0xAC, 0x02,
    0x38, 0x80, 0x80, 0xA8, 0xB1, 0xE3, 0x9F, 0xE7, 0xCB, 0x17,
};
/* StreamResponse{indicators{updates{symbol "ETHUSDT", type 3, period 14, value 50.0, trade_id 7}}} */
static const uint8_t batch_msg[] = {
    0x12, 0x1A, 0x0A, 0x18, 0x0A, 0x07, 'E', 'T', 'H', 'U', 'S', 'D', 'T', 0x10, 0x03, 0x18, 0x0E,
    0x21, 0, 0, 0, 0, 0, 0, 0x49, 0x40, 0x28, 0x07,
};
/* StreamResponse{status{request_id "s1-0", code 5}} */
static const uint8_t status_msg[] = {0x1A, 0x08, 0x0A, 0x04, 's', '1', '-', '0', 0x10, 0x05};

struct seen {
    int prices, batches, statuses;
};

static void check_message(void *ctx, const struct grpc_message *m)
{
    struct seen *seen = ctx;
    uint8_t tag;
    struct pb_bytes payload;
    assert(m->len == m->full_len && !m->compressed);
    assert(scan_response(m->data, m->len, &tag, &payload) == 0);
    if (tag == RESPONSE_PRICE) {
        struct price_fields p;
        assert(scan_price(payload, &p) == 0);
        assert(p.trade_id == 300 && p.ingest_unix_nanos == 1700000000000000000LL);
        assert(p.symbol.len == 7 && memcmp(p.symbol.data, "BTCUSDT", 7) == 0);
        seen->prices++;
    } else if (tag == RESPONSE_INDICATORS) {
        assert(scan_batch(payload, NULL, NULL) == 1);
        seen->batches++;
    } else {
        struct status_fields st;
        assert(tag == RESPONSE_STATUS && scan_status(payload, &st) == 0 && st.code == 5);
        assert(st.request_id.len == 4 && memcmp(st.request_id.data, "s1-0", 4) == 0);
        seen->statuses++;
    }
}

static size_t frame(uint8_t *out, const uint8_t *msg, size_t len)
{
    out[0] = 0;
    out[1] = out[2] = 0;
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
    memcpy(out + 5, msg, len);
    return len + 5;
}

int main(void)
{
    uint8_t wire[256];
    size_t n = frame(wire, price_msg, sizeof price_msg);
    n += frame(wire + n, batch_msg, sizeof batch_msg);
    n += frame(wire + n, status_msg, sizeof status_msg);
    uint8_t buffer[64];
    int runs = 0;
    for (size_t a = 0; a <= n; a++) {
        for (size_t b = a; b <= n; b++) {
            struct grpc_deframer d;
            struct seen seen = {0};
            grpc_deframer_init(&d, buffer, sizeof buffer);
            grpc_deframer_feed(&d, wire, a, check_message, &seen);
            grpc_deframer_feed(&d, wire + a, b - a, check_message, &seen);
            grpc_deframer_feed(&d, wire + b, n - b, check_message, &seen);
            assert(seen.prices == 1 && seen.batches == 1 && seen.statuses == 1);
            runs++;
        }
    }
    printf("grpc_frames: %d splits of %zu bytes, all three messages each time\n", runs, n);
    return 0;
}

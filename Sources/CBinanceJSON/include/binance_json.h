// A C face over simdjson's On-Demand parser, shaped for Binance's market-data
// frames. Swift calls it once per frame; nothing here allocates per call.
#ifndef TICKWIRE_BINANCE_JSON_H
#define TICKWIRE_BINANCE_JSON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { TW_SYMBOL_CAPACITY = 24 };

// One trade, as Binance sent it, with price and quantity already decoded from
// their decimal strings to the nearest double.
typedef struct tw_trade {
    int64_t trade_id;       // "t" for trade, "a" for aggTrade
    int64_t trade_time_ms;  // "T"
    int64_t event_time_ms;  // "E"
    double price;           // "p"
    double quantity;        // "q"
    uint8_t symbol_length;
    uint8_t is_aggregate;   // 1 for aggTrade
    char symbol[TW_SYMBOL_CAPACITY]; // "s", not NUL-terminated
} tw_trade;

typedef enum tw_frame_kind {
    TW_FRAME_TRADE = 0,            // out holds a trade
    TW_FRAME_OTHER = 1,            // valid JSON this server does not serve (bookTicker, depth, replies)
    TW_FRAME_MALFORMED = 2,        // not JSON, or a trade missing a field or with a wrong type
    TW_FRAME_SERVER_SHUTDOWN = 3,  // Binance's maintenance notice; out->event_time_ms is set
} tw_frame_kind;

typedef struct tw_json_parser tw_json_parser;

// Bytes that must be readable after the end of every input given to the parser.
size_t tw_json_padding(void);

tw_json_parser *tw_json_parser_create(void);
void tw_json_parser_destroy(tw_json_parser *parser);

// Parses one frame: a combined-stream envelope {"stream":…,"data":{…}} or a
// bare event object. `capacity` is the number of readable bytes at `bytes`,
// which must be at least `length + tw_json_padding()`.
tw_frame_kind tw_json_parse_frame(tw_json_parser *parser, const uint8_t *bytes, size_t length,
                                  size_t capacity, tw_trade *out);

// The largest price or quantity accepted (1e15): far above any quote, far
// below where sums of a few thousand of them lose their range.
#define TW_DECIMAL_MAX 1e15

// Decodes a decimal string to the nearest double. Returns 0 on success; -1
// for anything that is not a plain positive decimal up to TW_DECIMAL_MAX
// (zero, "-0", negatives, NaN and infinities are refused).
int tw_parse_decimal(const char *text, size_t length, double *out);

#ifdef __cplusplus
}
#endif

#endif

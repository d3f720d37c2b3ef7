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
    uint8_t is_buyer_maker; // "m": 1 when the buyer was the maker (a taker sell); absent reads 0
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

// ---- WebSocket API replies (trades.historical) -------------------------

// One trade of a trades.historical result (or of trades.aggregate, whose
// fields are named as in the stream: a, T, p, q).
typedef struct tw_history_trade {
    int64_t trade_id;       // "id" ("a")
    int64_t time_ms;        // "time" ("T")
    double price;           // "price" ("p")
    double quantity;        // "qty" ("q")
    uint8_t is_buyer_maker; // "isBuyerMaker" ("m"); absent reads 0
} tw_history_trade;

enum { TW_ERROR_MESSAGE_CAPACITY = 120 };

// Everything but the trades of one reply. Absent numbers are -1.
typedef struct tw_api_reply {
    int64_t request_id;     // "id" (tickwire always sends a number)
    int32_t status;         // "status": 200, 429, 418, 4xx, 5xx
    int32_t error_code;     // "error.code"
    int64_t retry_after_ms; // "error.data.retryAfter": unix ms when requests may resume
    int64_t weight_used;    // rateLimits REQUEST_WEIGHT "count"
    int64_t weight_limit;   // rateLimits REQUEST_WEIGHT "limit"
    int64_t weight_interval_ms; // that limit's window (intervalNum × interval)
    size_t trade_count;     // trades written to the caller's array
    uint8_t message_length;
    char message[TW_ERROR_MESSAGE_CAPACITY]; // "error.msg", truncated, not NUL-terminated
} tw_api_reply;

typedef enum tw_reply_kind {
    TW_REPLY_TRADES = 0,     // status 200 with a result array (possibly empty)
    TW_REPLY_ERROR = 1,      // any other status, with an error object
    TW_REPLY_MALFORMED = 2,  // not JSON, a missing field, or more trades than `trade_capacity`
} tw_reply_kind;

// A parser of its own: the backfill connection is not the market stream.
typedef struct tw_api_parser tw_api_parser;
tw_api_parser *tw_api_parser_create(void);
void tw_api_parser_destroy(tw_api_parser *parser);

// Parses one reply of Binance's WebSocket API to trades.historical or trades.aggregate.
// `trades` has room for `trade_capacity` entries (a request asks for ≤ 1000).
tw_reply_kind tw_json_parse_api_reply(tw_api_parser *parser, const uint8_t *bytes, size_t length,
                                      size_t capacity, tw_api_reply *out,
                                      tw_history_trade *trades, size_t trade_capacity);

// ---- WebSocket API replies (klines) ------------------------------------

// One kline (candlestick) of a `klines` result: Binance's 12-element array,
// the unused last element dropped. Prices are positive; volumes may be 0
// (an interval without trades).
typedef struct tw_kline {
    int64_t open_time_ms;            // [0]
    int64_t close_time_ms;           // [6]
    double open;                     // [1]
    double high;                     // [2]
    double low;                      // [3]
    double close;                    // [4]
    double base_volume;              // [5]
    double quote_volume;             // [7]
    int64_t trade_count;             // [8]
    double taker_buy_base_volume;    // [9]
    double taker_buy_quote_volume;   // [10]
} tw_kline;

typedef enum tw_kline_reply_kind {
    TW_KLINE_REPLY_KLINES = 0,     // status 200 with a result array (possibly empty)
    TW_KLINE_REPLY_ERROR = 1,      // any other status, with an error object
    TW_KLINE_REPLY_MALFORMED = 2,  // out->request_id is set if the reply had one
} tw_kline_reply_kind;

// Parses one reply to `klines` with the API parser (tw_api_parser_create).
// `klines` has room for `kline_capacity` entries (a request asks for <= 1000);
// `*kline_count` is how many were written.
tw_kline_reply_kind tw_json_parse_kline_reply(tw_api_parser *parser, const uint8_t *bytes, size_t length,
                                              size_t capacity, tw_api_reply *out,
                                              tw_kline *klines, size_t kline_capacity, size_t *kline_count);

#ifdef __cplusplus
}
#endif

#endif

// libFuzzer harness for the Binance frame parser (Sources/CBinanceJSON).
// Each input is one WebSocket text frame. It is copied into a buffer that is
// exactly length + tw_json_padding() bytes, so AddressSanitizer reports any
// read past the padding simdjson was promised. The padding is filled with
// JSON-looking bytes, as in LiveFeed's reused scratch buffer, so a parser
// that mistook padding for input would produce wrong results, not silence.
// Built by scripts/fuzz.sh with -fsanitize=fuzzer,address,undefined.
#include "binance_json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

// Stale bytes a reused scratch buffer may hold after a shorter frame.
const char stale_tail[] = ",\"e\":\"trade\",\"p\":\"1\"}}]";

[[noreturn]] void fail(const char *what) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
}

void check_trade(const tw_trade &trade) {
    if (!std::isfinite(trade.price) || !(trade.price > 0)) fail("TRADE price is not finite and positive");
    if (!std::isfinite(trade.quantity) || !(trade.quantity > 0)) fail("TRADE quantity is not finite and positive");
    if (trade.symbol_length == 0 || trade.symbol_length > TW_SYMBOL_CAPACITY) fail("TRADE symbol length out of range");
    if (trade.is_aggregate > 1) fail("TRADE is_aggregate is not 0 or 1");
}

// tw_parse_decimal promises finite, positive output whenever it succeeds.
void check_decimal(const uint8_t *data, size_t size) {
    double value = -1;
    size_t length = size < 64 ? size : 64;
    if (tw_parse_decimal(reinterpret_cast<const char *>(data), length, &value) == 0) {
        if (!std::isfinite(value) || !(value > 0)) fail("tw_parse_decimal accepted a non-finite or non-positive number");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // One parser for the whole run, as the feed keeps one per connection;
    // reuse is part of what is under test.
    static tw_json_parser *parser = tw_json_parser_create();
    if (parser == nullptr) fail("tw_json_parser_create returned NULL");

    const size_t padding = tw_json_padding();
    const size_t capacity = size + padding;
    uint8_t *buffer = static_cast<uint8_t *>(std::malloc(capacity));
    if (buffer == nullptr) return 0;
    if (size > 0) std::memcpy(buffer, data, size);
    for (size_t i = 0; i < padding; i++) buffer[size + i] = static_cast<uint8_t>(stale_tail[i % (sizeof stale_tail - 1)]);

    tw_trade trade;
    std::memset(&trade, 0xA5, sizeof trade);  // a result must not depend on what was there before
    tw_frame_kind kind = tw_json_parse_frame(parser, buffer, size, capacity, &trade);
    switch (kind) {
    case TW_FRAME_TRADE: check_trade(trade); break;
    case TW_FRAME_OTHER:
    case TW_FRAME_MALFORMED:
    case TW_FRAME_SERVER_SHUTDOWN: break;
    default: fail("tw_json_parse_frame returned an unknown kind");
    }

    // A capacity one byte short of the promise must be refused, never read.
    tw_trade ignored;
    if (tw_json_parse_frame(parser, buffer, size, capacity - 1, &ignored) != TW_FRAME_MALFORMED) {
        fail("tw_json_parse_frame accepted a buffer without full padding");
    }

    // The parse must not write into its input; the same bytes parse the same way.
    if (size > 0 && std::memcmp(buffer, data, size) != 0) fail("tw_json_parse_frame modified its input");
    tw_trade again;
    if (tw_json_parse_frame(parser, buffer, size, capacity, &again) != kind) fail("a second parse disagreed");
    if (kind == TW_FRAME_TRADE &&
        (again.trade_id != trade.trade_id || again.symbol_length != trade.symbol_length ||
         std::memcmp(again.symbol, trade.symbol, trade.symbol_length) != 0)) {
        fail("a second parse returned a different trade");
    }

    check_decimal(data, size);
    std::free(buffer);
    return 0;
}

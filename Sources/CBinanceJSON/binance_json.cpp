// Thin C++ over simdjson On-Demand. On-Demand is compiled into this file for
// the instruction set the compiler may assume (Package.swift asks for SSE4.2
// and PCLMUL, simdjson's "westmere" kernel, present on every x86-64 server
// since 2010); without those flags it would fall back to scalar code.
// It maps every simdjson error to MALFORMED
// instead of throwing, because one bad frame must never stop the feed.
#include "binance_json.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <new>
#include <simdjson.h>
#include <string_view>

using namespace simdjson;

struct tw_json_parser {
    ondemand::parser parser;
};

extern "C" size_t tw_json_padding(void) { return SIMDJSON_PADDING; }

extern "C" tw_json_parser *tw_json_parser_create(void) {
    return new (std::nothrow) tw_json_parser();
}

extern "C" void tw_json_parser_destroy(tw_json_parser *parser) { delete parser; }

extern "C" int tw_parse_decimal(const char *text, size_t length, double *out) {
    // from_chars is locale-free and rounds to nearest, unlike a hand-rolled parse.
    auto result = std::from_chars(text, text + length, *out, std::chars_format::fixed);
    if (result.ec != std::errc() || result.ptr != text + length || length == 0) return -1;
    // "nan", "inf", zero (also "-0") and negatives are not prices or
    // quantities: Binance never trades at or below zero, and one NaN would
    // poison every running indicator sum downstream. `!(x > 0)` also catches
    // NaN and -0.0, which `x < 0` lets through. Nor is anything above
    // TW_DECIMAL_MAX: a thousand such prices would overflow an SMA's running
    // sum to infinity, and no market quotes within a millionfold of it.
    if (!std::isfinite(*out) || !(*out > 0) || *out > TW_DECIMAL_MAX) return -1;
    return 0;
}

namespace {

bool read_decimal(ondemand::object &object, std::string_view key, double *out) {
    std::string_view text;
    if (object.find_field_unordered(key).get_string().get(text) != SUCCESS) return false;
    return tw_parse_decimal(text.data(), text.size(), out) == 0;
}

bool read_int(ondemand::object &object, std::string_view key, int64_t *out) {
    return object.find_field_unordered(key).get_int64().get(*out) == SUCCESS;
}

tw_frame_kind parse_event(ondemand::object event, tw_trade *out) {
    std::string_view type;
    auto type_error = event.find_field_unordered("e").get_string().get(type);
    if (type_error == NO_SUCH_FIELD) return TW_FRAME_OTHER;  // bookTicker carries no "e"
    if (type_error != SUCCESS) return TW_FRAME_MALFORMED;

    bool aggregate = type == "aggTrade";
    if (type == "serverShutdown") {
        return read_int(event, "E", &out->event_time_ms) ? TW_FRAME_SERVER_SHUTDOWN : TW_FRAME_MALFORMED;
    }
    if (type != "trade" && !aggregate) return TW_FRAME_OTHER;

    std::string_view symbol;
    if (!read_int(event, "E", &out->event_time_ms)) return TW_FRAME_MALFORMED;
    if (event.find_field_unordered("s").get_string().get(symbol) != SUCCESS) return TW_FRAME_MALFORMED;
    if (symbol.empty() || symbol.size() > TW_SYMBOL_CAPACITY) return TW_FRAME_MALFORMED;
    if (!read_int(event, aggregate ? "a" : "t", &out->trade_id)) return TW_FRAME_MALFORMED;
    if (!read_decimal(event, "p", &out->price)) return TW_FRAME_MALFORMED;
    if (!read_decimal(event, "q", &out->quantity)) return TW_FRAME_MALFORMED;
    if (!read_int(event, "T", &out->trade_time_ms)) return TW_FRAME_MALFORMED;
    // "m" follows "T" in Binance's order, so this lookup is one step. Candles
    // need it for taker-buy volume; a frame without it (never Binance's)
    // still carries a usable price.
    bool buyer_maker = false;
    auto maker_error = event.find_field_unordered("m").get_bool().get(buyer_maker);
    if (maker_error != SUCCESS && maker_error != NO_SUCH_FIELD) return TW_FRAME_MALFORMED;
    out->is_buyer_maker = buyer_maker ? 1 : 0;

    std::memcpy(out->symbol, symbol.data(), symbol.size());
    out->symbol_length = static_cast<uint8_t>(symbol.size());
    out->is_aggregate = aggregate ? 1 : 0;
    return TW_FRAME_TRADE;
}

// On-Demand reads lazily, so a truncated or garbled frame could still yield
// every field a trade needs. An ordered search for a key no frame has walks
// on from where the lookups stopped to the object's closing brace, reading
// every remaining key and separator: called on the event, then on the root,
// it proves the frame is whole. (Rewinding the root and walking it again, as
// this once did, cost ~450 more instructions per trade and skipped the event
// object by counting brackets, so `"m":true,"M"true}}` passed as a trade.)
bool reaches_end(ondemand::object &object) {
    return object.find_field("\x01").error() == NO_SUCH_FIELD;
}

}  // namespace

extern "C" tw_frame_kind tw_json_parse_frame(tw_json_parser *parser, const uint8_t *bytes, size_t length,
                                             size_t capacity, tw_trade *out) {
    if (parser == nullptr || capacity < length + SIMDJSON_PADDING) return TW_FRAME_MALFORMED;
    ondemand::document document;
    if (parser->parser.iterate(bytes, length, capacity).get(document) != SUCCESS) return TW_FRAME_MALFORMED;
    ondemand::object root;
    if (document.get_object().get(root) != SUCCESS) return TW_FRAME_MALFORMED;

    tw_frame_kind kind;
    ondemand::object data;
    auto data_error = root.find_field_unordered("data").get_object().get(data);
    if (data_error == SUCCESS) {
        kind = parse_event(data, out);
    } else if (data_error == NO_SUCH_FIELD) {
        kind = parse_event(root, out);  // a bare event (raw streams) or a control reply
    } else {
        return TW_FRAME_MALFORMED;
    }
    if (kind == TW_FRAME_MALFORMED) return kind;
    if (data_error == SUCCESS && !reaches_end(data)) return TW_FRAME_MALFORMED;
    if (!reaches_end(root)) return TW_FRAME_MALFORMED;
    // After the root object nothing may follow: `{…}}` or two frames glued
    // together are not one frame. current_location() fails once past the end.
    const char *after = nullptr;
    if (document.current_location().get(after) == SUCCESS) return TW_FRAME_MALFORMED;
    return kind;
}

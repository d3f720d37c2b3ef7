// Replies of Binance's WebSocket API to `klines`, read with simdjson
// On-Demand. A file of its own so the trade-history parser stays as it was;
// both share the envelope readers in api_reply_fields.hpp. Every simdjson
// error maps to MALFORMED; nothing throws, nothing allocates per call.
//
// Shape (developers.binance.com, websocket-api/market-data-requests#klines):
// "result": [[openTime, "open", "high", "low", "close", "volume", closeTime,
//             "quoteVolume", trades, "takerBuyBase", "takerBuyQuote", "0"], ...]
#include "binance_json.h"

#include <charconv>
#include <cmath>
#include <simdjson.h>
#include <string_view>

#include "api_reply_fields.hpp"

using namespace simdjson;

namespace {

// Volumes of an interval without trades are "0.00000000", which
// tw_parse_decimal (built for prices) refuses; a volume only has to be a
// finite, non-negative decimal. Its sign bit is checked so "-0" is refused too.
bool read_volume(ondemand::value value, double *out) {
    std::string_view text;
    if (value.get_string().get(text) != SUCCESS || text.empty()) return false;
    auto result = std::from_chars(text.data(), text.data() + text.size(), *out, std::chars_format::fixed);
    if (result.ec != std::errc() || result.ptr != text.data() + text.size()) return false;
    return std::isfinite(*out) && !std::signbit(*out);
}

bool read_price(ondemand::value value, double *out) {
    std::string_view text;
    if (value.get_string().get(text) != SUCCESS) return false;
    return tw_parse_decimal(text.data(), text.size(), out) == 0;
}

bool read_kline(ondemand::array row, tw_kline *out) {
    size_t index = 0;
    for (auto element : row) {
        ondemand::value value;
        if (element.get(value) != SUCCESS) return false;
        bool ok = true;
        switch (index) {
        case 0: ok = value.get_int64().get(out->open_time_ms) == SUCCESS; break;
        case 1: ok = read_price(value, &out->open); break;
        case 2: ok = read_price(value, &out->high); break;
        case 3: ok = read_price(value, &out->low); break;
        case 4: ok = read_price(value, &out->close); break;
        case 5: ok = read_volume(value, &out->base_volume); break;
        case 6: ok = value.get_int64().get(out->close_time_ms) == SUCCESS; break;
        case 7: ok = read_volume(value, &out->quote_volume); break;
        case 8: ok = value.get_int64().get(out->trade_count) == SUCCESS && out->trade_count >= 0; break;
        case 9: ok = read_volume(value, &out->taker_buy_base_volume); break;
        case 10: ok = read_volume(value, &out->taker_buy_quote_volume); break;
        default: break;  // [11] is "unused, ignore"; later additions are skipped too
        }
        if (!ok) return false;
        index += 1;
    }
    // Fewer than 11 elements is not a kline. High and low must bound the rest.
    if (index < 11 || out->close_time_ms < out->open_time_ms) return false;
    return out->low <= out->high && out->low <= std::fmin(out->open, out->close) &&
           out->high >= std::fmax(out->open, out->close);
}

bool read_klines(ondemand::object &root, tw_kline *klines, size_t capacity, size_t *count) {
    ondemand::array result;
    if (root.find_field_unordered("result").get_array().get(result) != SUCCESS) return false;
    for (auto element : result) {
        ondemand::array row;
        if (element.get_array().get(row) != SUCCESS) return false;
        if (*count == capacity) return false;
        if (!read_kline(row, &klines[*count])) return false;
        *count += 1;
    }
    return true;
}

}  // namespace

extern "C" tw_kline_reply_kind tw_json_parse_kline_reply(tw_api_parser *parser, const uint8_t *bytes, size_t length,
                                                         size_t capacity, tw_api_reply *out, tw_kline *klines,
                                                         size_t kline_capacity, size_t *kline_count) {
    tw_api::reset(out);
    *kline_count = 0;
    if (parser == nullptr || capacity < length + SIMDJSON_PADDING) return TW_KLINE_REPLY_MALFORMED;
    ondemand::document document;
    if (parser->parser.iterate(bytes, length, capacity).get(document) != SUCCESS) return TW_KLINE_REPLY_MALFORMED;
    ondemand::object root;
    if (document.get_object().get(root) != SUCCESS) return TW_KLINE_REPLY_MALFORMED;
    // The id first: a reply we cannot read is still matched to its request.
    if (root.find_field_unordered("id").get_int64().get(out->request_id) != SUCCESS) return TW_KLINE_REPLY_MALFORMED;
    int64_t status = 0;
    if (root.find_field_unordered("status").get_int64().get(status) != SUCCESS) return TW_KLINE_REPLY_MALFORMED;
    out->status = static_cast<int32_t>(status);
    if (!tw_api::read_rate_limits(root, out)) return TW_KLINE_REPLY_MALFORMED;
    if (status == 200) {
        if (read_klines(root, klines, kline_capacity, kline_count)) return TW_KLINE_REPLY_KLINES;
        *kline_count = 0;
        return TW_KLINE_REPLY_MALFORMED;
    }
    return tw_api::read_error(root, out) ? TW_KLINE_REPLY_ERROR : TW_KLINE_REPLY_MALFORMED;
}

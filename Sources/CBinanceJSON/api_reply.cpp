// Replies of Binance's WebSocket API (ws-api/v3) to trades.historical, read
// with simdjson On-Demand like the market frames. Its own file and parser:
// the backfill connection is cold next to the stream, and keeping it apart
// leaves the per-trade parser untouched. Every simdjson error maps to
// MALFORMED; nothing throws, nothing allocates per call.
#include "binance_json.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <simdjson.h>
#include <string_view>

#include "api_reply_fields.hpp"

using namespace simdjson;

extern "C" tw_api_parser *tw_api_parser_create(void) { return new (std::nothrow) tw_api_parser(); }

extern "C" void tw_api_parser_destroy(tw_api_parser *parser) { delete parser; }

namespace {

int64_t interval_ms(std::string_view interval) {
    if (interval == "SECOND") return 1000;
    if (interval == "MINUTE") return 60000;
    if (interval == "HOUR") return 3600000;
    if (interval == "DAY") return 86400000;
    return -1;
}

}  // namespace

// rateLimits is optional (Binance omits it when asked to); only REQUEST_WEIGHT
// matters to trades.historical, which costs weight and no order count.
bool tw_api::read_rate_limits(ondemand::object &root, tw_api_reply *out) {
    ondemand::array limits;
    auto error = root.find_field_unordered("rateLimits").get_array().get(limits);
    if (error == NO_SUCH_FIELD) return true;
    if (error != SUCCESS) return false;
    for (auto element : limits) {
        ondemand::object limit;
        if (element.get_object().get(limit) != SUCCESS) return false;
        std::string_view type, interval;
        int64_t number = 0, cap = 0, count = 0;
        if (limit.find_field_unordered("rateLimitType").get_string().get(type) != SUCCESS) return false;
        if (limit.find_field_unordered("interval").get_string().get(interval) != SUCCESS) return false;
        if (limit.find_field_unordered("intervalNum").get_int64().get(number) != SUCCESS) return false;
        if (limit.find_field_unordered("limit").get_int64().get(cap) != SUCCESS) return false;
        if (limit.find_field_unordered("count").get_int64().get(count) != SUCCESS) return false;
        if (type != "REQUEST_WEIGHT") continue;
        out->weight_used = count;
        out->weight_limit = cap;
        out->weight_interval_ms = interval_ms(interval) * number;
    }
    return true;
}

namespace {

// trades.historical names its fields id/price/qty/time; trades.aggregate (for
// --stream aggTrade) uses the stream's letters a/p/q/T. Either shape is read.
bool read_trade(ondemand::object trade, tw_history_trade *out) {
    std::string_view price, quantity;
    bool aggregate = trade.find_field_unordered("a").get_int64().get(out->trade_id) == SUCCESS;
    if (!aggregate && trade.find_field_unordered("id").get_int64().get(out->trade_id) != SUCCESS) return false;
    if (trade.find_field_unordered(aggregate ? "p" : "price").get_string().get(price) != SUCCESS) return false;
    if (trade.find_field_unordered(aggregate ? "q" : "qty").get_string().get(quantity) != SUCCESS) return false;
    if (trade.find_field_unordered(aggregate ? "T" : "time").get_int64().get(out->time_ms) != SUCCESS) return false;
    bool buyer_maker = false;
    auto maker_error = trade.find_field_unordered(aggregate ? "m" : "isBuyerMaker").get_bool().get(buyer_maker);
    if (maker_error != SUCCESS && maker_error != NO_SUCH_FIELD) return false;
    out->is_buyer_maker = buyer_maker ? 1 : 0;
    if (tw_parse_decimal(price.data(), price.size(), &out->price) != 0) return false;
    return tw_parse_decimal(quantity.data(), quantity.size(), &out->quantity) == 0;
}

bool read_result(ondemand::object &root, tw_api_reply *out, tw_history_trade *trades, size_t trade_capacity) {
    ondemand::array result;
    if (root.find_field_unordered("result").get_array().get(result) != SUCCESS) return false;
    for (auto element : result) {
        ondemand::object trade;
        if (element.get_object().get(trade) != SUCCESS) return false;
        if (out->trade_count == trade_capacity) return false;
        if (!read_trade(trade, &trades[out->trade_count])) return false;
        out->trade_count += 1;
    }
    return true;
}

}  // namespace

// error.data.retryAfter is present on 429 and 418 only; a missing one is fine.
bool tw_api::read_error(ondemand::object &root, tw_api_reply *out) {
    ondemand::object error;
    if (root.find_field_unordered("error").get_object().get(error) != SUCCESS) return false;
    int64_t code = 0;
    if (error.find_field_unordered("code").get_int64().get(code) != SUCCESS) return false;
    out->error_code = static_cast<int32_t>(code);
    std::string_view message;
    if (error.find_field_unordered("msg").get_string().get(message) == SUCCESS) {
        size_t count = std::min(message.size(), static_cast<size_t>(TW_ERROR_MESSAGE_CAPACITY));
        std::memcpy(out->message, message.data(), count);
        out->message_length = static_cast<uint8_t>(count);
    }
    ondemand::object data;
    if (error.find_field_unordered("data").get_object().get(data) == SUCCESS) {
        int64_t retry_after = 0;
        if (data.find_field_unordered("retryAfter").get_int64().get(retry_after) == SUCCESS) {
            out->retry_after_ms = retry_after;
        }
    }
    return true;
}

void tw_api::reset(tw_api_reply *out) {
    out->request_id = -1;
    out->status = -1;
    out->error_code = -1;
    out->retry_after_ms = -1;
    out->weight_used = -1;
    out->weight_limit = -1;
    out->weight_interval_ms = -1;
    out->trade_count = 0;
    out->message_length = 0;
}

extern "C" tw_reply_kind tw_json_parse_api_reply(tw_api_parser *parser, const uint8_t *bytes, size_t length,
                                                 size_t capacity, tw_api_reply *out,
                                                 tw_history_trade *trades, size_t trade_capacity) {
    tw_api::reset(out);
    if (parser == nullptr || capacity < length + SIMDJSON_PADDING) return TW_REPLY_MALFORMED;
    ondemand::document document;
    if (parser->parser.iterate(bytes, length, capacity).get(document) != SUCCESS) return TW_REPLY_MALFORMED;
    ondemand::object root;
    if (document.get_object().get(root) != SUCCESS) return TW_REPLY_MALFORMED;
    int64_t status = 0;
    if (root.find_field_unordered("id").get_int64().get(out->request_id) != SUCCESS) return TW_REPLY_MALFORMED;
    if (root.find_field_unordered("status").get_int64().get(status) != SUCCESS) return TW_REPLY_MALFORMED;
    out->status = static_cast<int32_t>(status);
    if (!tw_api::read_rate_limits(root, out)) return TW_REPLY_MALFORMED;
    if (status == 200) {
        return read_result(root, out, trades, trade_capacity) ? TW_REPLY_TRADES : TW_REPLY_MALFORMED;
    }
    return tw_api::read_error(root, out) ? TW_REPLY_ERROR : TW_REPLY_MALFORMED;
}

// The parts of a WebSocket API reply every method shares (id, status,
// rateLimits, error), for api_reply.cpp and kline_reply.cpp. Internal: not in
// include/, so Swift never sees simdjson types.
#ifndef TICKWIRE_API_REPLY_FIELDS_HPP
#define TICKWIRE_API_REPLY_FIELDS_HPP

#include "binance_json.h"

#include <simdjson.h>

struct tw_api_parser {
    simdjson::ondemand::parser parser;
};

namespace tw_api {

// Every number of `out` to -1 (absent), counts and the message to empty.
void reset(tw_api_reply *out);
// REQUEST_WEIGHT from "rateLimits"; a missing array is fine.
bool read_rate_limits(simdjson::ondemand::object &root, tw_api_reply *out);
// "error": code, msg, and data.retryAfter when present (429, 418).
bool read_error(simdjson::ondemand::object &root, tw_api_reply *out);

}  // namespace tw_api

#endif

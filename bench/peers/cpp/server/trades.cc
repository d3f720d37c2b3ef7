#include "trades.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>

namespace {

// One line's trade, or false for a line that is not a well-formed trade.
bool ParseTrade(simdjson::ondemand::parser& parser, const std::string& line, Trade* out) {
  simdjson::padded_string json(line);
  simdjson::ondemand::document doc;
  simdjson::ondemand::object data;
  std::string_view event, symbol, price, quantity;
  // Accessed in the order Binance writes the fields, so each lookup is one step.
  if (parser.iterate(json).get(doc) || doc["data"].get_object().get(data)) return false;
  if (data["e"].get_string().get(event) || event != "trade") return false;
  if (data["E"].get_int64().get(out->event_time_ms) || data["s"].get_string().get(symbol) ||
      data["t"].get_int64().get(out->trade_id) || data["p"].get_string().get(price) ||
      data["q"].get_string().get(quantity) || data["T"].get_int64().get(out->trade_time_ms)) {
    return false;
  }
  out->symbol.assign(symbol);
  // Binance sends prices as decimal strings; strtod needs them NUL-terminated.
  std::string p(price), q(quantity);
  char* end = nullptr;
  out->price = strtod(p.c_str(), &end);
  if (p.empty() || *end != '\0') return false;
  out->quantity = strtod(q.c_str(), &end);
  return !q.empty() && *end == '\0';
}

}  // namespace

std::vector<Trade> LoadTrades(const std::string& path, std::string* error) {
  std::vector<Trade> trades;
  std::ifstream file(path);
  if (!file) {
    *error = "open " + path + ": cannot read";
    return trades;
  }
  simdjson::ondemand::parser parser;
  std::string line;
  Trade trade;
  while (std::getline(file, line)) {
    if (!line.empty() && ParseTrade(parser, line, &trade)) trades.push_back(trade);
  }
  if (trades.empty()) *error = path + " holds no trade";
  return trades;
}

std::vector<std::string> SymbolsOf(const std::vector<Trade>& trades) {
  std::set<std::string> seen;
  for (const Trade& t : trades) seen.insert(t.symbol);
  return {seen.begin(), seen.end()};
}

PassShift::PassShift(const std::vector<Trade>& trades) {
  std::map<std::string, int64_t> lowest, highest;
  int64_t earliest = trades.front().event_time_ms, latest = earliest;
  for (const Trade& t : trades) {
    auto low = lowest.try_emplace(t.symbol, t.trade_id).first;
    low->second = std::min(low->second, t.trade_id);
    auto high = highest.try_emplace(t.symbol, t.trade_id).first;
    high->second = std::max(high->second, t.trade_id);
    earliest = std::min({earliest, t.event_time_ms, t.trade_time_ms});
    latest = std::max({latest, t.event_time_ms, t.trade_time_ms});
  }
  for (const auto& [symbol, low] : lowest) id_span_[symbol] = highest[symbol] - low + 1;
  time_step_ms_ = latest - earliest + 50;
}

Trade PassShift::Place(Trade trade, int64_t pass) const {
  trade.trade_id += pass * id_span_.at(trade.symbol);
  trade.event_time_ms += pass * time_step_ms_;
  trade.trade_time_ms += pass * time_step_ms_;
  return trade;
}

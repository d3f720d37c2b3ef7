// The replay file, read once at startup (as the grpc-go peer does), and the
// per-pass shift of -replay-loop.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

// One Binance trade from the replay file, before it is stamped.
struct Trade {
  std::string symbol;
  double price = 0;
  double quantity = 0;
  int64_t trade_id = 0;
  int64_t trade_time_ms = 0;
  int64_t event_time_ms = 0;
};

// Every trade line of a file of Binance combined-stream JSON lines; lines that
// are not trades are skipped, as Tickwire's replay skips them. Empty with
// *error set when the file cannot be read or holds no trade.
std::vector<Trade> LoadTrades(const std::string& path, std::string* error);

// The symbols the trades are of, sorted.
std::vector<std::string> SymbolsOf(const std::vector<Trade>& trades);

// Continues a looped recording the way Tickwire's --replay-loop does: pass n
// adds n x (max id - min id + 1) to each symbol's ids, and n x (time span +
// 50 ms) to the times, so ids stay contiguous per symbol.
class PassShift {
 public:
  explicit PassShift(const std::vector<Trade>& trades);
  Trade Place(Trade trade, int64_t pass) const;

 private:
  std::map<std::string, int64_t> id_span_;
  int64_t time_step_ms_ = 0;
};

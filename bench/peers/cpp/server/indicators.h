// SMA only, as the grpc-go peer: each symbol's last 1000 prices, and one
// stream's SMA subscriptions with the batch of those that changed.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tickwire/v1/price_stream.pb.h"

// How many recent prices per symbol the SMAs are computed from, and so the
// largest period accepted (Tickwire's --max-period default).
constexpr int kHistoryLength = 1000;

// A ring of each symbol's last prices; written by the replay thread, read by
// the ticker thread.
class PriceHistory {
 public:
  explicit PriceHistory(const std::vector<std::string>& symbols);
  void Add(const std::string& symbol, int64_t trade_id, double price);
  // The mean of the last `period` prices and the last trade id, or nothing
  // while fewer than `period` prices have been seen.
  std::optional<std::pair<double, int64_t>> Sma(const std::string& symbol, int period) const;
  // The symbol in upper case, if it is served.
  std::optional<std::string> Served(const std::string& symbol) const;

 private:
  struct Ring {
    std::vector<double> prices = std::vector<double>(kHistoryLength);
    int next = 0;
    int count = 0;
    int64_t last_id = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, Ring> rings_;
};

// One stream's SMAs and the trade each was last sent at; guarded by that
// stream's lock.
class Subscriptions {
 public:
  // Answers one request and changes the subscriptions.
  tickwire::v1::SubscriptionStatus Apply(const tickwire::v1::IndicatorRequest& request,
                                         const PriceHistory& history);
  // The SMAs that changed since the previous batch; false when none did.
  bool Batch(const PriceHistory& history, tickwire::v1::StreamResponse* out);
  bool empty() const { return sent_at_.empty(); }

 private:
  // (symbol, period) -> the last trade id sent, -1 before the first.
  std::map<std::pair<std::string, int>, int64_t> sent_at_;
};

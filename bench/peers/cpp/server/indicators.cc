#include "indicators.h"

#include <algorithm>
#include <cctype>

namespace pb = tickwire::v1;

namespace {

// Status codes of SubscriptionStatus (gRPC code numbers, as the contract says).
constexpr int kCodeOk = 0;
constexpr int kCodeInvalidArgument = 3;
constexpr int kCodeNotFound = 5;

}  // namespace

PriceHistory::PriceHistory(const std::vector<std::string>& symbols) {
  for (const std::string& s : symbols) rings_[s];
}

void PriceHistory::Add(const std::string& symbol, int64_t trade_id, double price) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rings_.find(symbol);
  if (it == rings_.end()) return;
  Ring& r = it->second;
  r.prices[r.next] = price;
  r.next = (r.next + 1) % kHistoryLength;
  r.count = std::min(r.count + 1, kHistoryLength);
  r.last_id = trade_id;
}

std::optional<std::pair<double, int64_t>> PriceHistory::Sma(const std::string& symbol, int period) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rings_.find(symbol);
  if (it == rings_.end() || it->second.count < period) return std::nullopt;
  const Ring& r = it->second;
  double sum = 0;
  for (int k = 1; k <= period; k++) sum += r.prices[(r.next - k + kHistoryLength) % kHistoryLength];
  return std::make_pair(sum / period, r.last_id);
}

std::optional<std::string> PriceHistory::Served(const std::string& symbol) const {
  std::string upper = symbol;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  // The ring map's keys never change after construction, so no lock is needed to look one up.
  if (rings_.count(upper) == 0) return std::nullopt;
  return upper;
}

pb::SubscriptionStatus Subscriptions::Apply(const pb::IndicatorRequest& request, const PriceHistory& history) {
  std::optional<std::string> served = history.Served(request.symbol());
  pb::SubscriptionStatus status;
  status.set_request_id(request.request_id());
  status.set_symbol(served.value_or(request.symbol()));
  status.set_type(request.type());
  status.set_period(request.period());
  status.set_code(kCodeOk);
  status.set_message("OK");
  const int period = static_cast<int>(std::min<uint32_t>(request.period(), kHistoryLength + 1));
  if (request.type() != pb::INDICATOR_TYPE_SMA) {
    // The bench asks the peers for SMA only; EMA and RSI are refused, not faked.
    status.set_code(kCodeInvalidArgument);
    status.set_message("this grpc-cpp peer computes SMA only");
  } else if (request.period() < 2 || request.period() > kHistoryLength) {
    status.set_code(kCodeInvalidArgument);
    status.set_message("period must be 2 to 1000");
  } else if (!served) {
    status.set_code(kCodeNotFound);
    status.set_message("symbol not served");
  } else if (request.action() == pb::IndicatorRequest::ACTION_UNSUBSCRIBE) {
    sent_at_.erase({*served, period});
  } else if (request.action() == pb::IndicatorRequest::ACTION_SUBSCRIBE) {
    sent_at_.try_emplace({*served, period}, -1);
  } else {
    status.set_code(kCodeInvalidArgument);
    status.set_message("unknown action");
  }
  return status;
}

bool Subscriptions::Batch(const PriceHistory& history, pb::StreamResponse* out) {
  out->Clear();
  pb::IndicatorBatch* batch = nullptr;
  for (auto& [key, sent_at] : sent_at_) {
    auto sma = history.Sma(key.first, key.second);
    if (!sma || sma->second == sent_at) continue;
    sent_at = sma->second;
    if (batch == nullptr) batch = out->mutable_indicators();
    pb::IndicatorUpdate* update = batch->add_updates();
    update->set_symbol(key.first);
    update->set_type(pb::INDICATOR_TYPE_SMA);
    update->set_period(static_cast<uint32_t>(key.second));
    update->set_value(sma->first);
    update->set_trade_id(sma->second);
  }
  return batch != nullptr;
}

#include "hub.h"

#include <algorithm>
#include <chrono>

#include "price_stream_call.h"

namespace {

// How long one stalled stream can hold the feed under the block policy.
constexpr std::chrono::seconds kBlockTimeout{1};

}  // namespace

Hub::Hub(DeliveryPolicy policy, int wait_streams, const std::vector<std::string>& symbols)
    : policy_(policy), wait_streams_(wait_streams), history_(symbols) {}

void Hub::Subscribe(PriceStreamCall* call) {
  {
    std::unique_lock<std::shared_mutex> lock(calls_mu_);
    calls_.push_back(call);
  }
  std::lock_guard<std::mutex> lock(gate_mu_);
  if (++opened_ >= wait_streams_) gate_.notify_all();
}

void Hub::Unsubscribe(PriceStreamCall* call) {
  std::unique_lock<std::shared_mutex> lock(calls_mu_);
  auto it = std::find(calls_.begin(), calls_.end(), call);
  if (it == calls_.end()) return;  // refused before it subscribed
  *it = calls_.back();
  calls_.pop_back();
}

bool Hub::WaitForStreams() {
  std::unique_lock<std::mutex> lock(gate_mu_);
  gate_.wait(lock, [this] { return opened_ >= wait_streams_ || stopping_; });
  return !stopping_;
}

void Hub::Stop() {
  std::lock_guard<std::mutex> lock(gate_mu_);
  stopping_ = true;
  gate_.notify_all();
}

void Hub::Publish(const std::string& symbol, int64_t trade_id, double price, const grpc::ByteBuffer& message) {
  history_.Add(symbol, trade_id, price);
  std::shared_lock<std::shared_mutex> lock(calls_mu_);
  const std::chrono::nanoseconds wait = policy_ == DeliveryPolicy::kBlock ? kBlockTimeout : std::chrono::seconds(0);
  for (PriceStreamCall* call : calls_) call->OfferPrice(message, wait);
}

void Hub::Tick() {
  std::shared_lock<std::shared_mutex> lock(calls_mu_);
  auto now = std::chrono::steady_clock::now();
  for (PriceStreamCall* call : calls_) call->Tick(now, history_);
}

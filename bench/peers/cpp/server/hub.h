// The set of open StreamPrices calls: the replay thread fans each trade's
// encoded bytes out to them, the ticker thread walks them for SMA batches and
// duration bounds, and the replay waits at the gate until enough are open.
#pragma once

#include <condition_variable>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include <grpcpp/support/byte_buffer.h>

#include "flags.h"
#include "indicators.h"

class PriceStreamCall;

class Hub {
 public:
  Hub(DeliveryPolicy policy, int wait_streams, const std::vector<std::string>& symbols);

  void Subscribe(PriceStreamCall* call);
  // After this returns, neither the replay nor the ticker thread touches `call`.
  void Unsubscribe(PriceStreamCall* call);

  // Blocks until `wait_streams` calls have opened, or Stop; true when opened.
  bool WaitForStreams();
  void Stop();

  // Hands one encoded price (shared by every stream: each gets a reference to
  // the same slices, never a copy of the bytes) to every call, under the policy.
  void Publish(const std::string& symbol, int64_t trade_id, double price, const grpc::ByteBuffer& message);

  // The ticker's walk: one SMA batch per call that has subscriptions, and the
  // calls whose duration bound has passed end.
  void Tick();

  const PriceHistory& history() const { return history_; }

 private:
  const DeliveryPolicy policy_;
  // Shared by Publish and Tick, exclusive for Subscribe and Unsubscribe.
  std::shared_mutex calls_mu_;
  std::vector<PriceStreamCall*> calls_;

  std::mutex gate_mu_;
  std::condition_variable gate_;
  int opened_ = 0;
  const int wait_streams_;
  bool stopping_ = false;

  PriceHistory history_;
};

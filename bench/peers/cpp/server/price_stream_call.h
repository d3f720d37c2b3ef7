// One StreamPrices call, on gRPC C++'s callback API over raw bytes: prices
// arrive already encoded (once per trade, shared by every call), so the
// reactor's messages are grpc::ByteBuffers, and the requests are parsed here.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>

#include <grpcpp/grpcpp.h>

#include "indicators.h"
#include "stream_bounds.h"

class Hub;

class PriceStreamCall final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  PriceStreamCall(grpc::CallbackServerContext* context, Hub* hub, int buffer_bound);

  // From the replay thread: queue one shared encoded price. With a full queue
  // it waits up to `wait` for room (zero: not at all), then drops the price.
  void OfferPrice(const grpc::ByteBuffer& price, std::chrono::nanoseconds wait);

  // From the ticker thread: send the SMAs that changed, and end the call OK
  // once its tickwire-stream-duration has passed.
  void Tick(std::chrono::steady_clock::time_point now, const PriceHistory& history);

 private:
  // One queued message; only prices count toward tickwire-stream-messages.
  struct Outgoing {
    grpc::ByteBuffer bytes;
    bool is_price = false;
  };

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // Under mu_: no more writes; Finish(status) once the write in flight is done.
  void EndLocked(grpc::Status status);
  // Takes the lock held on mu_ and releases it: starts the next write if none
  // is in flight, or finishes an ending call once idle. One write at a time is
  // the callback API's rule.
  void Pump(std::unique_lock<std::mutex>& lock);

  Hub* const hub_;
  const size_t buffer_bound_;
  StreamBounds bounds_;
  std::chrono::steady_clock::time_point end_at_;
  // The request being read; the reactor owns it between StartRead and OnReadDone.
  grpc::ByteBuffer request_;

  std::mutex mu_;
  // Signalled when a price leaves the queue or the call ends (the block policy's wait).
  std::condition_variable room_;
  std::deque<Outgoing> queue_;
  size_t queued_prices_ = 0;
  // The message StartWrite was given; it must live until OnWriteDone.
  Outgoing in_flight_;
  bool writing_ = false;
  bool ending_ = false;
  bool finished_ = false;
  grpc::Status end_status_;
  int64_t prices_sent_ = 0;
  int64_t dropped_ = 0;
  Subscriptions subscriptions_;
  tickwire::v1::StreamResponse scratch_;
};

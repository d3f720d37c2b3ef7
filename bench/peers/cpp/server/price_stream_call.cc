#include "price_stream_call.h"

#include <grpcpp/impl/codegen/proto_utils.h>

#include "hub.h"

namespace pb = tickwire::v1;

namespace {

grpc::ByteBuffer Encode(const pb::StreamResponse& message) {
  grpc::ByteBuffer bytes;
  bool own = false;
  grpc::SerializationTraits<pb::StreamResponse>::Serialize(message, &bytes, &own);
  return bytes;
}

}  // namespace

PriceStreamCall::PriceStreamCall(grpc::CallbackServerContext* context, Hub* hub, int buffer_bound)
    : hub_(hub), buffer_bound_(static_cast<size_t>(buffer_bound)) {
  grpc::Status refused = BoundsOf(*context, &bounds_);
  if (!refused.ok()) {
    ending_ = finished_ = true;  // so a later OnCancel does not finish it twice
    Finish(refused);             // OnDone follows; the hub never saw this call
    return;
  }
  if (bounds_.duration.count() > 0) end_at_ = std::chrono::steady_clock::now() + bounds_.duration;
  hub_->Subscribe(this);
  StartRead(&request_);
}

void PriceStreamCall::OfferPrice(const grpc::ByteBuffer& price, std::chrono::nanoseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  if (queued_prices_ >= buffer_bound_ && !ending_ && wait.count() > 0) {
    room_.wait_for(lock, wait, [this] { return queued_prices_ < buffer_bound_ || ending_; });
  }
  if (ending_) return;
  if (queued_prices_ >= buffer_bound_) {
    dropped_++;
    return;
  }
  queue_.push_back({price, true});  // a reference to the shared slices, not a copy of the bytes
  queued_prices_++;
  Pump(lock);
}

void PriceStreamCall::Tick(std::chrono::steady_clock::time_point now, const PriceHistory& history) {
  std::unique_lock<std::mutex> lock(mu_);
  if (ending_) return;
  if (bounds_.duration.count() > 0 && now >= end_at_) {
    EndLocked(grpc::Status::OK);  // the client's own duration bound: end with OK
  } else if (!subscriptions_.empty() && subscriptions_.Batch(history, &scratch_)) {
    queue_.push_back({Encode(scratch_), false});
  }
  Pump(lock);
}

void PriceStreamCall::OnReadDone(bool ok) {
  if (!ok) return;  // half-close does not end the call; a cancel arrives as OnCancel
  pb::IndicatorRequest request;
  grpc::Status parsed = grpc::SerializationTraits<pb::IndicatorRequest>::Deserialize(&request_, &request);
  std::unique_lock<std::mutex> lock(mu_);
  if (!parsed.ok()) {
    EndLocked(grpc::Status(grpc::StatusCode::INTERNAL, "cannot parse IndicatorRequest"));
    Pump(lock);
    return;
  }
  const bool keep_reading = !ending_;  // an ending call reads nothing more
  if (keep_reading) {
    scratch_.Clear();
    *scratch_.mutable_status() = subscriptions_.Apply(request, hub_->history());
    queue_.push_back({Encode(scratch_), false});
  }
  Pump(lock);
  if (keep_reading) StartRead(&request_);
}

void PriceStreamCall::OnWriteDone(bool ok) {
  std::unique_lock<std::mutex> lock(mu_);
  writing_ = false;
  if (!ok) {
    EndLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the stream is gone"));
  } else if (in_flight_.is_price && bounds_.messages > 0 && ++prices_sent_ >= bounds_.messages) {
    EndLocked(grpc::Status::OK);
  }
  in_flight_.bytes.Clear();
  Pump(lock);
}

void PriceStreamCall::OnCancel() {
  std::unique_lock<std::mutex> lock(mu_);
  EndLocked(grpc::Status::CANCELLED);
  Pump(lock);
}

void PriceStreamCall::OnDone() {
  // Wake a publisher waiting for room first: it holds the hub's shared lock,
  // which Unsubscribe needs exclusively.
  {
    std::lock_guard<std::mutex> lock(mu_);
    ending_ = true;
    room_.notify_all();
  }
  hub_->Unsubscribe(this);
  delete this;
}

void PriceStreamCall::EndLocked(grpc::Status status) {
  if (ending_) return;
  ending_ = true;
  end_status_ = std::move(status);
  queue_.clear();
  queued_prices_ = 0;
  room_.notify_all();
}

void PriceStreamCall::Pump(std::unique_lock<std::mutex>& lock) {
  if (writing_ || finished_) return lock.unlock();
  if (ending_) {
    finished_ = true;
    grpc::Status status = end_status_;
    lock.unlock();
    Finish(status);
    return;
  }
  if (queue_.empty()) return lock.unlock();
  in_flight_ = std::move(queue_.front());
  queue_.pop_front();
  if (in_flight_.is_price) {
    queued_prices_--;
    room_.notify_one();
  }
  // gRPC C++'s performance notes: each write is a syscall unless it carries
  // buffer_hint, which holds it in the transport until a write without the
  // hint (or the per-stream write buffer filling). So while more messages wait
  // behind this one they share a write; the last one flushes them all.
  grpc::WriteOptions options;
  if (!queue_.empty()) options.set_buffer_hint();
  writing_ = true;
  lock.unlock();
  // Safe outside the lock: in_flight_ is not touched again until OnWriteDone.
  StartWrite(&in_flight_.bytes, options);
}

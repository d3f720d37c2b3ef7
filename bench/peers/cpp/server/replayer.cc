#include "replayer.h"

#include <cerrno>
#include <ctime>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/proto_utils.h>

namespace pb = tickwire::v1;

namespace {

// How many overdue trades go out in one go after the thread was descheduled,
// so a stall does not turn into one huge burst.
constexpr double kMaxBehind = 1000;

int64_t Now(clockid_t clock) {
  timespec t;
  clock_gettime(clock, &t);
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

void SleepUntil(int64_t monotonic_ns) {
  timespec until{static_cast<time_t>(monotonic_ns / 1000000000), static_cast<long>(monotonic_ns % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) == EINTR) {
  }
}

}  // namespace

Replayer::Replayer(const std::vector<Trade>& trades, double rate, bool loop)
    : trades_(trades), shift_(trades), rate_(rate), loop_(loop) {}

int64_t Replayer::Run(Hub& hub, const std::atomic<bool>& stop) {
  int64_t origin = Now(CLOCK_MONOTONIC);
  int64_t published = 0;
  // One message object reused for every trade: only its fields change.
  pb::StreamResponse message;
  pb::PriceUpdate* price = message.mutable_price();
  for (int64_t pass = 0; pass == 0 || loop_; pass++) {
    for (const Trade& recorded : trades_) {
      if (stop.load(std::memory_order_relaxed)) return published;
      if (rate_ > 0) {
        // Due time from the count, not from the previous trade, so rounding never accumulates.
        int64_t due = origin + static_cast<int64_t>(static_cast<double>(published) * 1e9 / rate_);
        int64_t wait = due - Now(CLOCK_MONOTONIC);
        if (wait > 0) {
          SleepUntil(due);
        } else if (-static_cast<double>(wait) * rate_ / 1e9 > kMaxBehind) {
          origin -= wait;  // give up on the lost time rather than bursting it
        }
      }
      Trade t = shift_.Place(recorded, pass);
      price->set_symbol(t.symbol);
      price->set_price(t.price);
      price->set_quantity(t.quantity);
      price->set_trade_id(t.trade_id);
      price->set_trade_time_ms(t.trade_time_ms);
      price->set_event_time_ms(t.event_time_ms);
      price->set_ingest_unix_nanos(Now(CLOCK_REALTIME));
      // The one encode of this trade: every stream gets a reference to these bytes.
      grpc::ByteBuffer bytes;
      bool own = false;
      grpc::SerializationTraits<pb::StreamResponse>::Serialize(message, &bytes, &own);
      hub.Publish(t.symbol, t.trade_id, t.price, bytes);
      published++;
    }
  }
  return published;
}

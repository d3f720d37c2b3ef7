// Plays the recording into the hub at a fixed rate (trades/s; 0 is as fast as
// the hub accepts), once or looped, as Tickwire's --replay --replay-rate N
// --replay-loop does. Each trade is encoded once, into one ByteBuffer that
// every stream then references.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "hub.h"
#include "trades.h"

class Replayer {
 public:
  Replayer(const std::vector<Trade>& trades, double rate, bool loop);
  // Returns when the recording ends (unlooped) or `stop` is set; the count published.
  int64_t Run(Hub& hub, const std::atomic<bool>& stop);

 private:
  const std::vector<Trade>& trades_;
  const PassShift shift_;
  const double rate_;
  const bool loop_;
};

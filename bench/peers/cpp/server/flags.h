// The grpc-go peer's command line (bench/peers/go/server/main.go), in Go's
// flag syntax, so bench/compare/servers.py starts every peer with one argv.
#pragma once

#include <string>

// What the hub does when a stream's buffer is full (the grpc-go peer's -policy).
enum class DeliveryPolicy {
  // Wait for room up to 1 s, then drop that trade for that stream.
  kBlock,
  // Drop the trade for that stream at once.
  kDrop,
};

struct Flags {
  std::string listen = "127.0.0.1:50051";
  std::string replay;
  // Trades per second; 0 is as fast as the streams accept.
  double replay_rate = 1000;
  bool replay_loop = false;
  // Hold the replay until this many streams are open.
  int replay_wait_streams = 0;
  // Price messages queued per stream.
  int stream_buffer = 4096;
  DeliveryPolicy policy = DeliveryPolicy::kBlock;
};

// Parses `-name value`, `-name=value` (and `--name`); a boolean takes no value
// or `=true`/`=false`. A bad command line prints usage and exits 2, as Go's
// flag package does.
Flags ParseFlags(int argc, char** argv);

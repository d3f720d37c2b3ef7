// The optional ends a client asks for in metadata, as docs/wire-api.md says:
// tickwire-stream-duration (a Go duration) and tickwire-stream-messages.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <grpcpp/grpcpp.h>

struct StreamBounds {
  // Zero: no duration bound.
  std::chrono::nanoseconds duration{0};
  // Zero: no message bound; otherwise the call ends OK after this many prices.
  int64_t messages = 0;
};

// The bounds, or INVALID_ARGUMENT saying which value is wrong.
grpc::Status BoundsOf(const grpc::CallbackServerContext& context, StreamBounds* out);

// A Go duration ("1.5s", "2m30s", "300ms", "10us"), as time.ParseDuration
// reads it; false when it is not one.
bool ParseGoDuration(const std::string& text, std::chrono::nanoseconds* out);

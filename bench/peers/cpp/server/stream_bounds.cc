#include "stream_bounds.h"

#include <cstdlib>
#include <cstring>

namespace {

// Nanoseconds per unit; longer names first so "ms" is not read as "m".
struct Unit {
  const char* name;
  double ns;
};
constexpr Unit kUnits[] = {{"ns", 1}, {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
                           {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};

std::string Value(const grpc::CallbackServerContext& context, const char* key) {
  auto it = context.client_metadata().find(key);
  if (it == context.client_metadata().end()) return {};
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

bool ParseGoDuration(const std::string& text, std::chrono::nanoseconds* out) {
  const char* at = text.c_str();
  bool negative = *at == '-';
  if (*at == '-' || *at == '+') at++;
  if (strcmp(at, "0") == 0) {
    *out = std::chrono::nanoseconds(0);
    return true;
  }
  double total = 0;
  if (*at == '\0') return false;
  while (*at != '\0') {
    char* end = nullptr;
    double number = strtod(at, &end);
    if (end == at || *end == '\0' || *at == '-' || *at == '+') return false;  // a number needs its unit
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (strncmp(end, u.name, strlen(u.name)) == 0) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) return false;
    total += number * unit->ns;
    at = end + strlen(unit->name);
  }
  *out = std::chrono::nanoseconds(static_cast<int64_t>(negative ? -total : total));
  return true;
}

grpc::Status BoundsOf(const grpc::CallbackServerContext& context, StreamBounds* out) {
  if (std::string v = Value(context, "tickwire-stream-duration"); !v.empty()) {
    if (!ParseGoDuration(v, &out->duration) || out->duration.count() <= 0) {
      return {grpc::StatusCode::INVALID_ARGUMENT,
              "tickwire-stream-duration: \"" + v + "\" is not a positive Go duration"};
    }
  }
  if (std::string v = Value(context, "tickwire-stream-messages"); !v.empty()) {
    char* end = nullptr;
    long long n = strtoll(v.c_str(), &end, 10);
    if (*end != '\0' || n < 1 || n > 2147483647) {
      return {grpc::StatusCode::INVALID_ARGUMENT,
              "tickwire-stream-messages: \"" + v + "\" is not 1 to 2147483647"};
    }
    out->messages = n;
  }
  return grpc::Status::OK;
}

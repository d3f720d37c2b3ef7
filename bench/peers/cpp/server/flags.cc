#include "flags.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

const char kUsage[] =
    "usage: tickwire-grpc-cpp [-listen HOST:PORT] -replay FILE [-replay-rate N] [-replay-loop]\n"
    "                         [-replay-wait-streams N] [-stream-buffer N] [-policy block|drop]\n";

[[noreturn]] void Usage(const std::string& problem) {
  fprintf(stderr, "%s\n%s", problem.c_str(), kUsage);
  exit(2);
}

double ParseNumber(const std::string& flag, const std::string& value, double low, double high) {
  char* end = nullptr;
  double number = strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(number >= low && number <= high)) {
    Usage("invalid value \"" + value + "\" for flag -" + flag);
  }
  return number;
}

int ParseCount(const std::string& flag, const std::string& value, int low) {
  double number = ParseNumber(flag, value, low, 1e9);
  if (number != static_cast<int>(number)) Usage("invalid value \"" + value + "\" for flag -" + flag);
  return static_cast<int>(number);
}

}  // namespace

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "-help" || arg == "--help") {
      fputs(kUsage, stdout);
      exit(0);
    }
    if (arg.size() < 2 || arg[0] != '-') Usage("unexpected argument " + arg);
    std::string name = arg.substr(arg[1] == '-' ? 2 : 1);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name == "replay-loop") {
      if (has_value && value != "true" && value != "false") Usage("invalid boolean for -replay-loop");
      flags.replay_loop = !has_value || value == "true";
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) Usage("flag needs an argument: -" + name);
      value = argv[++i];
    }
    if (name == "listen") flags.listen = value;
    else if (name == "replay") flags.replay = value;
    else if (name == "replay-rate") flags.replay_rate = ParseNumber(name, value, 0, 1e9);
    else if (name == "replay-wait-streams") flags.replay_wait_streams = ParseCount(name, value, 0);
    else if (name == "stream-buffer") flags.stream_buffer = ParseCount(name, value, 1);
    else if (name == "policy" && value == "block") flags.policy = DeliveryPolicy::kBlock;
    else if (name == "policy" && value == "drop") flags.policy = DeliveryPolicy::kDrop;
    else if (name == "policy") Usage("-policy must be block or drop, not \"" + value + "\"");
    else Usage("flag provided but not defined: -" + name);
  }
  if (flags.replay.empty()) Usage("-replay FILE is required");
  return flags;
}

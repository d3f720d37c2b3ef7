// twwatch (C++, gRPC C++): subscribes to RSI(14) of one symbol on a Tickwire
// server's StreamPrices stream, and prints every price and indicator value
// until Ctrl-C, the server ending the stream, or --count N messages (prices
// and indicator batches).
//
// usage: twwatch [--target HOST:PORT] [--symbol SYMBOL] [--count N]
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "tickwire/v1/price_stream.grpc.pb.h"

namespace pb = tickwire::v1;

namespace {

struct Options {
  std::string target = "127.0.0.1:50051";
  std::string symbol = "btcusdt";
  long count = 0;  // stop after this many prices and indicator batches; 0: until Ctrl-C
};

const char kUsage[] = "usage: twwatch [--target HOST:PORT] [--symbol SYMBOL] [--count N]\n";

Options ParseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n%s", flag.c_str(), kUsage);
      std::exit(2);
    }
    std::string value = argv[i + 1];
    if (flag == "--target") {
      options.target = value;
    } else if (flag == "--symbol") {
      options.symbol = value;
    } else if (flag == "--count") {
      char* end = nullptr;
      options.count = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || options.count < 0) {
        std::fprintf(stderr, "--count %s is not a whole number\n%s", value.c_str(), kUsage);
        std::exit(2);
      }
    } else {
      std::fprintf(stderr, "unknown flag %s\n%s", flag.c_str(), kUsage);
      std::exit(2);
    }
  }
  return options;
}

// "RSI" for INDICATOR_TYPE_RSI.
std::string TypeName(pb::IndicatorType type) {
  const std::string prefix = "INDICATOR_TYPE_";
  std::string name = pb::IndicatorType_Name(type);
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

// The status code as the other examples print it (CANCELLED, UNAVAILABLE).
std::string CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    default: return "code " + std::to_string(static_cast<int>(code));
  }
}

// Gives SIGINT and SIGTERM to a thread that cancels the call: TryCancel is
// thread-safe but not async-signal-safe, so no signal handler calls it.
// Called before gRPC starts its own threads, so they inherit the mask.
sigset_t BlockTerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

}  // namespace

int main(int argc, char** argv) {
  Options options = ParseOptions(argc, argv);
  sigset_t signals = BlockTerminationSignals();
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // one line at a time, also into a pipe

  auto channel = grpc::CreateChannel(options.target, grpc::InsecureChannelCredentials());
  auto stub = pb::PriceStream::NewStub(channel);
  grpc::ClientContext context;
  std::thread([&context, signals] {
    int number = 0;
    sigwait(&signals, &number);
    context.TryCancel();
  }).detach();

  std::unique_ptr<grpc::ClientReaderWriter<pb::IndicatorRequest, pb::StreamResponse>> stream =
      stub->StreamPrices(&context);
  pb::IndicatorRequest subscribe;
  subscribe.set_action(pb::IndicatorRequest::ACTION_SUBSCRIBE);
  subscribe.set_symbol(options.symbol);
  subscribe.set_type(pb::INDICATOR_TYPE_RSI);
  subscribe.set_period(14);
  subscribe.set_request_id("rsi14");
  // The send side stays open: more requests may follow at any time. A failed
  // write means the call already ended; Finish() below says why.
  stream->Write(subscribe);

  long prices = 0, batches = 0;
  bool counted_out = false;
  pb::StreamResponse response;
  while (stream->Read(&response)) {
    switch (response.payload_case()) {
      case pb::StreamResponse::kPrice: {
        ++prices;
        const pb::PriceUpdate& p = response.price();
        std::printf("price %s #%lld %.10g x %.10g\n", p.symbol().c_str(),
                    static_cast<long long>(p.trade_id()), p.price(), p.quantity());
        break;
      }
      case pb::StreamResponse::kIndicators:
        ++batches;
        for (const pb::IndicatorUpdate& u : response.indicators().updates()) {
          std::printf("indicator %s %s(%u) = %.4f as of trade #%lld\n", u.symbol().c_str(),
                      TypeName(u.type()).c_str(), u.period(), u.value(),
                      static_cast<long long>(u.trade_id()));
        }
        break;
      case pb::StreamResponse::kStatus: {
        const pb::SubscriptionStatus& s = response.status();
        std::printf("subscription %s: code %d %s\n", s.request_id().c_str(), s.code(),
                    s.message().c_str());
        break;
      }
      case pb::StreamResponse::kShutdown:
        std::printf("server stops at %lld ms: %s\n",
                    static_cast<long long>(response.shutdown().deadline_unix_ms()),
                    response.shutdown().reason().c_str());
        break;
      default:
        break;  // gaps and candles: not subscribed to here
    }
    if (options.count > 0 && prices + batches >= options.count) {
      counted_out = true;
      context.TryCancel();
      break;
    }
  }
  grpc::Status status = stream->Finish();
  if (counted_out) {
    std::printf("stream ended: --count %ld reached\n", options.count);
  } else if (status.ok()) {
    std::printf("stream ended: OK\n");
  } else {  // UNAVAILABLE after a server drain, CANCELLED on Ctrl-C, ...
    std::printf("stream ended: %s %s\n", CodeName(status.error_code()).c_str(),
                status.error_message().c_str());
  }
  std::printf("done: %ld prices, %ld indicator batches\n", prices, batches);
  return 0;
}

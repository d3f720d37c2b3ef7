// tickwire-grpc-cpp: the gRPC C++ peer Tickwire is benchmarked against: the
// same StreamPrices contract, fed by the same replay file at the same fixed
// rate, written as a competent gRPC C++ user would (the callback API, each
// trade encoded once and its bytes shared by every stream).
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "cpu_pinning.h"
#include "flags.h"
#include "hub.h"
#include "log.h"
#include "price_stream_service.h"
#include "replayer.h"
#include "trades.h"

namespace {

// The indicator cadence (Tickwire's --indicator-interval); also how late a
// tickwire-stream-duration bound can end its call.
constexpr std::chrono::milliseconds kBatchInterval{100};

// The ticker thread's stop: a flag and the wait it cuts short.
struct TickerStop {
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
};

void RunTicker(Hub& hub, TickerStop& stop) {
  auto next = std::chrono::steady_clock::now() + kBatchInterval;
  std::unique_lock<std::mutex> lock(stop.mu);
  while (!stop.cv.wait_until(lock, next, [&] { return stop.stop; })) {
    lock.unlock();
    hub.Tick();
    lock.lock();
    next += kBatchInterval;
  }
}

// SIGTERM or SIGINT, taken synchronously: blocked in every thread (threads
// inherit the mask from main, which blocks them before starting any).
int WaitForSignal(const sigset_t& signals) {
  int received = 0;
  while (sigwait(&signals, &received) != 0) {
  }
  return received;
}

}  // namespace

int main(int argc, char** argv) {
  RecordStartupCpus();
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Flags flags = ParseFlags(argc, argv);
  std::string error;
  std::vector<Trade> trades = LoadTrades(flags.replay, &error);
  if (trades.empty()) Fatalf("replay: %s", error.c_str());
  Hub hub(flags.policy, flags.replay_wait_streams, SymbolsOf(trades));
  PriceStreamService service(&hub, flags.stream_buffer);

  // gRPC's defaults otherwise, as a user would leave them: no stream limit
  // per connection, no compression, the stock flow-control windows.
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(flags.listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) Fatalf("listen: cannot serve on %s", flags.listen.c_str());
  std::string host = flags.listen.substr(0, flags.listen.rfind(':'));
  Logf("address=%s:%d listening", host.c_str(), port);

  std::atomic<bool> stop_replay{false};
  std::thread replay([&] {
    if (!hub.WaitForStreams()) return;
    Logf("trades=%zu rate=%g loop=%s replay starting", trades.size(), flags.replay_rate,
         flags.replay_loop ? "true" : "false");
    Logf("%s", CheckThreadsOnStartupCpus().c_str());
    int64_t published = Replayer(trades, flags.replay_rate, flags.replay_loop).Run(hub, stop_replay);
    Logf("published=%lld replay finished", static_cast<long long>(published));
  });
  TickerStop ticker_stop;
  std::thread ticker([&] { RunTicker(hub, ticker_stop); });

  int received = WaitForSignal(signals);
  Logf("signal %d: stopping; %s", received, CheckThreadsOnStartupCpus().c_str());
  stop_replay = true;
  hub.Stop();
  // Streams never end by themselves, so a graceful shutdown would wait
  // forever: the deadline of now cancels every call at once (grpc-go's Stop).
  server->Shutdown(std::chrono::system_clock::now());
  server->Wait();
  replay.join();
  {
    std::lock_guard<std::mutex> lock(ticker_stop.mu);
    ticker_stop.stop = true;
  }
  ticker_stop.cv.notify_all();
  ticker.join();
  Logf("stopped");
  return 0;
}

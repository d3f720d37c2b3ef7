// Keeps every thread of the process on the CPUs it was started on.
//
// bench/run.py pins the server with `taskset -c N`, and a thread inherits its
// creator's mask, so gRPC's threads (its callback executor, timer and polling
// threads) start on that CPU too. gRPC sizes those pools from
// sysconf(_SC_NPROCESSORS_CONF), not from the mask, so it may start more
// threads than the CPUs it may use; they then share the one CPU, as a
// GOMAXPROCS=1 Go runtime's do. This checks every thread against the startup
// mask and re-pins any that left it (nothing in gRPC 1.51 sets affinity, so
// that is a guard, not a fix).
#pragma once

#include <string>

// Records the startup mask; call first in main, before any thread starts.
void RecordStartupCpus();

// Re-pins threads outside the startup mask; a summary for the log:
// "threads=N cpus=LIST repinned=M".
std::string CheckThreadsOnStartupCpus();

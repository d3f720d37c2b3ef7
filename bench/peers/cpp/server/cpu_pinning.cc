#include "cpu_pinning.h"

#include <dirent.h>
#include <sched.h>

#include <cstdlib>
#include <cstring>

namespace {

cpu_set_t startup_cpus;

std::string CpuList(const cpu_set_t& set) {
  std::string out;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
    if (!CPU_ISSET(cpu, &set)) continue;
    out += (out.empty() ? "" : ",") + std::to_string(cpu);
  }
  return out;
}

}  // namespace

void RecordStartupCpus() {
  CPU_ZERO(&startup_cpus);
  if (sched_getaffinity(0, sizeof startup_cpus, &startup_cpus) != 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) CPU_SET(cpu, &startup_cpus);
  }
}

std::string CheckThreadsOnStartupCpus() {
  int threads = 0, repinned = 0;
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return "threads=? (no /proc/self/task)";
  while (dirent* entry = readdir(tasks)) {
    if (entry->d_name[0] == '.') continue;
    pid_t tid = static_cast<pid_t>(atoi(entry->d_name));
    cpu_set_t mask;
    threads++;
    if (sched_getaffinity(tid, sizeof mask, &mask) != 0) continue;  // it exited meanwhile
    if (CPU_EQUAL(&mask, &startup_cpus)) continue;
    if (sched_setaffinity(tid, sizeof startup_cpus, &startup_cpus) == 0) repinned++;
  }
  closedir(tasks);
  return "threads=" + std::to_string(threads) + " cpus=" + CpuList(startup_cpus) +
         " repinned=" + std::to_string(repinned);
}

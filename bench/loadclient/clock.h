/* The two clocks tw-load reads: realtime to compare with the server's
   ingest_unix_nanos (same host, same clock), monotonic for intervals and to
   line up with Python's time.monotonic() in the probe recording. */
#ifndef TW_CLOCK_H
#define TW_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_ns(clockid_t which)
{
    struct timespec ts;
    clock_gettime(which, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t now_mono_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
static inline int64_t now_real_ns(void) { return clock_ns(CLOCK_REALTIME); }

#endif

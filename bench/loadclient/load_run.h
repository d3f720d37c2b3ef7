/* Run-wide state: the measured window, the receipt clock of the bytes being
   processed, the totals and the latency histogram. One per process. */
#ifndef TW_LOAD_RUN_H
#define TW_LOAD_RUN_H

#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>

#include "options.h"
#include "stats.h"

struct load_stream;

struct message_totals {
    uint64_t prices;
    uint64_t batches;
    uint64_t statuses_ok;
    uint64_t statuses_not_ok;
    uint64_t shutdowns;
    uint64_t other;              /* empty or unknown StreamResponse payloads */
};

struct load_run {
    const struct load_options *options;
    struct load_stream *streams;
    int stream_count;

    /* When the bytes being fed to nghttp2 left the kernel: one clock read per
       recv(), shared by every message in those bytes. */
    int64_t receipt_real_ns;
    int64_t receipt_mono_ns;

    int64_t start_mono_ns;
    int64_t first_price_mono_ns; /* 0 until the first price */
    int64_t window_start_mono_ns;/* 0 until measuring starts (first price + warmup) */
    int64_t window_end_mono_ns;  /* 0 until the stop */
    int measuring;
    int stopping;
    const char *stop_reason;

    struct rusage usage_start;   /* at process start */
    struct rusage usage_window;  /* when measuring started */
    struct rusage usage_end;     /* at the stop */

    struct message_totals total;
    struct message_totals window;
    uint64_t bytes_total;
    uint64_t bytes_window;
    uint64_t truncated;          /* messages longer than a stream's buffer */
    uint64_t compressed;         /* compressed messages: never asked for */
    uint64_t malformed;          /* did not parse as StreamResponse */

    struct histogram latency_ns; /* ingest -> receipt of sampled prices in the window */
    uint64_t latency_negative;   /* receipt before ingest: clock trouble */

    uint64_t goaways;
    int goaway_last_error;
    uint64_t connections_lost;

    char refusals[10][160];      /* the first not-OK statuses, as text */
    int refusal_count;

    FILE *record;                /* probe recording, or NULL */
};

#endif

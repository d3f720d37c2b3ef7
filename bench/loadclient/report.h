/* The run's figures: computed once at the stop, written as one JSON object
   and as a short human summary. */
#ifndef TW_REPORT_H
#define TW_REPORT_H

#include <stdint.h>
#include <stdio.h>

struct load_run;

struct interval_figures {
    uint64_t count;
    double p50_ms, p99_ms, max_ms;                   /* pooled over every stream */
    double stream_p99_median_ms, stream_p99_max_ms;  /* each stream's own p99, across streams */
    double stream_max_max_ms;
    uint64_t dropped;
};

struct report_figures {
    double elapsed_s;            /* process start to stop */
    double window_s;             /* measured window */
    uint64_t prices_min, prices_max, batches_min, batches_max;
    uint64_t updates;
    int streams_opened;
    int streams_full_ok;         /* answered every SUBSCRIBE with OK */
    int ended_early;             /* ended before the stop: errors */
    int ended_by[5];             /* by enum stream_end */
    double latency_us[5];        /* p50, p90, p99, p99.9, max */
    struct interval_figures intervals;
    double cpu_user_s, cpu_sys_s;           /* whole run */
    double window_cpu_s;                    /* inside the window */
    double window_msgs_per_s;
    double window_cpu_ns_per_msg;
    double total_cpu_ns_per_msg;
};

void report_compute(struct load_run *run, struct report_figures *out);
void report_write_json(FILE *out, const struct load_run *run, const struct report_figures *f,
                       int stalled_streams);
void report_write_summary(FILE *out, const struct load_run *run, const struct report_figures *f);

#endif

/* Command-line options of tw-load: what to open, for how long, what to record. */
#ifndef TW_OPTIONS_H
#define TW_OPTIONS_H

#include <stdint.h>

struct load_options {
    char host[64];             /* IPv4 literal: h2c with prior knowledge, loopback only */
    uint16_t port;
    int connections;
    int streams;               /* spread round-robin over the connections */
    int indicators;            /* SUBSCRIBEs each stream sends after opening (0..10) */
    int candle_interval;       /* 0: per-trade indicators; 1..13: on that CandleInterval's closes, forming on */
    double duration_s;         /* hard bound on the whole run */
    double warmup_s;           /* counted from the first price: nothing measured before */
    int sample_every;          /* fully decode every M-th price of a stream for latency */
    int cpu;                   /* -1: no pinning */
    int probe_streams;         /* the first P streams record their batches */
    const char *json_path;     /* NULL: JSON report on stdout */
    const char *record_path;   /* NULL: no probe recording */
    int stalled_streams;       /* extra streams on their own connection that never read */
    int stream_detail;         /* per-stream rows in the JSON report */
    int busy_poll;             /* epoll_wait with a zero timeout: no wake-up in the latency */
};

/* Fills `out` from argv; prints usage and returns -1 on a bad option. */
int options_parse(struct load_options *out, int argc, char **argv);

#endif

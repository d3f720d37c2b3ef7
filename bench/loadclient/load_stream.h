/* One StreamPrices call as tw-load sees it: what it sends first, how it is
   deframed, what it received and how it ended. Preallocated at startup. */
#ifndef TW_LOAD_STREAM_H
#define TW_LOAD_STREAM_H

#include <stdint.h>

#include "grpc_frames.h"

struct load_run;

/* How a stream ended; anything but STREAM_OPEN before the stop is an error. */
enum stream_end {
    STREAM_OPEN = 0,             /* still open when the run stopped */
    STREAM_GRPC_STATUS,          /* trailers (or trailers-only) with grpc-status */
    STREAM_RESET,                /* RST_STREAM without trailers */
    STREAM_GOAWAY,               /* refused or cut by the server's GOAWAY */
    STREAM_CONNECTION_LOST,      /* the TCP connection closed or failed under it */
};

struct load_stream {
    struct load_run *run;
    int index;                   /* run-wide index: picks the subscription mix */
    int is_probe;                /* records batches and sampled prices */
    int opened;                  /* its HEADERS went out */
    int32_t stream_id;
    struct grpc_deframer deframer;

    const uint8_t *request;      /* gRPC-framed SUBSCRIBEs, sent once after opening */
    uint32_t request_len;
    uint32_t request_sent;

    uint64_t prices;
    uint64_t batches;
    uint64_t updates;            /* IndicatorUpdates over all batches */
    uint64_t statuses_ok;
    uint64_t statuses_not_ok;
    uint64_t shutdowns;
    uint64_t until_sample;       /* prices left before the next fully decoded one */

    int64_t last_batch_mono_ns;
    uint32_t *intervals_us;      /* batch inter-arrivals inside the measured window */
    uint32_t intervals_len;
    uint32_t intervals_cap;
    uint64_t intervals_dropped;  /* past intervals_cap */

    enum stream_end end;
    int end_code;                /* grpc-status, RST_STREAM or GOAWAY error code */
    int end_during_run;          /* ended before the stop: an error */
    int grpc_status;             /* -1 until a grpc-status header arrives */
};

#endif

/* The probe recording: one JSON object per line, for bench/load/indicator_soak.py
   to check against TA-Lib. Times are CLOCK_MONOTONIC seconds, Python's
   time.monotonic(). Buffered stdio: no allocation per line. */
#ifndef TW_PROBE_RECORD_H
#define TW_PROBE_RECORD_H

#include <stdint.h>
#include <stdio.h>

#include "proto_scan.h"

/* {"stream":S,"mono":T,"updates":[[symbol,type,period,value,trade_id,trade_time_ms],...]} */
void probe_record_batch(FILE *out, int stream_index, int64_t mono_ns, struct pb_bytes batch);

/* {"stream":S,"mono":T,"lag_ms":L,"symbol":"BTCUSDT","trade_id":N} */
void probe_record_price(FILE *out, int stream_index, int64_t mono_ns, double lag_ms,
                        const struct price_fields *price);

/* Writes a protobuf string as a JSON string; bytes that would need escaping become '?'. */
void write_json_text(FILE *out, const uint8_t *data, size_t len);

#endif

#include "message_sink.h"

#include <stdio.h>

#include "load_run.h"
#include "load_stream.h"
#include "probe_record.h"
#include "proto_scan.h"

/* A price is counted from its first byte; every sample_every-th of a stream
   is decoded for its ingest time: the only per-price work beyond counting. */
static void take_price(struct load_stream *s, struct load_run *run, const struct grpc_message *m)
{
    s->prices++;
    run->total.prices++;
    if (run->measuring) run->window.prices++;
    if (run->first_price_mono_ns == 0) run->first_price_mono_ns = run->receipt_mono_ns;
    if (--s->until_sample > 0) return;
    s->until_sample = (uint64_t)run->options->sample_every;

    uint8_t tag;
    struct pb_bytes payload;
    struct price_fields price;
    if (scan_response(m->data, m->len, &tag, &payload) != 0 || scan_price(payload, &price) != 0) {
        run->malformed++;
        return;
    }
    int64_t lag_ns = run->receipt_real_ns - price.ingest_unix_nanos;
    if (run->measuring) {
        if (lag_ns < 0) run->latency_negative++;
        histogram_record(&run->latency_ns, lag_ns < 0 ? 0 : (uint64_t)lag_ns);
    }
    if (s->is_probe && run->record != NULL)
        probe_record_price(run->record, s->index, run->receipt_mono_ns, (double)lag_ns / 1e6, &price);
}

static void record_interval(struct load_stream *s, struct load_run *run)
{
    int64_t previous = s->last_batch_mono_ns;
    s->last_batch_mono_ns = run->receipt_mono_ns;
    /* Only gaps wholly inside the window: the first batch after the replay
       starts would otherwise count the idle time before it. */
    if (!run->measuring || previous == 0 || previous < run->window_start_mono_ns) return;
    if (s->intervals_len == s->intervals_cap) {
        s->intervals_dropped++;
        return;
    }
    int64_t gap_us = (run->receipt_mono_ns - previous) / 1000;
    s->intervals_us[s->intervals_len++] = gap_us > UINT32_MAX ? UINT32_MAX : (uint32_t)gap_us;
}

static void take_batch(struct load_stream *s, struct load_run *run, const struct grpc_message *m)
{
    s->batches++;
    run->total.batches++;
    if (run->measuring) run->window.batches++;
    record_interval(s, run);
    uint8_t tag;
    struct pb_bytes payload;
    if (scan_response(m->data, m->len, &tag, &payload) != 0) {
        run->malformed++;
        return;
    }
    int n = scan_batch(payload, NULL, NULL);
    if (n < 0) run->malformed++;
    else s->updates += (uint64_t)n;
    if (s->is_probe && run->record != NULL)
        probe_record_batch(run->record, s->index, run->receipt_mono_ns, payload);
}

static void keep_refusal(struct load_run *run, const struct status_fields *st)
{
    if (run->refusal_count >= (int)(sizeof run->refusals / sizeof run->refusals[0])) return;
    snprintf(run->refusals[run->refusal_count++], sizeof run->refusals[0], "%.*s: code %d %.*s",
             (int)st->request_id.len, (const char *)st->request_id.data, st->code,
             (int)st->message.len, (const char *)st->message.data);
}

static void take_status(struct load_stream *s, struct load_run *run, const struct grpc_message *m)
{
    uint8_t tag;
    struct pb_bytes payload;
    struct status_fields st;
    if (scan_response(m->data, m->len, &tag, &payload) != 0 || scan_status(payload, &st) != 0) {
        run->malformed++;
        return;
    }
    if (st.code == 0) {
        s->statuses_ok++;
        run->total.statuses_ok++;
        if (run->measuring) run->window.statuses_ok++;
    } else {
        s->statuses_not_ok++;
        run->total.statuses_not_ok++;
        if (run->measuring) run->window.statuses_not_ok++;
        keep_refusal(run, &st);
    }
}

void message_sink_take(void *ctx, const struct grpc_message *m)
{
    struct load_stream *s = ctx;
    struct load_run *run = s->run;
    if (m->compressed) run->compressed++;
    if (m->len < m->full_len) run->truncated++;
    switch (m->len > 0 ? m->data[0] : 0) {
    case RESPONSE_PRICE: take_price(s, run, m); break;
    case RESPONSE_INDICATORS: take_batch(s, run, m); break;
    case RESPONSE_STATUS: take_status(s, run, m); break;
    case RESPONSE_SHUTDOWN:
        s->shutdowns++;
        run->total.shutdowns++;
        if (run->measuring) run->window.shutdowns++;
        break;
    default:
        run->total.other++;
        if (run->measuring) run->window.other++;
        break;
    }
}

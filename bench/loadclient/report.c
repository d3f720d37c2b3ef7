#include "report.h"

#include <stdlib.h>
#include <string.h>

#include "load_run.h"
#include "load_stream.h"
#include "probe_record.h"

static const char *const end_names[5] = {"open", "grpc_status", "rst_stream", "goaway", "connection_lost"};

static double seconds_of(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

static double cpu_between(const struct rusage *a, const struct rusage *b)
{
    return seconds_of(b->ru_utime) - seconds_of(a->ru_utime) + seconds_of(b->ru_stime) - seconds_of(a->ru_stime);
}

static uint64_t window_messages(const struct message_totals *t)
{
    return t->prices + t->batches + t->statuses_ok + t->statuses_not_ok + t->shutdowns + t->other;
}

/* Pooled and per-stream batch inter-arrival; sorts the streams' arrays. */
static void compute_intervals(struct load_run *run, struct interval_figures *out)
{
    size_t total = 0;
    for (int i = 0; i < run->stream_count; i++) total += run->streams[i].intervals_len;
    uint32_t *pooled = malloc((total + 1) * sizeof *pooled);
    uint32_t *stream_p99 = malloc(((size_t)run->stream_count + 1) * sizeof *stream_p99);
    size_t at = 0, with_gaps = 0;
    uint32_t stream_max_max = 0;
    *out = (struct interval_figures){0};
    for (int i = 0; i < run->stream_count; i++) {
        struct load_stream *s = &run->streams[i];
        out->dropped += s->intervals_dropped;
        if (s->intervals_len == 0) continue;
        memcpy(pooled + at, s->intervals_us, s->intervals_len * sizeof *pooled);
        at += s->intervals_len;
        stream_p99[with_gaps++] = quantile_u32(s->intervals_us, s->intervals_len, 0.99);
        uint32_t m = s->intervals_us[s->intervals_len - 1];   /* sorted by quantile_u32 */
        if (m > stream_max_max) stream_max_max = m;
    }
    out->count = total;
    out->p50_ms = quantile_u32(pooled, total, 0.50) / 1e3;
    out->p99_ms = quantile_u32(pooled, total, 0.99) / 1e3;
    out->max_ms = total ? pooled[total - 1] / 1e3 : 0;
    out->stream_p99_median_ms = quantile_u32(stream_p99, with_gaps, 0.50) / 1e3;
    out->stream_p99_max_ms = with_gaps ? stream_p99[with_gaps - 1] / 1e3 : 0;
    out->stream_max_max_ms = stream_max_max / 1e3;
    free(pooled);
    free(stream_p99);
}

void report_compute(struct load_run *run, struct report_figures *f)
{
    memset(f, 0, sizeof *f);
    int64_t end = run->window_end_mono_ns;
    f->elapsed_s = (double)(end - run->start_mono_ns) / 1e9;
    f->window_s = run->window_start_mono_ns ? (double)(end - run->window_start_mono_ns) / 1e9 : 0;
    f->prices_min = f->batches_min = UINT64_MAX;
    int wanted = run->options->indicators;
    for (int i = 0; i < run->stream_count; i++) {
        const struct load_stream *s = &run->streams[i];
        if (s->prices < f->prices_min) f->prices_min = s->prices;
        if (s->prices > f->prices_max) f->prices_max = s->prices;
        if (s->batches < f->batches_min) f->batches_min = s->batches;
        if (s->batches > f->batches_max) f->batches_max = s->batches;
        f->updates += s->updates;
        f->streams_opened += s->opened;
        f->streams_full_ok += s->statuses_ok == (uint64_t)wanted;
        f->ended_early += s->end_during_run;
        f->ended_by[s->end]++;
    }
    const double q[4] = {0.50, 0.90, 0.99, 0.999};
    for (int i = 0; i < 4; i++) f->latency_us[i] = (double)histogram_quantile(&run->latency_ns, q[i]) / 1e3;
    f->latency_us[4] = (double)run->latency_ns.max / 1e3;
    compute_intervals(run, &f->intervals);

    f->cpu_user_s = seconds_of(run->usage_end.ru_utime) - seconds_of(run->usage_start.ru_utime);
    f->cpu_sys_s = seconds_of(run->usage_end.ru_stime) - seconds_of(run->usage_start.ru_stime);
    uint64_t total_msgs = window_messages(&run->total), msgs = window_messages(&run->window);
    if (run->window_start_mono_ns) {
        f->window_cpu_s = cpu_between(&run->usage_window, &run->usage_end);
        f->window_msgs_per_s = f->window_s > 0 ? (double)msgs / f->window_s : 0;
        f->window_cpu_ns_per_msg = msgs ? f->window_cpu_s * 1e9 / (double)msgs : 0;
    }
    f->total_cpu_ns_per_msg = total_msgs ? (f->cpu_user_s + f->cpu_sys_s) * 1e9 / (double)total_msgs : 0;
}

static void write_totals(FILE *out, const char *name, const struct message_totals *t)
{
    fprintf(out, "\"%s\":{\"prices\":%llu,\"batches\":%llu,\"statuses_ok\":%llu,\"statuses_not_ok\":%llu,"
                 "\"shutdowns\":%llu,\"other\":%llu}",
            name, (unsigned long long)t->prices, (unsigned long long)t->batches,
            (unsigned long long)t->statuses_ok, (unsigned long long)t->statuses_not_ok,
            (unsigned long long)t->shutdowns, (unsigned long long)t->other);
}

static void write_streams(FILE *out, const struct load_run *run)
{
    /* [index, prices, batches, updates, ok, not_ok, shutdowns, end, end_code, ended_early] */
    fputs(",\"stream_rows\":[", out);
    for (int i = 0; i < run->stream_count; i++) {
        const struct load_stream *s = &run->streams[i];
        fprintf(out, "%s[%d,%llu,%llu,%llu,%llu,%llu,%llu,\"%s\",%d,%d]", i ? "," : "", s->index,
                (unsigned long long)s->prices, (unsigned long long)s->batches, (unsigned long long)s->updates,
                (unsigned long long)s->statuses_ok, (unsigned long long)s->statuses_not_ok,
                (unsigned long long)s->shutdowns, end_names[s->end], s->end_code, s->end_during_run);
    }
    fputc(']', out);
}

void report_write_json(FILE *out, const struct load_run *run, const struct report_figures *f,
                       int stalled_streams)
{
    const struct load_options *o = run->options;
    const struct interval_figures *iv = &f->intervals;
    fprintf(out, "{\"target\":\"%s:%u\",\"connections\":%d,\"streams\":%d,\"stalled_streams\":%d,"
                 "\"indicators\":%d,\"sample_every\":%d,\"probe_streams\":%d,\"stop_reason\":\"%s\",",
            o->host, o->port, o->connections, run->stream_count, stalled_streams, o->indicators,
            o->sample_every, o->probe_streams, run->stop_reason ? run->stop_reason : "?");
    fprintf(out, "\"elapsed_s\":%.3f,\"window_s\":%.3f,\"window_start_mono\":%.9f,\"window_end_mono\":%.9f,",
            f->elapsed_s, f->window_s, (double)run->window_start_mono_ns / 1e9, (double)run->window_end_mono_ns / 1e9);
    write_totals(out, "total", &run->total);
    fputc(',', out);
    write_totals(out, "window", &run->window);
    fprintf(out, ",\"bytes_total\":%llu,\"bytes_window\":%llu,\"msgs_per_s\":%.0f,\"indicator_updates\":%llu,",
            (unsigned long long)run->bytes_total, (unsigned long long)run->bytes_window, f->window_msgs_per_s,
            (unsigned long long)f->updates);
    fprintf(out, "\"per_stream\":{\"prices_min\":%llu,\"prices_max\":%llu,\"batches_min\":%llu,\"batches_max\":%llu,"
                 "\"opened\":%d,\"all_subscriptions_ok\":%d},",
            (unsigned long long)f->prices_min, (unsigned long long)f->prices_max,
            (unsigned long long)f->batches_min, (unsigned long long)f->batches_max, f->streams_opened,
            f->streams_full_ok);
    fprintf(out, "\"latency_us\":{\"samples\":%llu,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,"
                 "\"max\":%.1f,\"negative\":%llu},",
            (unsigned long long)run->latency_ns.count, f->latency_us[0], f->latency_us[1], f->latency_us[2],
            f->latency_us[3], f->latency_us[4], (unsigned long long)run->latency_negative);
    fprintf(out, "\"batch_interval_ms\":{\"count\":%llu,\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f,"
                 "\"stream_p99_median\":%.3f,\"stream_p99_max\":%.3f,\"stream_max_max\":%.3f,\"dropped\":%llu},",
            (unsigned long long)iv->count, iv->p50_ms, iv->p99_ms, iv->max_ms, iv->stream_p99_median_ms,
            iv->stream_p99_max_ms, iv->stream_max_max_ms, (unsigned long long)iv->dropped);
    fprintf(out, "\"ends\":{\"open\":%d,\"grpc_status\":%d,\"rst_stream\":%d,\"goaway\":%d,\"connection_lost\":%d},"
                 "\"errors\":%d,\"goaways\":%llu,\"connections_lost\":%llu,\"truncated\":%llu,\"compressed\":%llu,"
                 "\"malformed\":%llu,",
            f->ended_by[0], f->ended_by[1], f->ended_by[2], f->ended_by[3], f->ended_by[4], f->ended_early,
            (unsigned long long)run->goaways, (unsigned long long)run->connections_lost,
            (unsigned long long)run->truncated, (unsigned long long)run->compressed,
            (unsigned long long)run->malformed);
    fprintf(out, "\"cpu\":{\"user_s\":%.3f,\"sys_s\":%.3f,\"share_of_core\":%.3f,\"window_s\":%.3f,"
                 "\"window_share_of_core\":%.3f,\"ns_per_msg_window\":%.1f,\"ns_per_msg_total\":%.1f},",
            f->cpu_user_s, f->cpu_sys_s, f->elapsed_s > 0 ? (f->cpu_user_s + f->cpu_sys_s) / f->elapsed_s : 0,
            f->window_cpu_s, f->window_s > 0 ? f->window_cpu_s / f->window_s : 0, f->window_cpu_ns_per_msg,
            f->total_cpu_ns_per_msg);
    fputs("\"refusals\":[", out);
    for (int i = 0; i < run->refusal_count; i++) {
        if (i) fputc(',', out);
        write_json_text(out, (const uint8_t *)run->refusals[i], strlen(run->refusals[i]));
    }
    fputc(']', out);
    if (o->stream_detail) write_streams(out, run);
    fputs("}\n", out);
}

void report_write_summary(FILE *out, const struct load_run *run, const struct report_figures *f)
{
    const struct interval_figures *iv = &f->intervals;
    fprintf(out, "tw-load: %d streams, stopped by %s after %.1f s (window %.1f s)\n", run->stream_count,
            run->stop_reason ? run->stop_reason : "?", f->elapsed_s, f->window_s);
    fprintf(out, "  window: %llu prices, %llu batches, %.0f msgs/s, %.1f MB received\n",
            (unsigned long long)run->window.prices, (unsigned long long)run->window.batches,
            f->window_msgs_per_s, (double)run->bytes_window / 1e6);
    fprintf(out, "  per stream: prices %llu..%llu, batches %llu..%llu; statuses OK %llu, not OK %llu\n",
            (unsigned long long)f->prices_min, (unsigned long long)f->prices_max,
            (unsigned long long)f->batches_min, (unsigned long long)f->batches_max,
            (unsigned long long)run->total.statuses_ok, (unsigned long long)run->total.statuses_not_ok);
    fprintf(out, "  latency ingest->receipt us (%llu samples): p50 %.0f p90 %.0f p99 %.0f p99.9 %.0f max %.0f\n",
            (unsigned long long)run->latency_ns.count, f->latency_us[0], f->latency_us[1], f->latency_us[2],
            f->latency_us[3], f->latency_us[4]);
    fprintf(out, "  batch interval ms (%llu gaps): p50 %.1f p99 %.1f max %.1f; per-stream p99 median %.1f max %.1f\n",
            (unsigned long long)iv->count, iv->p50_ms, iv->p99_ms, iv->max_ms, iv->stream_p99_median_ms,
            iv->stream_p99_max_ms);
    fprintf(out, "  errors: %d streams ended early (status %d, reset %d, goaway %d, lost %d); malformed %llu\n",
            f->ended_early, f->ended_by[1], f->ended_by[2], f->ended_by[3], f->ended_by[4],
            (unsigned long long)run->malformed);
    fprintf(out, "  client CPU: %.2f s user + %.2f s sys (%.0f%% of a core); window %.0f%%, %.0f ns per message\n",
            f->cpu_user_s, f->cpu_sys_s,
            f->elapsed_s > 0 ? (f->cpu_user_s + f->cpu_sys_s) / f->elapsed_s * 100 : 0,
            f->window_s > 0 ? f->window_cpu_s / f->window_s * 100 : 0, f->window_cpu_ns_per_msg);
}

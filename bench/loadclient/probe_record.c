#include "probe_record.h"

#include <math.h>

#include "subscriptions.h"

void write_json_text(FILE *out, const uint8_t *data, size_t len)
{
    putc('"', out);
    for (size_t i = 0; i < len; i++) {
        uint8_t c = data[i];
        putc(c >= 0x20 && c < 0x7F && c != '"' && c != '\\' ? c : '?', out);
    }
    putc('"', out);
}

/* %.17g round-trips a double; Python's json reads NaN and Infinity. */
static void write_double(FILE *out, double v)
{
    if (isnan(v)) fputs("NaN", out);
    else if (isinf(v)) fputs(v > 0 ? "Infinity" : "-Infinity", out);
    else fprintf(out, "%.17g", v);
}

struct batch_line {
    FILE *out;
    int first;
};

static void write_update(void *ctx, const struct indicator_update_fields *u)
{
    struct batch_line *line = ctx;
    if (!line->first) putc(',', line->out);
    line->first = 0;
    putc('[', line->out);
    write_json_text(line->out, u->symbol.data, u->symbol.len);
    fprintf(line->out, ",\"%s\",%u,", indicator_type_name(u->type), u->period);
    write_double(line->out, u->value);
    fprintf(line->out, ",%lld,%lld]", (long long)u->trade_id, (long long)u->trade_time_ms);
}

void probe_record_batch(FILE *out, int stream_index, int64_t mono_ns, struct pb_bytes batch)
{
    fprintf(out, "{\"stream\":%d,\"mono\":%.9f,\"updates\":[", stream_index, (double)mono_ns / 1e9);
    struct batch_line line = {out, 1};
    int n = scan_batch(batch, write_update, &line);
    fprintf(out, "],\"malformed\":%s}\n", n < 0 ? "true" : "false");
}

void probe_record_price(FILE *out, int stream_index, int64_t mono_ns, double lag_ms,
                        const struct price_fields *price)
{
    fprintf(out, "{\"stream\":%d,\"mono\":%.9f,\"lag_ms\":%.6f,\"symbol\":", stream_index,
            (double)mono_ns / 1e9, lag_ms);
    write_json_text(out, price->symbol.data, price->symbol.len);
    fprintf(out, ",\"trade_id\":%lld}\n", (long long)price->trade_id);
}

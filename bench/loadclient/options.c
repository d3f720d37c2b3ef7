/* Parses tw-load's options strictly: a load run with a misread flag measures
   the wrong thing, so anything unexpected is refused with usage. */
#include "options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: tw-load --target 127.0.0.1:PORT [options]\n"
    "  --connections C       HTTP/2 connections (default 10)\n"
    "  --streams N           StreamPrices calls, spread round-robin over the connections (default 100)\n"
    "  --indicators K        SUBSCRIBEs per stream, 0..10, the indicator soak's mix (default 0)\n"
    "  --candle-interval I   compute them on candle closes of tickwire.v1.CandleInterval I (2 = 1m),\n"
    "                        with provisional values on the forming candle (default 0: per trade)\n"
    "  --duration S          hard bound on the run in seconds (default 30)\n"
    "  --warmup S            seconds after the first price before anything is measured (default 0)\n"
    "  --sample-every M      decode every M-th price of a stream for latency (default 100; 1 = all)\n"
    "  --cpu N               pin to CPU N\n"
    "  --json PATH           write the JSON report here (default stdout)\n"
    "  --record-batches PATH record the probe streams' batches and sampled prices (JSON lines)\n"
    "  --probe-streams P     how many streams (the first P) record (default 0; 10 with --record-batches)\n"
    "  --stalled-streams S   S more streams on one extra connection that is never read\n"
    "  --stream-detail       one row per stream in the JSON report\n"
    "  --busy-poll           never sleep in epoll_wait: spin on it with a zero timeout, so that a price's\n"
    "                        latency does not include waking this process (costs a whole core)\n"
    "SIGUSR1, SIGINT or SIGTERM ends the run early; the report is written either way.\n";

static int parse_int(const char *text, int min, int max, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max) return -1;
    *out = (int)v;
    return 0;
}

static int parse_seconds(const char *text, double min, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(v >= min) || v > 86400.0) return -1;
    *out = v;
    return 0;
}

/* Only loopback IPv4 literals (127.0.0.0/8): a load generator is for local
   benches, never pointed at someone else's server by a typo. */
static int parse_target(const char *text, struct load_options *out)
{
    const char *colon = strrchr(text, ':');
    if (colon == NULL || (size_t)(colon - text) >= sizeof out->host) return -1;
    memcpy(out->host, text, (size_t)(colon - text));
    out->host[colon - text] = '\0';
    struct in_addr addr;
    if (inet_pton(AF_INET, out->host, &addr) != 1 || (ntohl(addr.s_addr) >> 24) != 127) return -1;
    int port = 0;
    if (parse_int(colon + 1, 1, 65535, &port) != 0) return -1;
    out->port = (uint16_t)port;
    return 0;
}

enum option_id {
    OPT_TARGET = 1, OPT_CONNECTIONS, OPT_STREAMS, OPT_INDICATORS, OPT_CANDLE_INTERVAL, OPT_DURATION, OPT_WARMUP,
    OPT_SAMPLE_EVERY, OPT_CPU, OPT_JSON, OPT_RECORD, OPT_PROBES, OPT_STALLED, OPT_DETAIL,
    OPT_BUSY_POLL,
};

static const struct option long_options[] = {
    {"target", required_argument, NULL, OPT_TARGET},
    {"connections", required_argument, NULL, OPT_CONNECTIONS},
    {"streams", required_argument, NULL, OPT_STREAMS},
    {"indicators", required_argument, NULL, OPT_INDICATORS},
    {"candle-interval", required_argument, NULL, OPT_CANDLE_INTERVAL},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"sample-every", required_argument, NULL, OPT_SAMPLE_EVERY},
    {"cpu", required_argument, NULL, OPT_CPU},
    {"json", required_argument, NULL, OPT_JSON},
    {"record-batches", required_argument, NULL, OPT_RECORD},
    {"probe-streams", required_argument, NULL, OPT_PROBES},
    {"stalled-streams", required_argument, NULL, OPT_STALLED},
    {"stream-detail", no_argument, NULL, OPT_DETAIL},
    {"busy-poll", no_argument, NULL, OPT_BUSY_POLL},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int apply(struct load_options *out, int id, const char *arg, int *probes_given)
{
    switch (id) {
    case OPT_TARGET: return parse_target(arg, out);
    case OPT_CONNECTIONS: return parse_int(arg, 1, 4096, &out->connections);
    case OPT_STREAMS: return parse_int(arg, 1, 1000000, &out->streams);
    case OPT_INDICATORS: return parse_int(arg, 0, 10, &out->indicators);
    case OPT_CANDLE_INTERVAL: return parse_int(arg, 0, 13, &out->candle_interval);
    case OPT_DURATION: return parse_seconds(arg, 0.1, &out->duration_s);
    case OPT_WARMUP: return parse_seconds(arg, 0.0, &out->warmup_s);
    case OPT_SAMPLE_EVERY: return parse_int(arg, 1, 1000000000, &out->sample_every);
    case OPT_CPU: return parse_int(arg, 0, 4095, &out->cpu);
    case OPT_JSON: out->json_path = arg; return 0;
    case OPT_RECORD: out->record_path = arg; return 0;
    case OPT_PROBES: *probes_given = 1; return parse_int(arg, 0, 1000000, &out->probe_streams);
    case OPT_STALLED: return parse_int(arg, 0, 1000, &out->stalled_streams);
    case OPT_DETAIL: out->stream_detail = 1; return 0;
    case OPT_BUSY_POLL: out->busy_poll = 1; return 0;
    default: return -1;
    }
}

int options_parse(struct load_options *out, int argc, char **argv)
{
    *out = (struct load_options){
        .connections = 10, .streams = 100, .duration_s = 30.0, .sample_every = 100, .cpu = -1,
    };
    int probes_given = 0, have_target = 0;
    int id;
    while ((id = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        if (id == 'h' || id == '?') goto usage;
        if (apply(out, id, optarg, &probes_given) != 0) {
            fprintf(stderr, "tw-load: bad value for --%s: '%s'\n", long_options[id - 1].name, optarg);
            goto usage;
        }
        have_target |= id == OPT_TARGET;
    }
    if (optind != argc || !have_target) goto usage;
    if (out->record_path != NULL && !probes_given) out->probe_streams = 10;
    if (out->probe_streams > out->streams) out->probe_streams = out->streams;
    if (out->connections > out->streams) out->connections = out->streams;
    return 0;
usage:
    fputs(usage_text, stderr);
    return -1;
}

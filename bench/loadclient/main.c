/* tw-load: a lean, single-threaded load client for tickwire's StreamPrices.
   main only parses, allocates everything up front, wires and runs the loop;
   see connection.c (HTTP/2), message_sink.c (what is counted and decoded)
   and report.c (the figures). */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "clock.h"
#include "connection.h"
#include "load_run.h"
#include "load_stream.h"
#include "options.h"
#include "report.h"
#include "subscriptions.h"

#define RECV_SCRATCH_BYTES (256 * 1024)
/* A stream's reassembly buffer: prices are ~80 bytes, a batch of 64 updates ~3 KiB. */
#define STREAM_MESSAGE_BYTES 4096
#define STREAM_REQUEST_BYTES 1024
/* Batch gaps kept per stream: room for 25 batches/s over the whole run. */
#define INTERVALS_PER_SECOND 25
/* How often the loop wakes with nothing to read, to check the clock. */
#define LOOP_TICK_MS 50

struct load_client {
    struct load_options options;
    struct load_run run;
    struct load_connection *connections;
    int connection_count;        /* healthy ones, then the stalled one if any */
    struct load_stream *stalled_streams;
    int epoll_fd;
    int signal_fd;
    int ready_reported;
};

static void die(const char *what)
{
    fprintf(stderr, "tw-load: %s\n", what);
    exit(2);
}

static void *allocate(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (p == NULL) die("out of memory at startup");
    return p;
}

static void init_stream(struct load_stream *s, struct load_run *run, int index, int subscriptions,
                        uint32_t interval_cap)
{
    s->run = run;
    s->index = index;
    s->grpc_status = -1;
    s->until_sample = (uint64_t)run->options->sample_every;
    grpc_deframer_init(&s->deframer, allocate(STREAM_MESSAGE_BYTES), STREAM_MESSAGE_BYTES);
    uint8_t *request = allocate(STREAM_REQUEST_BYTES);
    s->request_len = (uint32_t)encode_subscribe_requests(index, subscriptions,
                                                           (uint32_t)run->options->candle_interval,
                                                           request, STREAM_REQUEST_BYTES);
    s->request = request;
    s->intervals_cap = interval_cap;
    s->intervals_us = allocate((size_t)interval_cap * sizeof *s->intervals_us);
}

/* Streams round-robin over the healthy connections; stalled streams all on one more. */
static void allocate_everything(struct load_client *lc)
{
    const struct load_options *o = &lc->options;
    struct load_run *run = &lc->run;
    uint32_t interval_cap = (uint32_t)(o->duration_s * INTERVALS_PER_SECOND) + 16;
    run->options = o;
    run->stream_count = o->streams;
    run->streams = allocate((size_t)o->streams * sizeof *run->streams);
    for (int i = 0; i < o->streams; i++) {
        init_stream(&run->streams[i], run, i, o->indicators, interval_cap);
        run->streams[i].is_probe = i < o->probe_streams;
    }
    lc->stalled_streams = allocate((size_t)o->stalled_streams * sizeof *lc->stalled_streams);
    for (int i = 0; i < o->stalled_streams; i++)
        init_stream(&lc->stalled_streams[i], run, o->streams + i, 0, 1);

    lc->connection_count = o->connections + (o->stalled_streams > 0);
    lc->connections = allocate((size_t)lc->connection_count * sizeof *lc->connections);
    for (int c = 0; c < lc->connection_count; c++) {
        struct load_connection *conn = &lc->connections[c];
        int stalled = c == o->connections;
        conn->run = run;
        conn->index = c;
        conn->stalled = stalled;
        conn->pending = allocate(CONNECTION_PENDING_BYTES);
        int n = stalled ? o->stalled_streams : o->streams / o->connections + (c < o->streams % o->connections);
        conn->streams = allocate((size_t)n * sizeof *conn->streams);
        for (int k = 0; k < n; k++)
            conn->streams[k] = stalled ? &lc->stalled_streams[k] : &run->streams[c + k * o->connections];
        conn->stream_count = n;
    }
}

static void open_signals_and_poller(struct load_client *lc)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    lc->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    lc->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (lc->signal_fd < 0 || lc->epoll_fd < 0) die("signalfd/epoll_create1 failed");
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};  /* NULL: the signalfd */
    epoll_ctl(lc->epoll_fd, EPOLL_CTL_ADD, lc->signal_fd, &ev);
}

static void pin_cpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        fprintf(stderr, "tw-load: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
        exit(2);
    }
}

static void connect_all(struct load_client *lc)
{
    for (int c = 0; c < lc->connection_count; c++) {
        struct load_connection *conn = &lc->connections[c];
        if (connection_start(conn, lc->epoll_fd, lc->options.host, lc->options.port) != 0) {
            fprintf(stderr, "tw-load: connection %d to %s:%u failed: %s\n", c, lc->options.host,
                    lc->options.port, conn->failure);
            exit(2);
        }
    }
}

/* `ready` on stdout once every stream is open and has all its statuses (or
   ended): the indicator soak waits for it before starting the replay. */
static void report_ready_once(struct load_client *lc)
{
    if (lc->ready_reported) return;
    uint64_t ok = 0;
    for (int i = 0; i < lc->run.stream_count; i++) {
        const struct load_stream *s = &lc->run.streams[i];
        uint64_t answered = s->statuses_ok + s->statuses_not_ok;
        if (s->end == STREAM_OPEN && (!s->opened || answered < (uint64_t)lc->options.indicators)) return;
        ok += s->statuses_ok;
    }
    lc->ready_reported = 1;
    printf("{\"ready\": %d, \"ok\": %llu}\n", lc->run.stream_count, (unsigned long long)ok);
    fflush(stdout);
}

/* Measuring starts --warmup seconds after the first price anywhere. */
static void start_window_when_due(struct load_run *run, int64_t now)
{
    if (run->measuring || run->stopping || run->first_price_mono_ns == 0) return;
    int64_t due = run->first_price_mono_ns + (int64_t)(run->options->warmup_s * 1e9);
    if (now < due) return;
    run->window_start_mono_ns = now;
    getrusage(RUSAGE_SELF, &run->usage_window);
    run->measuring = 1;
}

static void stop(struct load_run *run, const char *reason)
{
    if (run->stopping) return;
    run->stopping = 1;
    run->measuring = 0;
    run->stop_reason = reason;
    run->window_end_mono_ns = now_mono_ns();
    getrusage(RUSAGE_SELF, &run->usage_end);
}

static void on_signal(struct load_client *lc)
{
    struct signalfd_siginfo info;
    while (read(lc->signal_fd, &info, sizeof info) == sizeof info)
        stop(&lc->run, info.ssi_signo == SIGUSR1 ? "SIGUSR1" : info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
}

static void run_loop(struct load_client *lc, int64_t deadline_ns)
{
    struct epoll_event events[256];
    uint8_t *scratch = allocate(RECV_SCRATCH_BYTES);
    while (!lc->run.stopping) {
        int64_t now = now_mono_ns();
        if (now >= deadline_ns) {
            stop(&lc->run, "duration");
            break;
        }
        int64_t wait_ms = (deadline_ns - now) / 1000000 + 1;
        /* A sleeping reader adds its own wake-up (tens of µs on a VM) to every
           price's latency; spinning leaves only the server's part. */
        int timeout_ms = lc->options.busy_poll ? 0 : wait_ms < LOOP_TICK_MS ? (int)wait_ms : LOOP_TICK_MS;
        int n = epoll_wait(lc->epoll_fd, events, 256, timeout_ms);
        if (n < 0 && errno != EINTR) die("epoll_wait failed");
        for (int i = 0; i < n; i++) {
            struct load_connection *conn = events[i].data.ptr;
            if (conn == NULL) {
                on_signal(lc);
                continue;
            }
            if (connection_on_event(conn, lc->epoll_fd, events[i].events, scratch, RECV_SCRATCH_BYTES) != 0) {
                fprintf(stderr, "tw-load: connection %d to %s:%u failed: %s\n", conn->index, lc->options.host,
                        lc->options.port, conn->failure);
                exit(2);
            }
        }
        /* Once per iteration, as Redis's beforesleep: acks and window updates go out. */
        for (int c = 0; c < lc->connection_count; c++)
            if (lc->connections[c].dirty) connection_flush(&lc->connections[c], lc->epoll_fd);
        report_ready_once(lc);
        start_window_when_due(&lc->run, lc->run.receipt_mono_ns > now ? lc->run.receipt_mono_ns : now);
    }
    free(scratch);
}

/* Returns 1 if a stream or connection ended before the stop. */
static int write_report(struct load_client *lc)
{
    struct report_figures figures;
    report_compute(&lc->run, &figures);
    FILE *out = stdout;
    if (lc->options.json_path != NULL && (out = fopen(lc->options.json_path, "w")) == NULL) {
        fprintf(stderr, "tw-load: cannot write %s: %s\n", lc->options.json_path, strerror(errno));
        out = stdout;
    }
    report_write_json(out, &lc->run, &figures, lc->options.stalled_streams);
    if (out != stdout) fclose(out);
    fflush(stdout);
    report_write_summary(stderr, &lc->run, &figures);
    return figures.ended_early > 0 || lc->run.connections_lost > 0;
}

int main(int argc, char **argv)
{
    static struct load_client lc;
    if (options_parse(&lc.options, argc, argv) != 0) return 2;
    if (lc.options.cpu >= 0) pin_cpu(lc.options.cpu);
    lc.run.start_mono_ns = now_mono_ns();
    getrusage(RUSAGE_SELF, &lc.run.usage_start);
    int64_t deadline_ns = lc.run.start_mono_ns + (int64_t)(lc.options.duration_s * 1e9);

    allocate_everything(&lc);
    if (lc.options.record_path != NULL) {
        lc.run.record = fopen(lc.options.record_path, "w");
        if (lc.run.record == NULL) die("cannot open the --record-batches file");
        setvbuf(lc.run.record, NULL, _IOFBF, 1 << 20);
    }
    open_signals_and_poller(&lc);
    connect_all(&lc);
    run_loop(&lc, deadline_ns);

    for (int c = 0; c < lc.connection_count; c++) connection_close(&lc.connections[c], lc.epoll_fd);
    if (lc.run.record != NULL) fclose(lc.run.record);
    /* The process exits here: the startup allocations go with it. */
    return write_report(&lc);
}

/*
 * loopback_floor: what the kernel alone charges for issue 8's small-message
 * fan-out on this machine, with no gRPC, no HTTP/2 and no server logic.
 *
 * One sender thread writes an 80-byte record (about the size of one framed
 * PriceUpdate) to each of C loopback TCP connections per "trade", R trades a
 * second, one send() per record: the policy of a server that writes every
 * price as soon as it has it. A reader thread on another CPU spins on
 * epoll_wait(0), like tw-load's --busy-poll, and takes each record's latency
 * from the send time written into it. It prints the latency over every
 * (trade, connection) pair, as bench/run.py does over every stream, and the
 * sender's CPU per record (CLOCK_THREAD_CPUTIME_ID: the receiver's TCP
 * processing runs inside the sender's send() on loopback, so it is counted
 * there, as it is for a server).
 *
 *   cc -O2 -o .build-floor/loopback_floor bench/floor/loopback_floor.c -lpthread
 *   .build-floor/loopback_floor --connections 10 --rate 1000 --seconds 10
 *
 * Options: --connections C (1..4096), --rate R trades/s (1..100000),
 * --seconds S (1..120), --sender-cpu N (default 1), --reader-cpu N (default 0).
 * Talks to 127.0.0.1 only; every wait is bounded by --seconds plus 5 s.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { RECORD_BYTES = 80, MAX_CONNECTIONS = 4096, MAX_SAMPLES = 8 * 1000 * 1000 };

struct options {
    int connections, rate, seconds, sender_cpu, reader_cpu;
};

struct reader_state {
    int epoll_fd;
    int *sockets;
    int connections;
    /* Bytes of a record split across reads, per connection. */
    unsigned char (*partial)[RECORD_BYTES];
    int *partial_bytes;
    int64_t *samples;
    size_t sample_count;
    int reader_cpu;
    atomic_bool stop;
};

static int64_t monotonic_ns(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) perror("sched_setaffinity (continuing unpinned)");
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

static int parse_int(const char *text, const char *flag, int low, int high) {
    char *end;
    long value = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || value < low || value > high) {
        fprintf(stderr, "%s '%s': expected an integer in %d..%d\n", flag, text, low, high);
        exit(64);
    }
    return (int)value;
}

static struct options parse(int argc, char **argv) {
    struct options o = {10, 1000, 10, 1, 0};
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (i + 1 >= argc) {
            fprintf(stderr, "%s needs a value (see the comment at the top of loopback_floor.c)\n", flag);
            exit(64);
        }
        const char *value = argv[++i];
        if (!strcmp(flag, "--connections")) o.connections = parse_int(value, flag, 1, MAX_CONNECTIONS);
        else if (!strcmp(flag, "--rate")) o.rate = parse_int(value, flag, 1, 100000);
        else if (!strcmp(flag, "--seconds")) o.seconds = parse_int(value, flag, 1, 120);
        else if (!strcmp(flag, "--sender-cpu")) o.sender_cpu = parse_int(value, flag, 0, 1023);
        else if (!strcmp(flag, "--reader-cpu")) o.reader_cpu = parse_int(value, flag, 0, 1023);
        else {
            fprintf(stderr, "unknown option %s (see the comment at the top of loopback_floor.c)\n", flag);
            exit(64);
        }
    }
    return o;
}

/* Consumes whole records from one connection's bytes, keeping a split tail. */
static void take_records(struct reader_state *r, int index, const unsigned char *bytes, ssize_t count, int64_t now) {
    for (ssize_t at = 0; at < count;) {
        int have = r->partial_bytes[index];
        ssize_t take = RECORD_BYTES - have < count - at ? RECORD_BYTES - have : count - at;
        memcpy(r->partial[index] + have, bytes + at, (size_t)take);
        at += take;
        r->partial_bytes[index] = have + (int)take;
        if (r->partial_bytes[index] < RECORD_BYTES) break;
        int64_t sent;
        memcpy(&sent, r->partial[index], sizeof sent);
        if (r->sample_count < MAX_SAMPLES) r->samples[r->sample_count++] = now - sent;
        r->partial_bytes[index] = 0;
    }
}

static void *read_everything(void *argument) {
    struct reader_state *r = argument;
    pin(r->reader_cpu);
    struct epoll_event events[256];
    unsigned char buffer[65536];
    while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
        int ready = epoll_wait(r->epoll_fd, events, 256, 0);
        for (int e = 0; e < ready; e++) {
            int index = (int)events[e].data.u32;
            for (;;) {
                ssize_t got = recv(r->sockets[index], buffer, sizeof buffer, MSG_DONTWAIT);
                if (got <= 0) break;
                take_records(r, index, buffer, got, monotonic_ns(CLOCK_MONOTONIC));
            }
        }
    }
    return NULL;
}

static int compare_int64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double percentile_us(const int64_t *sorted, size_t count, double p) {
    if (count == 0) return 0;
    size_t index = (size_t)(p * (double)(count - 1));
    return (double)sorted[index] / 1000.0;
}

int main(int argc, char **argv) {
    struct options o = parse(argc, argv);
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) die("socket");
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0) die("bind 127.0.0.1");
    if (getsockname(listener, (struct sockaddr *)&address, &length) != 0) die("getsockname");
    if (listen(listener, MAX_CONNECTIONS) != 0) die("listen");

    int *senders = calloc((size_t)o.connections, sizeof *senders);
    struct reader_state r = {.connections = o.connections, .reader_cpu = o.reader_cpu};
    r.sockets = calloc((size_t)o.connections, sizeof *r.sockets);
    r.partial = calloc((size_t)o.connections, sizeof *r.partial);
    r.partial_bytes = calloc((size_t)o.connections, sizeof *r.partial_bytes);
    r.samples = malloc(sizeof *r.samples * MAX_SAMPLES);
    r.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (!senders || !r.sockets || !r.partial || !r.partial_bytes || !r.samples || r.epoll_fd < 0) die("setup");
    int one = 1;
    for (int i = 0; i < o.connections; i++) {
        r.sockets[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (r.sockets[i] < 0 || connect(r.sockets[i], (struct sockaddr *)&address, sizeof address) != 0) die("connect");
        senders[i] = accept(listener, NULL, NULL);
        if (senders[i] < 0) die("accept");
        setsockopt(senders[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct epoll_event event = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(r.epoll_fd, EPOLL_CTL_ADD, r.sockets[i], &event) != 0) die("epoll_ctl");
    }

    pthread_t reader;
    if (pthread_create(&reader, NULL, read_everything, &r) != 0) die("pthread_create");
    pin(o.sender_cpu);
    unsigned char record[RECORD_BYTES];
    memset(record, 0x5a, sizeof record);
    int64_t interval = 1000000000 / o.rate, trades = (int64_t)o.rate * o.seconds, short_sends = 0;
    int64_t start = monotonic_ns(CLOCK_MONOTONIC) + 100000000, cpu_before = monotonic_ns(CLOCK_THREAD_CPUTIME_ID);
    for (int64_t trade = 0; trade < trades; trade++) {
        int64_t due = start + trade * interval;
        struct timespec until = {.tv_sec = due / 1000000000, .tv_nsec = due % 1000000000};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {}
        int64_t now = monotonic_ns(CLOCK_MONOTONIC);
        memcpy(record, &now, sizeof now);
        for (int i = 0; i < o.connections; i++)
            if (send(senders[i], record, sizeof record, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)sizeof record) short_sends++;
    }
    int64_t cpu_ns = monotonic_ns(CLOCK_THREAD_CPUTIME_ID) - cpu_before;
    int64_t elapsed_ns = monotonic_ns(CLOCK_MONOTONIC) - start;
    int64_t expected = trades * o.connections - short_sends;
    for (int64_t waited = 0; waited < 5000 && (int64_t)r.sample_count < expected && r.sample_count < MAX_SAMPLES; waited++)
        usleep(1000);
    atomic_store(&r.stop, true);
    pthread_join(reader, NULL);

    qsort(r.samples, r.sample_count, sizeof *r.samples, compare_int64);
    printf("{\"connections\":%d,\"trades_per_s\":%d,\"records\":%zu,\"expected\":%lld,\"short_sends\":%lld,"
           "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f},"
           "\"sender_cpu_ns_per_record\":%.0f,\"sender_cpu_share\":%.3f}\n",
           o.connections, o.rate, r.sample_count, (long long)expected, (long long)short_sends,
           percentile_us(r.samples, r.sample_count, 0.50), percentile_us(r.samples, r.sample_count, 0.90),
           percentile_us(r.samples, r.sample_count, 0.99), percentile_us(r.samples, r.sample_count, 0.999),
           percentile_us(r.samples, r.sample_count, 1.0),
           (double)cpu_ns / (double)(trades * o.connections), (double)cpu_ns / (double)elapsed_ns);
    return (int64_t)r.sample_count == expected ? 0 : 1;
}

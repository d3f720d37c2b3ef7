// The only C that Tickwire writes itself: what Swift cannot import from Glibc.
// Glibc's Swift module hides epoll, signalfd and accept4, and errno is
// a macro. Everything here is a thin, allocation-free pass-through.
#ifndef TICKWIRE_SHIM_H
#define TICKWIRE_SHIM_H

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <unistd.h>
#include <time.h>

static inline int tw_errno(void) { return errno; }
// glibc's malloc.h is not part of the Glibc Swift module.
static inline int tw_malloc_trim(void) { return malloc_trim(0); }

// epoll_event is packed on x86_64; these keep Swift from guessing its layout.
static inline int tw_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }
static inline int tw_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event event;
    event.events = events;
    event.data.u64 = token;
    return epoll_ctl(epfd, op, fd, &event);
}
static inline uint64_t tw_epoll_event_token(const struct epoll_event *event) { return event->data.u64; }
static inline uint32_t tw_epoll_event_mask(const struct epoll_event *event) { return event->events; }
static inline size_t tw_epoll_event_size(void) { return sizeof(struct epoll_event); }
// epoll_pwait2 (nanosecond timeout, Linux 5.11) needs _GNU_SOURCE: shim.c.
// timeout_nanos < 0 waits without limit. Falls back to epoll_wait, rounding
// the timeout up to whole milliseconds, where the kernel lacks it (ENOSYS) or
// seccomp refuses it (EPERM); tw_epoll_waits_in_nanoseconds then returns 0.
int tw_epoll_wait_nanos(int epfd, struct epoll_event *events, int maxevents, int64_t timeout_nanos);
int tw_epoll_waits_in_nanoseconds(void);

// accept4 needs _GNU_SOURCE, which must not leak into this header (Swift's
// Glibc module is built without it), so it lives in shim.c.
int tw_accept4(int fd);
static inline int tw_socket_nonblocking(int domain, int type) {
    return socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

// The `--workers` supervisor. pipe2 and CPU_COUNT need _GNU_SOURCE (shim.c);
// wait(2)'s status accessors are macros Swift cannot import.
int tw_pipe_cloexec_nonblocking(int fds[2]);
int tw_affinity_cpu_count(void);
static inline int tw_reap_child_nohang(int *status) { return waitpid(-1, status, WNOHANG); }
static inline int tw_status_exited(int status) { return WIFEXITED(status); }
static inline int tw_status_exit_code(int status) { return WEXITSTATUS(status); }
static inline int tw_status_signaled(int status) { return WIFSIGNALED(status); }
static inline int tw_status_signal(int status) { return WTERMSIG(status); }
// A worker asks for `signo` when its supervisor dies, so it never outlives it.
static inline int tw_set_parent_death_signal(int signo) { return prctl(PR_SET_PDEATHSIG, (unsigned long)signo); }

// Blocks the given signals for this (the only) thread and returns a signalfd
// that reports them instead, so a signal becomes an ordinary reactor event.
static inline int tw_signalfd_for(const int *signals, int count) {
    sigset_t mask;
    sigemptyset(&mask);
    for (int i = 0; i < count; i++) sigaddset(&mask, signals[i]);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0) return -1;
    return signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
}
static inline size_t tw_signalfd_siginfo_size(void) { return sizeof(struct signalfd_siginfo); }
static inline int tw_signalfd_siginfo_signo(const void *info) {
    return (int)((const struct signalfd_siginfo *)info)->ssi_signo;
}
static inline int tw_unblock_signals(const int *signals, int count) {
    sigset_t mask;
    sigemptyset(&mask);
    for (int i = 0; i < count; i++) sigaddset(&mask, signals[i]);
    return sigprocmask(SIG_UNBLOCK, &mask, NULL);
}
static inline void tw_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

static inline int64_t tw_monotonic_nanos(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
static inline int64_t tw_wall_unix_nanos(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline ssize_t tw_sendmsg_nosignal(int fd, struct iovec *iov, int count) {
    struct msghdr message = {0};
    message.msg_iov = iov;
    message.msg_iovlen = (size_t)count;
    return sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static inline int tw_set_int_sockopt(int fd, int level, int name, int value) {
    return setsockopt(fd, level, name, &value, sizeof(value));
}

// nghttp2's two newest flood guards, CONTINUATION (CVE-2024-28182) and rapid
// reset (CVE-2023-44487), arrived after 1.52 and exist in a 1.52 library only
// where the distribution backported them. shim.c references them weakly, so
// the binary links and runs against either library and these report what the
// loaded one offers. An option object is opaque here: this header must not
// pull nghttp2.h into every layer that uses the shim.
struct nghttp2_option;
int tw_nghttp2_has_max_continuations(void);
int tw_nghttp2_has_stream_reset_rate_limit(void);
// Each returns 1 when applied, 0 when the loaded libnghttp2 lacks the option.
int tw_nghttp2_set_max_continuations(struct nghttp2_option *option, size_t limit);
int tw_nghttp2_set_stream_reset_rate_limit(struct nghttp2_option *option, uint64_t burst, uint64_t per_second);

// nghttp2's allocator (nghttp2_memory.c): glibc's malloc behind an
// nghttp2_mem that counts what libnghttp2 holds, and that can lend every
// session one shared frame buffer (see there for why that is sound). One per
// owner (the hub; a test), not thread-safe. `tw_nghttp2_allocator_mem` is
// the nghttp2_mem to pass to nghttp2_session_server_new3, typed void here so
// that this header stays free of nghttp2.h; it lives as long as the
// allocator, which must outlive every session made with it.
typedef struct tw_nghttp2_memory_counts {
    uint64_t live_bytes;          // malloc_usable_size of every live block
    uint64_t live_blocks;
    uint64_t allocations;         // malloc, calloc and realloc calls that succeeded
    uint64_t frame_buffers_lent;  // sessions given the shared frame buffer
    uint64_t encoder_rings_lent;  // sessions given the shared HPACK encoder ring
    uint64_t sessions_placed;     // live sessions whose fixed blocks are in the session pages
} tw_nghttp2_memory_counts;
typedef struct tw_nghttp2_allocator tw_nghttp2_allocator;
// share_encoder_ring only for sessions whose encoder table is 0
// (nghttp2_option_set_max_deflate_dynamic_table_size(0)): see nghttp2_memory.c.
// session_slots: how many sessions' fixed blocks the session pages reserve
// room for (nghttp2_session_pages.c); later sessions' go to malloc, 0 = none.
tw_nghttp2_allocator *tw_nghttp2_allocator_new(int share_frame_buffer, int share_encoder_ring, size_t session_slots);
void tw_nghttp2_allocator_del(tw_nghttp2_allocator *allocator);
void *tw_nghttp2_allocator_mem(tw_nghttp2_allocator *allocator);
tw_nghttp2_memory_counts tw_nghttp2_allocator_counts(const tw_nghttp2_allocator *allocator);
// Set around nghttp2_session_server_new3 only: the frame buffer and the
// encoder ring the new session asks for are then the shared ones, and its
// session struct, stream map and decoder ring go to the session pages.
void tw_nghttp2_allocator_creating_session(tw_nghttp2_allocator *allocator, int creating);
// The session pages' reserved range (NULL, 0 when there are none), for tests
// and tools that read its RSS from /proc/self/smaps.
void *tw_nghttp2_allocator_session_pages(const tw_nghttp2_allocator *allocator, size_t *bytes);
// 1 while no session has written into the shared encoder ring (debug checks).
int tw_nghttp2_allocator_encoder_ring_untouched(const tw_nghttp2_allocator *allocator);
// Overwrites the shared frame buffer (debug builds, after every fill): a
// session that read back bytes it had returned would send garbage, and the
// tests would see it.
void tw_nghttp2_allocator_scribble_frame_buffer(tw_nghttp2_allocator *allocator);

// The header gate (issue 20, item 1): nghttp2 hands every decoded header
// field to tw_header_gate_on_header, which weighs it against what its block
// weighed on the wire before anything else happens. Fields of a request past
// the header list limit are counted here and never reach Swift (the stream is
// refused with 431 anyway): an HPACK bomb decodes to hundreds of megabytes of
// fields, and a call into Swift per field cost ~200 ms of the loop per block.
// A block that decodes to more than the limit plus `bomb_ratio` times its
// wire bytes fails the session with `bomb_result`. One gate per connection is
// nghttp2's user_data; `connection` is what the Swift callbacks get. The types
// are nghttp2-free on purpose: this header must not pull nghttp2.h into every
// layer that uses the shim, so the callback pointers are cast at the edge.
typedef int (*tw_header_forward)(void *session, const void *frame, const uint8_t *name, size_t name_length,
                                 const uint8_t *value, size_t value_length, uint8_t flags, void *connection);
// The 64-bit fields first, then the 32-bit ones: 56 bytes, one malloc size
// class below the 64 a mixed order took, in every connection.
typedef struct tw_header_gate {
    void *connection;
    tw_header_forward forward;
    int64_t list_limit_bytes;
    int64_t wire_bytes;
    int64_t decoded_bytes;
    int32_t bomb_ratio;
    int bomb_result;
    // The block in progress is a request's header list (not trailers): its
    // fields past the limit stop here.
    int32_t stops_past_limit;
    int32_t exploded;
} tw_header_gate;

enum { TW_HEADER_RECORD = 0, TW_HEADER_SKIP = 1, TW_HEADER_BOMB = 2 };

// Counts one field (RFC 7541 §4.1: name + value + 32) and says what to do with it.
static inline int tw_header_gate_admit(tw_header_gate *gate, size_t name_length, size_t value_length) {
    int64_t before = gate->decoded_bytes;
    gate->decoded_bytes += (int64_t)name_length + (int64_t)value_length + 32;
    if (gate->decoded_bytes > gate->list_limit_bytes + gate->bomb_ratio * gate->wire_bytes) {
        gate->exploded = 1;
        return TW_HEADER_BOMB;
    }
    return before <= gate->list_limit_bytes ? TW_HEADER_RECORD : TW_HEADER_SKIP;
}

// nghttp2's on_header callback (cast to nghttp2_on_header_callback in Swift).
int tw_header_gate_on_header(void *session, const void *frame, const uint8_t *name, size_t name_length,
                             const uint8_t *value, size_t value_length, uint8_t flags, void *user_data);

#endif

#define _GNU_SOURCE 1
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tickwire_shim.h"

int tw_accept4(int fd) {
    return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

// Zero once epoll_pwait2 answered ENOSYS (a kernel before 5.11) or EPERM (a
// seccomp profile that predates it): every later wait goes to epoll_wait.
// One thread only, so a plain static.
static int epoll_pwait2_usable = 1;

int tw_epoll_waits_in_nanoseconds(void) { return epoll_pwait2_usable; }

int tw_epoll_wait_nanos(int epfd, struct epoll_event *events, int maxevents, int64_t timeout_nanos) {
    if (epoll_pwait2_usable) {
        struct timespec timeout;
        timeout.tv_sec = timeout_nanos >= 0 ? (time_t)(timeout_nanos / 1000000000LL) : 0;
        timeout.tv_nsec = timeout_nanos >= 0 ? (long)(timeout_nanos % 1000000000LL) : 0;
        int count = epoll_pwait2(epfd, events, maxevents, timeout_nanos >= 0 ? &timeout : NULL, NULL);
        if (count >= 0 || (errno != ENOSYS && errno != EPERM)) return count;
        epoll_pwait2_usable = 0;
    }
    int timeout_ms = -1;
    if (timeout_nanos >= 0) {
        int64_t ms = (timeout_nanos + 999999LL) / 1000000LL;  // up: never wake early and spin
        timeout_ms = ms > INT32_MAX ? INT32_MAX : (int)ms;
    }
    return epoll_wait(epfd, events, maxevents, timeout_ms);
}

int tw_pipe_cloexec_nonblocking(int fds[2]) {
    return pipe2(fds, O_CLOEXEC | O_NONBLOCK);
}

// The CPUs this process may run on (taskset, cgroup cpusets), not all online ones.
int tw_affinity_cpu_count(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
    return CPU_COUNT(&set);
}

// Declared here rather than taken from nghttp2.h, and weak: a build against
// an unpatched 1.52 header still compiles (neither name is declared there, and
// its version number is the same as the patched one's, so no #if can tell
// them apart), and the dynamic loader sets each address to NULL when the
// libnghttp2 it loads lacks the symbol. Nothing else is needed from nghttp2,
// so this file does not include its header and cannot clash with it.
struct nghttp2_option;
extern void nghttp2_option_set_max_continuations(struct nghttp2_option *option, size_t val)
    __attribute__((weak));
extern void nghttp2_option_set_stream_reset_rate_limit(struct nghttp2_option *option, uint64_t burst,
                                                       uint64_t rate) __attribute__((weak));

int tw_nghttp2_has_max_continuations(void) {
    return nghttp2_option_set_max_continuations != NULL;
}

int tw_nghttp2_has_stream_reset_rate_limit(void) {
    return nghttp2_option_set_stream_reset_rate_limit != NULL;
}

int tw_nghttp2_set_max_continuations(struct nghttp2_option *option, size_t limit) {
    if (nghttp2_option_set_max_continuations == NULL) return 0;
    nghttp2_option_set_max_continuations(option, limit);
    return 1;
}

int tw_nghttp2_set_stream_reset_rate_limit(struct nghttp2_option *option, uint64_t burst, uint64_t per_second) {
    if (nghttp2_option_set_stream_reset_rate_limit == NULL) return 0;
    nghttp2_option_set_stream_reset_rate_limit(option, burst, per_second);
    return 1;
}

int tw_header_gate_on_header(void *session, const void *frame, const uint8_t *name, size_t name_length,
                             const uint8_t *value, size_t value_length, uint8_t flags, void *user_data) {
    tw_header_gate *gate = user_data;
    switch (tw_header_gate_admit(gate, name_length, value_length)) {
    case TW_HEADER_BOMB:
        return gate->bomb_result;
    case TW_HEADER_SKIP:
        if (gate->stops_past_limit) return 0;
        break;
    default:
        break;
    }
    return gate->forward(session, frame, name, name_length, value, value_length, flags, gate->connection);
}

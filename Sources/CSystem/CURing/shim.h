// liburing for the reactor's io_uring readiness backend (UringPoller).
// Most of liburing's queue handling is static inline in its header; these
// wrappers fold "get an SQE, prepare it, tag it" into one call and copy CQEs
// out, so the Swift side never walks ring pointers itself.
#ifndef TICKWIRE_URING_SHIM_H
#define TICKWIRE_URING_SHIM_H

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <liburing.h>

// POLLRDHUP needs _GNU_SOURCE, which must not leak into Swift's Glibc module.
#define TW_URING_POLLRDHUP 0x2000

// What one completion said: the tag we gave its SQE and its result.
struct tw_uring_completion {
    uint64_t user_data;
    int32_t res;
    uint32_t flags;
};

// Returns 0, or -errno from io_uring_setup (ENOSYS: no io_uring; EPERM: a
// seccomp profile or kernel.io_uring_disabled forbids it; ENOMEM: memlock).
static inline int tw_uring_init(struct io_uring *ring, unsigned entries) {
    memset(ring, 0, sizeof(*ring));
    return io_uring_queue_init(entries, ring, 0);
}

static inline unsigned tw_uring_features(const struct io_uring *ring) { return ring->features; }

// 1 when the kernel implements both opcodes a readiness backend needs.
static inline int tw_uring_supports_poll(struct io_uring *ring) {
    struct io_uring_probe *probe = io_uring_get_probe_ring(ring);
    if (probe == NULL) return 0;
    int supported = io_uring_opcode_supported(probe, IORING_OP_POLL_ADD)
        && io_uring_opcode_supported(probe, IORING_OP_POLL_REMOVE);
    io_uring_free_probe(probe);
    return supported;
}

// A single-shot poll for `mask` on fd. -EBUSY when the submission queue is full.
static inline int tw_uring_queue_poll_add(struct io_uring *ring, int fd, unsigned mask, uint64_t user_data) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (sqe == NULL) return -EBUSY;
    io_uring_prep_poll_add(sqe, fd, mask);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

// Cancels the poll tagged `target`; its own completion carries `user_data`.
static inline int tw_uring_queue_poll_remove(struct io_uring *ring, uint64_t target, uint64_t user_data) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (sqe == NULL) return -EBUSY;
    io_uring_prep_poll_remove(sqe, target);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

static inline unsigned tw_uring_sq_ready(const struct io_uring *ring) { return io_uring_sq_ready(ring); }

// Submits what is queued without waiting (the submission queue was full).
static inline int tw_uring_submit(struct io_uring *ring) { return io_uring_submit(ring); }

// Submits everything queued and waits for at least one completion, in one
// io_uring_enter when the kernel has IORING_FEAT_EXT_ARG. timeout_nanos < 0
// waits without limit. Returns >= 0, or -ETIME / -EINTR / another -errno.
static inline int tw_uring_submit_and_wait(struct io_uring *ring, int64_t timeout_nanos) {
    if (timeout_nanos < 0) return io_uring_submit_and_wait(ring, 1);
    struct __kernel_timespec ts;
    ts.tv_sec = timeout_nanos / 1000000000LL;
    ts.tv_nsec = timeout_nanos % 1000000000LL;
    struct io_uring_cqe *cqe = NULL;
    return io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, NULL);
}

// Copies up to `capacity` completions out of the ring and marks them seen.
static inline unsigned tw_uring_drain(struct io_uring *ring, struct tw_uring_completion *out, unsigned capacity) {
    unsigned count = 0;
    unsigned head;
    struct io_uring_cqe *cqe;
    io_uring_for_each_cqe(ring, head, cqe) {
        if (count == capacity) break;
        out[count].user_data = cqe->user_data;
        out[count].res = cqe->res;
        out[count].flags = cqe->flags;
        count++;
    }
    io_uring_cq_advance(ring, count);
    return count;
}

static inline void tw_uring_exit(struct io_uring *ring) { io_uring_queue_exit(ring); }

// A ring for sends only: one issuer, completions delivered when we wait
// (Linux 6.0); older kernels refuse the flags and get a plain ring.
static inline int tw_uring_init_for_sends(struct io_uring *ring, unsigned entries) {
    memset(ring, 0, sizeof(*ring));
#if defined(IORING_SETUP_SINGLE_ISSUER) && defined(IORING_SETUP_COOP_TASKRUN)
    int result = io_uring_queue_init(entries, ring, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN);
    if (result != -EINVAL) return result;
    memset(ring, 0, sizeof(*ring));
#endif
    return io_uring_queue_init(entries, ring, 0);
}

// 1 when the kernel implements IORING_OP_SEND (Linux 5.6).
static inline int tw_uring_supports_send(struct io_uring *ring) {
    struct io_uring_probe *probe = io_uring_get_probe_ring(ring);
    if (probe == NULL) return 0;
    int supported = io_uring_opcode_supported(probe, IORING_OP_SEND);
    io_uring_free_probe(probe);
    return supported;
}

// A send that never waits for room and never raises SIGPIPE: a full socket
// completes at once with -EAGAIN (MSG_DONTWAIT makes the request NOWAIT, so
// the kernel does not park it on an internal poll), which keeps the bytes'
// lifetime to the submitting call. -EBUSY when the submission queue is full.
static inline int tw_uring_queue_send(struct io_uring *ring, int fd, const void *bytes, size_t count,
                                      uint64_t user_data) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (sqe == NULL) return -EBUSY;
    io_uring_prep_send(sqe, fd, bytes, count, MSG_DONTWAIT | MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

// 1 when a MSG_DONTWAIT send to a full socket completes at once with -EAGAIN,
// as UringSendBatch relies on; 0 when the kernel parks it on an internal poll
// instead (it has no NOWAIT for sends), or when the probe cannot be made. Uses
// a socket pair filled to the brim, and waits at most a second. The ring must
// be empty; it is empty again afterwards unless the answer is 0, in which case
// the caller must exit it (which cancels the parked send).
static inline int tw_uring_probe_nowait_send(struct io_uring *ring) {
    static const char byte = 0;  // static: a parked send may outlive this call
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) return 0;
    int small = 4096;
    (void)setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    char filler[4096];
    memset(filler, 0, sizeof(filler));
    int full = 0;
    for (int i = 0; i < 4096 && !full; i++) {
        if (send(fds[0], filler, sizeof(filler), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) full = (errno == EAGAIN);
    }
    int answer = 0;
    struct io_uring_sqe *sqe = full ? io_uring_get_sqe(ring) : NULL;
    if (sqe != NULL) {
        io_uring_prep_send(sqe, fds[0], &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        io_uring_sqe_set_data64(sqe, 0);
        struct __kernel_timespec second = { .tv_sec = 1, .tv_nsec = 0 };
        struct io_uring_cqe *cqe = NULL;
        if (io_uring_submit_and_wait_timeout(ring, &cqe, 1, &second, NULL) >= 0 && cqe != NULL) {
            answer = cqe->res == -EAGAIN;
            io_uring_cqe_seen(ring, cqe);
        }
    }
    close(fds[0]);
    close(fds[1]);
    return answer;
}

// Submits what is queued and waits until `count` completions are ready.
static inline int tw_uring_submit_and_wait_for(struct io_uring *ring, unsigned count) {
    return io_uring_submit_and_wait(ring, count);
}


#endif

#include "connection.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "load_run.h"
#include "load_stream.h"
#include "message_sink.h"

/* Large windows so that flow control never paces the server: nghttp2 sends
   WINDOW_UPDATE on its own once half of a window is consumed. */
#define STREAM_WINDOW_BYTES (16 * 1024 * 1024)
#define CONNECTION_WINDOW_BYTES (64 * 1024 * 1024)
/* Reads per readiness event before the loop moves to other connections. */
#define READS_PER_EVENT 4
/* A stalled connection's receive buffer: small, so the server's queue fills. */
#define STALLED_RCVBUF_BYTES 4096

static void fail(struct load_connection *c, const char *what, const char *detail)
{
    if (c->failure[0] == '\0') snprintf(c->failure, sizeof c->failure, "%s: %s", what, detail);
}

/* ---- stream ends -------------------------------------------------------- */

static struct load_stream *stream_by_id(struct load_connection *c, int32_t stream_id)
{
    if (stream_id <= 0 || (stream_id & 1) == 0) return NULL;
    int32_t k = (stream_id - 1) / 2;
    if (k >= c->stream_count || c->streams[k]->stream_id != stream_id) return NULL;
    return c->streams[k];
}

static void end_stream(struct load_stream *s, enum stream_end how, int code)
{
    if (s->end != STREAM_OPEN || s->run->stopping) return;
    s->end = how;
    s->end_code = code;
    s->end_during_run = 1;
}

static void end_open_streams(struct load_connection *c)
{
    for (int k = 0; k < c->stream_count; k++) end_stream(c->streams[k], STREAM_CONNECTION_LOST, 0);
}

/* ---- nghttp2 callbacks: counting and bookkeeping only, no I/O ------------ */

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user_data)
{
    (void)session;
    (void)flags;
    struct load_stream *s = stream_by_id(user_data, stream_id);
    if (s != NULL) grpc_deframer_feed(&s->deframer, data, len, message_sink_take, s);
    return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
    (void)session;
    (void)flags;
    struct load_stream *s = stream_by_id(user_data, frame->hd.stream_id);
    if (s == NULL || namelen != 11 || memcmp(name, "grpc-status", 11) != 0) return 0;
    int code = 0;
    for (size_t i = 0; i < valuelen && value[i] >= '0' && value[i] <= '9'; i++) code = code * 10 + (value[i] - '0');
    s->grpc_status = code;
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    (void)session;
    struct load_connection *c = user_data;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        c->goaway_received = 1;
        c->run->goaways++;
        c->run->goaway_last_error = (int)frame->goaway.error_code;
    }
    return 0;
}

static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    (void)session;
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    struct load_stream *s = stream_by_id(user_data, frame->hd.stream_id);
    if (s != NULL) s->opened = 1;
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
    (void)session;
    struct load_connection *c = user_data;
    struct load_stream *s = stream_by_id(c, stream_id);
    if (s == NULL) return 0;
    if (s->grpc_status >= 0) end_stream(s, STREAM_GRPC_STATUS, s->grpc_status);
    else if (c->goaway_received) end_stream(s, STREAM_GOAWAY, (int)error_code);
    else end_stream(s, STREAM_RESET, (int)error_code);
    return 0;
}

/* The request body: the stream's SUBSCRIBEs, then nothing, with the request
   side left open (DEFERRED, never EOF) as a client that may subscribe later. */
static ssize_t read_request(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                            uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
    (void)session;
    (void)stream_id;
    (void)data_flags;
    (void)user_data;
    struct load_stream *s = source->ptr;
    size_t left = s->request_len - s->request_sent;
    if (left == 0) return NGHTTP2_ERR_DEFERRED;
    size_t n = left < length ? left : length;
    memcpy(buf, s->request + s->request_sent, n);
    s->request_sent += (uint32_t)n;
    return (ssize_t)n;
}

/* ---- session setup ------------------------------------------------------- */

static int create_session(struct load_connection *c)
{
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0) return -1;
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    int rv = nghttp2_session_client_new(&c->session, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (rv != 0) return -1;
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW_BYTES},
    };
    if (nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings, 2) != 0) return -1;
    return nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, CONNECTION_WINDOW_BYTES);
}

#define HEADER(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE}

static int submit_streams(struct load_connection *c)
{
    char authority[80];
    snprintf(authority, sizeof authority, "%s:%u", c->run->options->host, c->run->options->port);
    nghttp2_nv headers[] = {
        HEADER(":method", "POST"),
        HEADER(":scheme", "http"),
        HEADER(":path", "/tickwire.v1.PriceStream/StreamPrices"),
        {(uint8_t *)":authority", (uint8_t *)authority, 10, strlen(authority), NGHTTP2_NV_FLAG_NONE},
        HEADER("content-type", "application/grpc"),
        HEADER("te", "trailers"),
    };
    for (int k = 0; k < c->stream_count; k++) {
        struct load_stream *s = c->streams[k];
        nghttp2_data_provider body = {.source.ptr = s, .read_callback = read_request};
        int32_t id = nghttp2_submit_request(c->session, NULL, headers, sizeof headers / sizeof headers[0],
                                            &body, s);
        if (id < 0) {
            fail(c, "submit_request", nghttp2_strerror(id));
            return -1;
        }
        s->stream_id = id;
        if (stream_by_id(c, id) != s) {              /* ids must be 1, 3, 5... in submit order */
            fail(c, "submit_request", "unexpected stream id");
            return -1;
        }
    }
    return 0;
}

/* ---- socket -------------------------------------------------------------- */

static void set_interest(struct load_connection *c, int epoll_fd, uint32_t want)
{
    if (want == c->interest) return;
    struct epoll_event ev = {.events = want, .data.ptr = c};
    epoll_ctl(epoll_fd, c->interest == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd, &ev);
    c->interest = want;
}

static void close_socket(struct load_connection *c, int epoll_fd)
{
    if (c->phase == CONNECTION_CLOSED) return;
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->interest = 0;
    c->phase = CONNECTION_CLOSED;
    end_open_streams(c);
}

static void lose(struct load_connection *c, int epoll_fd, const char *what, const char *detail)
{
    fail(c, what, detail);
    if (!c->run->stopping) c->run->connections_lost++;
    close_socket(c, epoll_fd);
}

int connection_start(struct load_connection *c, int epoll_fd, const char *host, uint16_t port)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        fail(c, "socket", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c->stalled) {
        int small = STALLED_RCVBUF_BYTES;
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, host, &addr.sin_addr);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) != 0 && errno != EINPROGRESS) {
        fail(c, "connect", strerror(errno));
        close(c->fd);
        c->phase = CONNECTION_CLOSED;
        return -1;
    }
    c->phase = CONNECTION_CONNECTING;
    set_interest(c, epoll_fd, EPOLLOUT);
    return 0;
}

static int finish_connect(struct load_connection *c, int epoll_fd)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
        fail(c, "connect", strerror(err));
        close_socket(c, epoll_fd);
        return -1;
    }
    if (create_session(c) != 0 || submit_streams(c) != 0) {
        fail(c, "nghttp2 session setup", "failed");
        close_socket(c, epoll_fd);
        return -1;
    }
    c->phase = CONNECTION_OPEN;
    connection_flush(c, epoll_fd);
    return 0;
}

static void read_socket(struct load_connection *c, int epoll_fd, uint8_t *scratch, size_t cap)
{
    struct load_run *run = c->run;
    for (int i = 0; i < READS_PER_EVENT && c->phase == CONNECTION_OPEN; i++) {
        ssize_t n = recv(c->fd, scratch, cap, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n < 0) return lose(c, epoll_fd, "recv", strerror(errno));
        if (n == 0) return lose(c, epoll_fd, "recv", "closed by the server");
        run->receipt_real_ns = now_real_ns();
        run->receipt_mono_ns = now_mono_ns();
        run->bytes_total += (uint64_t)n;
        if (run->measuring) run->bytes_window += (uint64_t)n;
        ssize_t used = nghttp2_session_mem_recv(c->session, scratch, (size_t)n);
        if (used < 0) return lose(c, epoll_fd, "nghttp2_session_mem_recv", nghttp2_strerror((int)used));
        if ((size_t)n < cap) return;                 /* drained: skip the EAGAIN round trip */
    }
}

int connection_on_event(struct load_connection *c, int epoll_fd, uint32_t events,
                        uint8_t *scratch, size_t scratch_len)
{
    if (c->phase == CONNECTION_CONNECTING) return finish_connect(c, epoll_fd);
    if (c->phase != CONNECTION_OPEN) return 0;
    if (c->stalled && (events & (EPOLLERR | EPOLLHUP))) lose(c, epoll_fd, "stalled connection", "closed");
    else if (!c->stalled && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) read_socket(c, epoll_fd, scratch, scratch_len);
    c->dirty = 1;                                    /* acks and window updates to send */
    return 0;
}

/* 1: all written; 0: the socket is full; -1: lost. */
static int write_pending(struct load_connection *c, int epoll_fd)
{
    while (c->pending_off < c->pending_len) {
        ssize_t n = send(c->fd, c->pending + c->pending_off, c->pending_len - c->pending_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        if (n < 0) {
            lose(c, epoll_fd, "send", strerror(errno));
            return -1;
        }
        c->pending_off += (size_t)n;
    }
    c->pending_off = c->pending_len = 0;
    return 1;
}

void connection_flush(struct load_connection *c, int epoll_fd)
{
    c->dirty = 0;
    if (c->phase != CONNECTION_OPEN) return;
    int written;
    while ((written = write_pending(c, epoll_fd)) == 1) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(c->session, &data);
        if (n < 0) return lose(c, epoll_fd, "nghttp2_session_mem_send", nghttp2_strerror((int)n));
        if (n == 0) break;
        if ((size_t)n > CONNECTION_PENDING_BYTES) return lose(c, epoll_fd, "mem_send", "chunk over the pending buffer");
        memcpy(c->pending, data, (size_t)n);         /* mem_send's bytes live until its next call */
        c->pending_len = (size_t)n;
    }
    if (written < 0 || c->phase != CONNECTION_OPEN) return;
    uint32_t want = (c->stalled ? 0 : EPOLLIN) | (c->pending_len > 0 ? EPOLLOUT : 0);
    /* A stalled connection with nothing to write still needs a registration
       for errors; EPOLLERR and EPOLLHUP are always reported. */
    set_interest(c, epoll_fd, want == 0 ? EPOLLET : want);
}

void connection_close(struct load_connection *c, int epoll_fd)
{
    if (c->phase == CONNECTION_OPEN) {
        nghttp2_session_terminate_session(c->session, NGHTTP2_NO_ERROR);
        connection_flush(c, epoll_fd);
    }
    if (c->phase != CONNECTION_CLOSED) close_socket(c, epoll_fd);
    if (c->session != NULL) nghttp2_session_del(c->session);
    c->session = NULL;
}

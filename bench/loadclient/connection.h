/* One h2c connection (prior knowledge) and its nghttp2 client session. The
   session never touches the socket: bytes go in through mem_recv and come
   out through mem_send into a bounded pending buffer; the loop owns the fd. */
#ifndef TW_CONNECTION_H
#define TW_CONNECTION_H

#include <stddef.h>
#include <stdint.h>

struct load_run;
struct load_stream;
typedef struct nghttp2_session nghttp2_session;

#define CONNECTION_PENDING_BYTES (64 * 1024)

/* Where a connection is in its life. */
enum connection_phase {
    CONNECTION_CONNECTING = 0,   /* non-blocking connect in flight */
    CONNECTION_OPEN,             /* session running */
    CONNECTION_CLOSED,           /* socket closed; streams ended */
};

struct load_connection {
    struct load_run *run;
    int index;
    int fd;
    int stalled;                 /* never reads after connecting: a slow consumer */
    enum connection_phase phase;
    uint32_t interest;           /* epoll events registered */
    int dirty;                   /* queued for the end-of-iteration flush */
    int goaway_received;
    nghttp2_session *session;
    struct load_stream **streams;/* in submit order: stream id 2k+1 is streams[k] */
    int stream_count;
    uint8_t *pending;            /* CONNECTION_PENDING_BYTES: what send() did not take */
    size_t pending_len;
    size_t pending_off;
    char failure[160];           /* why it closed, when it did not close cleanly */
};

/* Starts a non-blocking connect to host:port and registers with epoll. -1 with
   `failure` set if it failed at once. */
int connection_start(struct load_connection *c, int epoll_fd, const char *host, uint16_t port);

/* The socket is writable or readable: finish connecting, read, write. Returns
   -1 if connecting failed (the run cannot go on). */
int connection_on_event(struct load_connection *c, int epoll_fd, uint32_t events,
                        uint8_t *scratch, size_t scratch_len);

/* Writes what the session has to say; updates epoll interest. */
void connection_flush(struct load_connection *c, int epoll_fd);

/* GOAWAY(NO_ERROR), best-effort flush, close. Streams still open stay STREAM_OPEN. */
void connection_close(struct load_connection *c, int epoll_fd);

#endif

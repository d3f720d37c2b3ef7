// nghttp2's allocator (issue 22, item 3): glibc's malloc, counted, with one
// frame buffer shared by every session. Each session gets the allocator's
// nghttp2_mem (nghttp2 copies the struct, and every block a session allocates
// goes through the copy), so the counts are what libnghttp2 holds for the
// sessions of one owner: the figure the memory table in docs/performance.md
// is built from, and what a test can check returns to zero once every
// session is deleted.
//
// The shared frame buffer. A 1.52 session allocates a 16,394-byte buffer
// (NGHTTP2_FRAMEBUF_CHUNKLEN) when it is created and keeps it for life: it
// serializes each outgoing frame there and nghttp2_session_mem_send returns
// a pointer into it. Tickwire copies those bytes into the connection's
// output buffer before anything else runs, and on the mem_send path nghttp2
// never reads back bytes it has returned (its buffer positions are per
// session; only the bytes would be shared). So the one buffer serves every
// session, and a connection no longer pays the page of it that its frames
// touched (~4 KiB of RSS each). Only the buffer asked for while
// `lending` is set (session creation) is the shared one; any later block of
// that size (the extra chunks of a header block over 16 KiB) is private,
// and a realloc of the shared one moves to a private block. If a send path
// ever keeps a pointer returned by mem_send (or given to a
// send_data_callback) past the call, create the allocator with
// `share_frame_buffer` 0.
//
// The shared encoder ring. A 1.52 session also sizes the ring of each HPACK table
// for HTTP/2's 4,096-byte table when it is created (hd_context_init:
// 128 entry pointers, 1,024 bytes), whatever table it is told to use. With
// our encoder's table at 0 (GRPCLimits.responseHeaderTableBytes), the
// deflater never indexes a header (hd_deflate_decide_indexing refuses every
// entry larger than 3/4 of 0), so its ring is never read or written: every
// session can be handed the same block. It is the first block of that size
// a session asks for (nghttp2_hd_deflate_init2 runs before the inflater's
// init in session_new), so, as for the frame buffer, only the first such
// block asked for while `lending` is set is the shared one. The block is
// filled with a pattern, and debug builds check it is still there
// (tw_nghttp2_allocator_encoder_ring_untouched): a libnghttp2 that wrote
// into it would fail the tests.
//
// The session pages. The session struct, stream map and HPACK decoder ring
// a session asks for while it is created are placed by
// nghttp2_session_pages.c, so that the 4,080 bytes of its stream map that a
// one-stream connection never writes cost no RSS (see there).
//
// Not thread-safe, like everything on the loop: one allocator per owner.
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "nghttp2_session_pages.h"
#include "tickwire_shim.h"

// NGHTTP2_FRAMEBUF_CHUNKLEN in 1.52's lib/nghttp2_frame.h: a frame header,
// a pad length byte and the largest default payload.
#define FRAME_BUFFER_BYTES (9 + 1 + 16384)
// hd_ringbuf_init's block for NGHTTP2_HD_DEFAULT_MAX_BUFFER_SIZE (4,096) /
// NGHTTP2_HD_ENTRY_OVERHEAD (32) entries, rounded up to a power of two.
#define ENCODER_RING_BYTES (128 * sizeof(void *))
#define ENCODER_RING_PATTERN 0xa5

struct tw_nghttp2_allocator {
    nghttp2_mem mem;  // first, so a pointer to the allocator is one to its mem
    tw_nghttp2_memory_counts counts;
    unsigned char *shared_frame_buffer;  // NULL when not sharing
    unsigned char *shared_encoder_ring;  // NULL when not sharing
    int lending;  // the next FRAME_BUFFER_BYTES block asked for is the shared one
    int lending_ring;  // the next ENCODER_RING_BYTES block asked for is the shared one
    tw_session_pages pages;
};

// A shared block, if `size` is what a session being created asks for.
static void *lend(tw_nghttp2_allocator *allocator, size_t size) {
    if (allocator->lending && size == FRAME_BUFFER_BYTES && allocator->shared_frame_buffer != NULL) {
        allocator->lending = 0;
        allocator->counts.frame_buffers_lent += 1;
        return allocator->shared_frame_buffer;
    }
    if (allocator->lending_ring && size == ENCODER_RING_BYTES && allocator->shared_encoder_ring != NULL) {
        allocator->lending_ring = 0;
        allocator->counts.encoder_rings_lent += 1;
        return allocator->shared_encoder_ring;
    }
    return NULL;
}

static int is_shared(const tw_nghttp2_allocator *allocator, const void *block) {
    return block != NULL && (block == allocator->shared_frame_buffer || block == allocator->shared_encoder_ring);
}

// Blocks are weighed by malloc_usable_size: what glibc really set aside,
// which is what the process's RSS pays, rather than what was asked for.
static void count_block(tw_nghttp2_allocator *allocator, void *block) {
    if (block == NULL) return;
    allocator->counts.live_bytes += malloc_usable_size(block);
    allocator->counts.live_blocks += 1;
    allocator->counts.allocations += 1;
}

// A block from the session pages weighs what it was asked for: the pages
// hold it with no header and no rounding.
static void count_placed(tw_nghttp2_allocator *allocator, void *block, size_t bytes) {
    if (block == NULL) return;
    allocator->counts.live_bytes += bytes;
    allocator->counts.live_blocks += 1;
    allocator->counts.allocations += 1;
}

static void uncount_block(tw_nghttp2_allocator *allocator, void *block) {
    if (block == NULL) return;
    allocator->counts.live_bytes -= malloc_usable_size(block);
    allocator->counts.live_blocks -= 1;
}

static void *counted_malloc(size_t size, void *user_data) {
    tw_nghttp2_allocator *allocator = user_data;
    void *lent = lend(allocator, size);
    if (lent != NULL) return lent;
    void *placed = tw_session_pages_take(&allocator->pages, size, 0);
    if (placed != NULL) {
        count_placed(allocator, placed, size);
        return placed;
    }
    void *block = malloc(size);
    count_block(allocator, block);
    return block;
}

static void counted_free(void *block, void *user_data) {
    tw_nghttp2_allocator *allocator = user_data;
    if (block == NULL || is_shared(allocator, block)) return;
    size_t placed = tw_session_pages_block_size(&allocator->pages, block);
    if (placed != 0) {
        allocator->counts.live_bytes -= placed;
        allocator->counts.live_blocks -= 1;
        tw_session_pages_give_back(&allocator->pages, block);
        return;
    }
    uncount_block(allocator, block);
    free(block);
}

static void *counted_calloc(size_t count, size_t size, void *user_data) {
    tw_nghttp2_allocator *allocator = user_data;
    size_t bytes;
    if (!__builtin_mul_overflow(count, size, &bytes)) {
        void *placed = tw_session_pages_take(&allocator->pages, bytes, 1);
        if (placed != NULL) {
            count_placed(allocator, placed, bytes);
            return placed;
        }
    }
    void *block = calloc(count, size);
    count_block(allocator, block);
    return block;
}

static void *counted_realloc(void *block, size_t size, void *user_data) {
    tw_nghttp2_allocator *allocator = user_data;
    size_t placed = tw_session_pages_block_size(&allocator->pages, block);
    if (block == NULL) {
        void *lent = lend(allocator, size);
        if (lent != NULL) return lent;
    } else if (is_shared(allocator, block)) {
        // Growing it: the session moves to a block of its own.
        size_t held = block == allocator->shared_frame_buffer ? FRAME_BUFFER_BYTES : ENCODER_RING_BYTES;
        void *own = counted_malloc(size, allocator);
        if (own != NULL) memcpy(own, block, size < held ? size : held);
        return own;
    } else if (placed != 0) {
        // A placed block keeps its size: a new one from malloc takes its bytes.
        if (size == 0) {
            counted_free(block, allocator);
            return NULL;
        }
        void *own = malloc(size);
        if (own == NULL) return NULL;  // the old block is still live, and counted
        count_block(allocator, own);
        memcpy(own, block, size < placed ? size : placed);
        counted_free(block, allocator);
        return own;
    }
    if (block != NULL && size == 0) {  // glibc frees it and returns NULL
        counted_free(block, allocator);
        return NULL;
    }
    size_t before = block ? malloc_usable_size(block) : 0;
    void *moved = realloc(block, size);
    if (moved == NULL) return NULL;  // the old block is still live, and counted
    if (block == NULL) {
        count_block(allocator, moved);
    } else {
        allocator->counts.live_bytes += malloc_usable_size(moved) - before;
        allocator->counts.allocations += 1;
    }
    return moved;
}

tw_nghttp2_allocator *tw_nghttp2_allocator_new(int share_frame_buffer, int share_encoder_ring, size_t session_slots) {
    tw_nghttp2_allocator *allocator = calloc(1, sizeof(*allocator));
    if (allocator == NULL) return NULL;
    tw_session_pages_init(&allocator->pages, session_slots);
    if (share_frame_buffer) {
        allocator->shared_frame_buffer = malloc(FRAME_BUFFER_BYTES);
        if (allocator->shared_frame_buffer == NULL) {
            tw_session_pages_destroy(&allocator->pages);
            free(allocator);
            return NULL;
        }
    }
    if (share_encoder_ring) {
        allocator->shared_encoder_ring = malloc(ENCODER_RING_BYTES);
        if (allocator->shared_encoder_ring == NULL) {
            free(allocator->shared_frame_buffer);
            tw_session_pages_destroy(&allocator->pages);
            free(allocator);
            return NULL;
        }
        memset(allocator->shared_encoder_ring, ENCODER_RING_PATTERN, ENCODER_RING_BYTES);
    }
    allocator->mem.mem_user_data = allocator;
    allocator->mem.malloc = counted_malloc;
    allocator->mem.free = counted_free;
    allocator->mem.calloc = counted_calloc;
    allocator->mem.realloc = counted_realloc;
    return allocator;
}

void tw_nghttp2_allocator_del(tw_nghttp2_allocator *allocator) {
    free(allocator->shared_frame_buffer);
    free(allocator->shared_encoder_ring);
    tw_session_pages_destroy(&allocator->pages);
    free(allocator);
}

void tw_nghttp2_allocator_creating_session(tw_nghttp2_allocator *allocator, int creating) {
    allocator->lending = creating;
    allocator->lending_ring = creating;
    if (creating) {
        tw_session_pages_begin(&allocator->pages);
    } else {
        tw_session_pages_end(&allocator->pages);
    }
}

void *tw_nghttp2_allocator_session_pages(const tw_nghttp2_allocator *allocator, size_t *bytes) {
    *bytes = allocator->pages.region_bytes;
    return allocator->pages.region;
}

int tw_nghttp2_allocator_encoder_ring_untouched(const tw_nghttp2_allocator *allocator) {
    if (allocator->shared_encoder_ring == NULL) return 1;
    for (size_t i = 0; i < ENCODER_RING_BYTES; i++) {
        if (allocator->shared_encoder_ring[i] != ENCODER_RING_PATTERN) return 0;
    }
    return 1;
}

void tw_nghttp2_allocator_scribble_frame_buffer(tw_nghttp2_allocator *allocator) {
    if (allocator->shared_frame_buffer != NULL) memset(allocator->shared_frame_buffer, 0xdb, FRAME_BUFFER_BYTES);
}

void *tw_nghttp2_allocator_mem(tw_nghttp2_allocator *allocator) {
    return &allocator->mem;
}

tw_nghttp2_memory_counts tw_nghttp2_allocator_counts(const tw_nghttp2_allocator *allocator) {
    tw_nghttp2_memory_counts counts = allocator->counts;
    counts.sessions_placed = tw_session_pages_sessions_placed(&allocator->pages);
    return counts;
}

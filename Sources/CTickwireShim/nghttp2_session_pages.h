// The pages where nghttp2 sessions' three fixed blocks live: see
// nghttp2_session_pages.c. Private to the shim (nghttp2_memory.c uses it).
#ifndef TICKWIRE_NGHTTP2_SESSION_PAGES_H
#define TICKWIRE_NGHTTP2_SESSION_PAGES_H

#include <stddef.h>
#include <stdint.h>

typedef struct tw_session_pages {
    unsigned char *region;   // NULL: no pages (every block goes to malloc)
    size_t region_bytes;
    size_t slots;            // sessions the region has room for
    uint8_t *live;           // per slot: which of its blocks are lent
    uint8_t *zero_page_dirty;  // per unit: its page of zeros was written
    uint32_t *free_slots;    // a stack of slots with no block lent
    size_t free_count;
    size_t placed;           // session structs lent
    int64_t creating;        // the slot a session being created fills, or -1
    int placing;             // 1 between begin and end of a session's creation
} tw_session_pages;

// Reserves (but does not touch) room for `sessions` sessions. With 0, or if
// the kernel refuses the reservation, every block goes to malloc.
void tw_session_pages_init(tw_session_pages *pages, size_t sessions);
void tw_session_pages_destroy(tw_session_pages *pages);
// Around nghttp2_session_server_new3: its session struct, stream map and
// HPACK decoder ring are the blocks placed here.
void tw_session_pages_begin(tw_session_pages *pages);
void tw_session_pages_end(tw_session_pages *pages);
// A block of `size` for the session being created, or NULL (then malloc).
// `zeroed`: asked for with calloc.
void *tw_session_pages_take(tw_session_pages *pages, size_t size, int zeroed);
// The size of a block lent from here, or 0 when `block` is not one.
size_t tw_session_pages_block_size(const tw_session_pages *pages, const void *block);
void tw_session_pages_give_back(tw_session_pages *pages, void *block);
size_t tw_session_pages_sessions_placed(const tw_session_pages *pages);

#endif

// The pages where nghttp2 sessions' three fixed blocks live (issue 22, item 3).
//
// A libnghttp2 1.52 server session allocates, when it is created and for
// life, its session struct (2,928 bytes, zero-filled), the ring of its HPACK
// decoder (1,024) and its stream map (256 buckets of 16 bytes, 4,096,
// zero-filled). From glibc that is 8,072 bytes of RSS per connection, the
// largest part of the capacity figure. But a StreamPrices connection opens
// one stream, id 1, and the map writes exactly one bucket for it: 158, the
// one 1.52's hash (key × 2654435769, top 8 bits) gives 1. The other 4,080
// bytes are read (lookups, nghttp2_map_each) and never written, and
// anonymous memory that is only read costs no RSS: the kernel maps its one
// page of zeros there.
//
// So the blocks are placed, two sessions to a unit of four pages, so that
// one page of each unit holds only map buckets no one-stream session writes:
// the end of session A's map (after its bucket 158), 16 bytes of padding and
// the start of session B's map (before its bucket 158).
//
//   page 0   [ring of the previous unit's B][spare][A's map ....... A's 158]
//   page 1   [A's map, buckets 159-255][pad][B's map, buckets 0-157]  <- zeros
//   page 2   [B's 158, B's map ...][A's session struct ...............
//   page 3   ... A's session][B's session struct][A's ring][B's ring ...
//
// Three resident pages hold two sessions: 6,144 bytes each instead of 8,072.
// Nothing here depends on the layout for correctness, only for memory: a
// session whose streams hash elsewhere (a second stream, a later call on
// the same connection) writes into page 1, which then costs its page as
// before. Blocks of other sizes, and every block once the slots run out,
// come from malloc.
//
// A zero-filled block must read as zeros when lent again: the session
// struct is cleared when taken (its pages are resident anyway), a map when
// given back (only the bytes that are not zero, so page 1 stays untouched
// when nothing wrote it; a page 1 that was written goes back to the kernel
// once neither of its maps is lent).
//
// Not thread-safe, like the allocator that owns it.
#include "nghttp2_session_pages.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#define PAGE_BYTES 4096
#define UNIT_BYTES (4 * PAGE_BYTES)
// The three blocks as libnghttp2 1.52 asks for them (sizeof(nghttp2_session);
// NGHTTP2_INITIAL_TABLE_LENBITS 8 × sizeof(nghttp2_map_bucket); hd_ringbuf_init
// for a 4,096-byte table). Another version asking for other sizes gets malloc.
#define SESSION_BYTES 2928
#define MAP_BYTES 4096
#define RING_BYTES 1024
// Stream 1's bucket in the map, and a bucket's size.
#define STREAM_ONE_BUCKET_OFFSET (158 * 16)
#define BUCKET_BYTES 16

// Where each block of a unit's two sessions starts, from the unit's start.
#define MAP_A (PAGE_BYTES - STREAM_ONE_BUCKET_OFFSET - BUCKET_BYTES)
#define MAP_B (2 * PAGE_BYTES - STREAM_ONE_BUCKET_OFFSET)
#define SESSION_A (MAP_B + MAP_BYTES)
#define SESSION_B (SESSION_A + SESSION_BYTES)
#define RING_A (SESSION_B + SESSION_BYTES)
#define RING_B (RING_A + RING_BYTES)

_Static_assert(MAP_A + STREAM_ONE_BUCKET_OFFSET + BUCKET_BYTES == PAGE_BYTES, "A's bucket 158 ends page 0");
_Static_assert(MAP_B + STREAM_ONE_BUCKET_OFFSET == 2 * PAGE_BYTES, "B's bucket 158 starts page 2");
_Static_assert(MAP_A + MAP_BYTES <= MAP_B, "the two maps overlap");
_Static_assert(RING_B + RING_BYTES <= UNIT_BYTES + MAP_A, "B's ring runs into the next unit's map");

enum { LIVE_SESSION = 1, LIVE_MAP = 2, LIVE_RING = 4 };

static const size_t block_offset[2][3] = {
    {SESSION_A, MAP_A, RING_A},
    {SESSION_B, MAP_B, RING_B},
};
static const size_t block_bytes[3] = {SESSION_BYTES, MAP_BYTES, RING_BYTES};
static const uint8_t block_flag[3] = {LIVE_SESSION, LIVE_MAP, LIVE_RING};
enum { KIND_SESSION = 0, KIND_MAP = 1, KIND_RING = 2 };

static unsigned char *block_address(const tw_session_pages *pages, size_t slot, int kind) {
    return pages->region + (slot / 2) * UNIT_BYTES + block_offset[slot % 2][kind];
}

// Which slot and kind `block` is, if it is one of ours.
static int locate(const tw_session_pages *pages, const void *block, size_t *slot, int *kind) {
    const unsigned char *byte = block;
    if (pages->region == NULL || byte < pages->region || byte >= pages->region + pages->region_bytes) return 0;
    size_t offset = (size_t)(byte - pages->region);
    for (int side = 0; side < 2; side++) {
        for (int k = 0; k < 3; k++) {
            size_t start = block_offset[side][k];
            if (offset < start || (offset - start) % UNIT_BYTES != 0) continue;
            size_t candidate = ((offset - start) / UNIT_BYTES) * 2 + (size_t)side;
            if (candidate >= pages->slots) return 0;
            *slot = candidate;
            *kind = k;
            return 1;
        }
    }
    return 0;
}

void tw_session_pages_init(tw_session_pages *pages, size_t sessions) {
    memset(pages, 0, sizeof(*pages));
    pages->creating = -1;
    if (sessions == 0 || sessions > UINT32_MAX) return;
    size_t units = (sessions + 1) / 2;
    // One page past the last unit, for its B's ring.
    size_t bytes = units * UNIT_BYTES + PAGE_BYTES;
    // Between two inaccessible guard pages: an overrun faults, and the
    // mapping never merges with a neighbour, so smaps shows its own Rss.
    unsigned char *reserved = mmap(NULL, bytes + 2 * PAGE_BYTES, PROT_NONE,
                                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (reserved == MAP_FAILED) return;
    unsigned char *region = reserved + PAGE_BYTES;
    if (mprotect(region, bytes, PROT_READ | PROT_WRITE) != 0) {
        munmap(reserved, bytes + 2 * PAGE_BYTES);
        return;
    }
    // A huge page would make every page resident at once.
    (void)madvise(region, bytes, MADV_NOHUGEPAGE);
#ifdef PR_SET_VMA
    // So that /proc/PID/smaps names it (Linux 5.17+ built with
    // CONFIG_ANON_VMA_NAME; elsewhere EINVAL, and it stays unnamed).
    (void)prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)region, bytes, (unsigned long)"tickwire nghttp2 sessions");
#endif
    pages->live = calloc(units * 2, 1);
    pages->zero_page_dirty = calloc(units, 1);
    pages->free_slots = malloc(units * 2 * sizeof(uint32_t));
    if (pages->live == NULL || pages->zero_page_dirty == NULL || pages->free_slots == NULL) {
        free(pages->live);
        free(pages->zero_page_dirty);
        free(pages->free_slots);
        munmap(reserved, bytes + 2 * PAGE_BYTES);
        memset(pages, 0, sizeof(*pages));
        pages->creating = -1;
        return;
    }
    pages->region = region;
    pages->region_bytes = bytes;
    pages->slots = units * 2;
    // Lowest slots on top: sessions fill the region from its start.
    for (size_t i = 0; i < pages->slots; i++) pages->free_slots[i] = (uint32_t)(pages->slots - 1 - i);
    pages->free_count = pages->slots;
}

void tw_session_pages_destroy(tw_session_pages *pages) {
    if (pages->region != NULL) munmap(pages->region - PAGE_BYTES, pages->region_bytes + 2 * PAGE_BYTES);
    free(pages->live);
    free(pages->zero_page_dirty);
    free(pages->free_slots);
    memset(pages, 0, sizeof(*pages));
    pages->creating = -1;
}

void tw_session_pages_begin(tw_session_pages *pages) {
    pages->placing = 1;
    pages->creating = -1;
}

void tw_session_pages_end(tw_session_pages *pages) {
    pages->placing = 0;
    pages->creating = -1;
}

void *tw_session_pages_take(tw_session_pages *pages, size_t size, int zeroed) {
    if (!pages->placing || pages->region == NULL) return NULL;
    if (pages->creating < 0) {
        // The session struct is the first block a session asks for.
        if (size != SESSION_BYTES || !zeroed || pages->free_count == 0) return NULL;
        size_t slot = pages->free_slots[--pages->free_count];
        pages->creating = (int64_t)slot;
        pages->live[slot] = LIVE_SESSION;
        pages->placed += 1;
        unsigned char *block = block_address(pages, slot, KIND_SESSION);
        memset(block, 0, SESSION_BYTES);
        return block;
    }
    size_t slot = (size_t)pages->creating;
    int kind;
    if (size == MAP_BYTES && zeroed) {
        kind = KIND_MAP;  // zero since it was given back, or never touched
    } else if (size == RING_BYTES && !zeroed) {
        kind = KIND_RING;
    } else {
        return NULL;
    }
    if (pages->live[slot] & block_flag[kind]) return NULL;  // a second one: not a fixed block
    pages->live[slot] |= block_flag[kind];
    return block_address(pages, slot, kind);
}

size_t tw_session_pages_block_size(const tw_session_pages *pages, const void *block) {
    size_t slot;
    int kind;
    if (!locate(pages, block, &slot, &kind) || !(pages->live[slot] & block_flag[kind])) return 0;
    return block_bytes[kind];
}

static int all_zero(const unsigned char *bytes, size_t count) {
    for (size_t i = 0; i < count; i++) {
        if (bytes[i] != 0) return 0;
    }
    return 1;
}

// Leaves a map that is given back all zeros, writing only what is not.
static void clear_map(tw_session_pages *pages, size_t slot) {
    unsigned char *map = block_address(pages, slot, KIND_MAP);
    // Which part of the map lies on its unit's page of zeros.
    size_t zeros_from = slot % 2 == 0 ? PAGE_BYTES - MAP_A : 0;
    size_t zeros_to = slot % 2 == 0 ? MAP_BYTES : 2 * PAGE_BYTES - MAP_B;
    size_t resident_from = slot % 2 == 0 ? 0 : zeros_to;
    size_t resident_to = slot % 2 == 0 ? zeros_from : MAP_BYTES;
    memset(map + resident_from, 0, resident_to - resident_from);
    int written = !all_zero(map + zeros_from, zeros_to - zeros_from);
    if (written) memset(map + zeros_from, 0, zeros_to - zeros_from);
    size_t unit = slot / 2;
    if (pages->live[slot ^ 1] & LIVE_MAP) {
        if (written) pages->zero_page_dirty[unit] = 1;
    } else if (written || pages->zero_page_dirty[unit]) {
        // Neither map is lent: the page can go back to being the kernel's zeros.
        (void)madvise(pages->region + unit * UNIT_BYTES + PAGE_BYTES, PAGE_BYTES, MADV_DONTNEED);
        pages->zero_page_dirty[unit] = 0;
    }
}

void tw_session_pages_give_back(tw_session_pages *pages, void *block) {
    size_t slot;
    int kind;
    if (!locate(pages, block, &slot, &kind) || !(pages->live[slot] & block_flag[kind])) return;
    if (kind == KIND_SESSION) pages->placed -= 1;
    pages->live[slot] &= (uint8_t)~block_flag[kind];
    if (kind == KIND_MAP) clear_map(pages, slot);
    if (pages->live[slot] == 0) pages->free_slots[pages->free_count++] = (uint32_t)slot;
}

size_t tw_session_pages_sessions_placed(const tw_session_pages *pages) {
    return pages->placed;
}

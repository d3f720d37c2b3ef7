// nghttp2's allocator (issue 22, item 3): glibc's malloc, counted. Each
// session gets the allocator's nghttp2_mem (nghttp2 copies the struct, and
// every block a session allocates goes through the copy), so the counts are
// what libnghttp2 holds for the sessions of one owner: the figure the
// memory table in docs/performance.md is built from, and what a test can
// check returns to zero once every session is deleted.
//
// Not thread-safe, like everything on the loop: one allocator per owner.
#include <malloc.h>
#include <stdlib.h>

#include <nghttp2/nghttp2.h>

#include "tickwire_shim.h"

struct tw_nghttp2_allocator {
    nghttp2_mem mem;  // first, so a pointer to the allocator is one to its mem
    tw_nghttp2_memory_counts counts;
};

// Blocks are weighed by malloc_usable_size: what glibc really set aside,
// which is what the process's RSS pays, rather than what was asked for.
static void count_block(tw_nghttp2_allocator *allocator, void *block) {
    if (block == NULL) return;
    allocator->counts.live_bytes += malloc_usable_size(block);
    allocator->counts.live_blocks += 1;
    allocator->counts.allocations += 1;
}

static void uncount_block(tw_nghttp2_allocator *allocator, void *block) {
    if (block == NULL) return;
    allocator->counts.live_bytes -= malloc_usable_size(block);
    allocator->counts.live_blocks -= 1;
}

static void *counted_malloc(size_t size, void *user_data) {
    void *block = malloc(size);
    count_block(user_data, block);
    return block;
}

static void counted_free(void *block, void *user_data) {
    uncount_block(user_data, block);
    free(block);
}

static void *counted_calloc(size_t count, size_t size, void *user_data) {
    void *block = calloc(count, size);
    count_block(user_data, block);
    return block;
}

static void *counted_realloc(void *block, size_t size, void *user_data) {
    tw_nghttp2_allocator *allocator = user_data;
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

tw_nghttp2_allocator *tw_nghttp2_allocator_new(void) {
    tw_nghttp2_allocator *allocator = calloc(1, sizeof(*allocator));
    if (allocator == NULL) return NULL;
    allocator->mem.mem_user_data = allocator;
    allocator->mem.malloc = counted_malloc;
    allocator->mem.free = counted_free;
    allocator->mem.calloc = counted_calloc;
    allocator->mem.realloc = counted_realloc;
    return allocator;
}

void tw_nghttp2_allocator_del(tw_nghttp2_allocator *allocator) {
    free(allocator);
}

void *tw_nghttp2_allocator_mem(tw_nghttp2_allocator *allocator) {
    return &allocator->mem;
}

tw_nghttp2_memory_counts tw_nghttp2_allocator_counts(const tw_nghttp2_allocator *allocator) {
    return allocator->counts;
}

// An LD_PRELOAD allocation counter for test_allocations.py.
//
// Counts every call that can allocate heap memory (malloc, calloc, realloc,
// posix_memalign, aligned_alloc, memalign) and the bytes asked for, in a
// 16-byte file mapped shared (TW_MALLOC_COUNTER_FILE), so that the test reads
// the counts of a running server at any moment without signals or pipes.
// The real work is done by glibc's __libc_* entry points, which, unlike
// dlsym(RTLD_NEXT), never allocate themselves.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

// Calls made before the constructor maps the file land here.
static uint64_t early_counts[2];
static uint64_t *counts = early_counts;

__attribute__((constructor)) static void map_counter_file(void) {
    const char *path = getenv("TW_MALLOC_COUNTER_FILE");
    if (path == NULL) return;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    if (ftruncate(fd, sizeof early_counts) == 0) {
        void *map = mmap(NULL, sizeof early_counts, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (map != MAP_FAILED) counts = map;
    }
    close(fd);
}

static inline void count(size_t bytes) {
    __atomic_add_fetch(&counts[0], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&counts[1], bytes, __ATOMIC_RELAXED);
}

void *malloc(size_t bytes) { count(bytes); return __libc_malloc(bytes); }
void *calloc(size_t n, size_t size) { count(n * size); return __libc_calloc(n, size); }
void *realloc(void *old, size_t bytes) { count(bytes); return __libc_realloc(old, bytes); }
void *memalign(size_t alignment, size_t bytes) { count(bytes); return __libc_memalign(alignment, bytes); }
void *aligned_alloc(size_t alignment, size_t bytes) { count(bytes); return __libc_memalign(alignment, bytes); }
int posix_memalign(void **out, size_t alignment, size_t bytes) {
    count(bytes);
    void *block = __libc_memalign(alignment, bytes);
    if (block == NULL) return 12;  // ENOMEM
    *out = block;
    return 0;
}

/* The allocator hook. Cores call shoal_malloc and friends so that tests can fail any one
 * allocation (see tests/harness.h, harness_failmalloc). */
#include "shoal/core.h"

#include <stdlib.h>
#include <string.h>

static void *libc_realloc(void *ptr, size_t size, void *ud)
{
    (void)ud;
    return realloc(ptr, size);
}

static void libc_free(void *ptr, void *ud)
{
    (void)ud;
    free(ptr);
}

static const shoal_allocator libc_allocator = {libc_realloc, libc_free, NULL};
static const shoal_allocator *current = &libc_allocator;

void shoal_set_allocator(const shoal_allocator *a)
{
    current = a ? a : &libc_allocator;
}

void *shoal_malloc(size_t size)
{
    if (size == 0)
        return NULL;
    return current->realloc_fn(NULL, size, current->ud);
}

void *shoal_calloc(size_t n, size_t size)
{
    if (n == 0 || size == 0 || n > SIZE_MAX / size)
        return NULL;
    void *p = shoal_malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *shoal_realloc(void *ptr, size_t size)
{
    if (size == 0)
        return NULL;
    return current->realloc_fn(ptr, size, current->ud);
}

void shoal_free(void *ptr)
{
    if (ptr)
        current->free_fn(ptr, current->ud);
}

char *shoal_strndup(const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *p = shoal_malloc(len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

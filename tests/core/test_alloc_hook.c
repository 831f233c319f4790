/* Allocations go through the installed hook, and the helpers guard their arithmetic. */
#include "harness.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int calls, frees;

static void *counting_realloc(void *ptr, size_t size, void *ud)
{
    CHECK(ud == &calls);
    calls++;
    return realloc(ptr, size);
}

static void counting_free(void *ptr, void *ud)
{
    CHECK(ud == &calls);
    frees++;
    free(ptr);
}

static void hook_sees_every_allocation(void)
{
    static const shoal_allocator counting = {counting_realloc, counting_free, &calls};
    calls = frees = 0;
    shoal_set_allocator(&counting);
    char *s = shoal_strndup("hub", 3);
    int *z = shoal_calloc(4, sizeof *z);
    s = shoal_realloc(s, 64);
    shoal_free(s);
    shoal_free(z);
    shoal_free(NULL);
    shoal_set_allocator(NULL);
    CHECK_EQ_INT(calls, 3);
    CHECK_EQ_INT(frees, 2);
    void *p = shoal_malloc(8); /* back on libc: not counted */
    shoal_free(p);
    CHECK_EQ_INT(calls, 3);
}

static void zero_sizes_and_overflow_give_null(void)
{
    CHECK(shoal_malloc(0) == NULL);
    CHECK(shoal_calloc(0, 8) == NULL);
    CHECK(shoal_calloc(SIZE_MAX / 2, 3) == NULL);
    CHECK(shoal_strndup("x", SIZE_MAX) == NULL);
}

static void calloc_zeroes_and_strndup_terminates(void)
{
    unsigned char *z = shoal_calloc(16, 1);
    unsigned char zero[16] = {0};
    CHECK_EQ_MEM(z, 16, zero, 16);
    shoal_free(z);
    char *s = shoal_strndup("rtc:hub", 3);
    CHECK_EQ_STR(s, "rtc");
    shoal_free(s);
}

int main(void)
{
    RUN(hook_sees_every_allocation);
    RUN(zero_sizes_and_overflow_give_null);
    RUN(calloc_zeroes_and_strndup_terminates);
    return harness_finish();
}

/* Backward-shift deletion keeps every entry findable by probing from its home slot. */
#include "harness.h"

#include <string.h>

#define CAP 16

/* Entries hash to entry % 4: heavy collisions, long probe runs, wrap-around. */
static size_t home(uint32_t entry, const void *ctx)
{
    (void)ctx;
    return (entry % 4 + 13) % CAP;
}

static void insert(uint32_t *slots, uint32_t entry)
{
    size_t s = home(entry, NULL);
    while (slots[s] != SHOAL_SLOT_EMPTY)
        s = (s + 1) % CAP;
    slots[s] = entry;
}

static size_t find(const uint32_t *slots, uint32_t entry)
{
    for (size_t s = home(entry, NULL);; s = (s + 1) % CAP) {
        if (slots[s] == entry)
            return s;
        if (slots[s] == SHOAL_SLOT_EMPTY)
            return SIZE_MAX;
    }
}

static void every_removal_keeps_the_rest_findable(void)
{
    for (uint32_t victim = 0; victim < 12; victim++) {
        uint32_t slots[CAP];
        memset(slots, 0xff, sizeof slots);
        for (uint32_t e = 0; e < 12; e++)
            insert(slots, e);
        shoal_slots_remove(slots, CAP, find(slots, victim), home, NULL);
        CHECK_EQ_INT(find(slots, victim), SIZE_MAX);
        for (uint32_t e = 0; e < 12; e++)
            if (e != victim && !CHECK(find(slots, e) != SIZE_MAX))
                printf("    lost %u after removing %u\n", e, victim);
    }
}

int main(void)
{
    RUN(every_removal_keeps_the_rest_findable);
    return harness_finish();
}

/* Open-addressing tables with linear probing: a new table, insertion, and backward-shift
 * deletion. */
#include "shoal/core.h"

#include <string.h>

uint32_t *shoal_slots_new(size_t cap)
{
    uint32_t *slots = shoal_malloc(cap * sizeof *slots);
    if (slots)
        memset(slots, 0xff, cap * sizeof *slots); /* every slot SHOAL_SLOT_EMPTY */
    return slots;
}

void shoal_slots_insert(uint32_t *slots, size_t cap, uint32_t entry, shoal_slot_home_fn *home,
                        const void *ctx)
{
    size_t s = home(entry, ctx);
    while (slots[s] != SHOAL_SLOT_EMPTY)
        s = (s + 1) & (cap - 1);
    slots[s] = entry;
}

void shoal_slots_remove(uint32_t *slots, size_t cap, size_t hole, shoal_slot_home_fn *home,
                        const void *ctx)
{
    size_t mask = cap - 1;
    for (size_t s = (hole + 1) & mask; slots[s] != SHOAL_SLOT_EMPTY; s = (s + 1) & mask) {
        size_t h = home(slots[s], ctx);
        /* Move the entry back when the hole lies between its home slot and where it sits. */
        if (((s - h) & mask) >= ((s - hole) & mask)) {
            slots[hole] = slots[s];
            hole = s;
        }
    }
    slots[hole] = SHOAL_SLOT_EMPTY;
}

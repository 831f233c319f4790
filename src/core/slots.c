/* Backward-shift deletion for open-addressing tables with linear probing. */
#include "shoal/core.h"

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

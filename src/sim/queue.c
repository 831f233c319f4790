/* The event queue (a binary heap ordered by time, then by scheduling order) and the table of
 * links between peers (a pool of records indexed by the unordered pair of their ends). */
#include "sim_internal.h"

#include <string.h>

static bool before(const sim_event *x, const sim_event *y)
{
    return x->at < y->at || (x->at == y->at && x->seq < y->seq);
}

void shoal__sim_at(sim *s, shoal_time at, uint32_t type, uint32_t a, uint32_t b, uint32_t c)
{
    if (s->failed)
        return;
    if (s->nqueue == s->queue_cap) {
        size_t cap = s->queue_cap ? s->queue_cap * 2 : 1024;
        sim_event *q = shoal_realloc(s->queue, cap * sizeof *q);
        if (!q) {
            s->failed = SHOAL_E_NOMEM;
            return;
        }
        s->queue = q;
        s->queue_cap = cap;
    }
    sim_event e = {at, s->seq++, type, a, b, c};
    size_t i = s->nqueue++;
    while (i > 0 && before(&e, &s->queue[(i - 1) / 2])) {
        s->queue[i] = s->queue[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->queue[i] = e;
}

bool shoal__sim_pop(sim *s, sim_event *e)
{
    if (s->nqueue == 0)
        return false;
    *e = s->queue[0];
    sim_event last = s->queue[--s->nqueue];
    size_t i = 0, n = s->nqueue;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && before(&s->queue[child + 1], &s->queue[child]))
            child++;
        if (!before(&s->queue[child], &last))
            break;
        s->queue[i] = s->queue[child];
        i = child;
    }
    if (n > 0)
        s->queue[i] = last;
    return true;
}

/* ---- Links ----------------------------------------------------------------------------------- */

static uint64_t pair_key(uint32_t p, uint32_t q)
{
    return p < q ? (uint64_t)p << 32 | q : (uint64_t)q << 32 | p;
}

static uint32_t slot_of(const sim *s, uint64_t key)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdu;
    key ^= key >> 33;
    return (uint32_t)key & (s->index_cap - 1);
}

static uint64_t key_of(const sim *s, uint32_t id)
{
    return pair_key(s->links[id].a, s->links[id].b);
}

static size_t home_of(uint32_t id, const void *ctx)
{
    const sim *s = ctx;
    return slot_of(s, key_of(s, id));
}

uint32_t shoal__sim_link_find(const sim *s, uint32_t p, uint32_t q)
{
    if (s->index_cap == 0)
        return NO_LINK;
    uint64_t key = pair_key(p, q);
    for (uint32_t i = slot_of(s, key);; i = (i + 1) & (s->index_cap - 1)) {
        uint32_t id = s->link_index[i];
        if (id == NO_LINK || key_of(s, id) == key)
            return id;
    }
}

static bool grow_index(sim *s)
{
    uint32_t cap = s->index_cap ? s->index_cap * 2 : 1024;
    uint32_t *index = shoal_slots_new(cap);
    if (!index)
        return false;
    shoal_free(s->link_index);
    s->link_index = index;
    s->index_cap = cap;
    for (uint32_t id = 0; id < s->nlinks; id++)
        if (s->links[id].live)
            shoal_slots_insert(s->link_index, s->index_cap, id, home_of, s);
    return true;
}

uint32_t shoal__sim_link_new(sim *s, uint32_t a, uint32_t b)
{
    uint32_t live = s->nlinks - s->nfree;
    if ((live + 1) * 2 > s->index_cap && !grow_index(s)) {
        s->failed = SHOAL_E_NOMEM;
        return NO_LINK;
    }
    uint32_t id;
    if (s->nfree > 0) {
        id = s->free_links[--s->nfree];
    } else {
        if (s->nlinks == s->links_cap) {
            uint32_t cap = s->links_cap ? s->links_cap * 2 : 256;
            sim_link *links = shoal_realloc(s->links, cap * sizeof *links);
            uint32_t *free_links =
                links ? shoal_realloc(s->free_links, cap * sizeof *free_links) : NULL;
            if (links)
                s->links = links;
            if (!free_links) {
                s->failed = SHOAL_E_NOMEM;
                return NO_LINK;
            }
            s->free_links = free_links;
            s->links_cap = cap;
        }
        id = s->nlinks++;
        s->links[id].gen = 0;
    }
    sim_link *l = &s->links[id];
    uint32_t gen = l->gen;
    memset(l, 0, sizeof *l);
    l->a = a;
    l->b = b;
    l->gen = gen;
    l->live = true;
    shoal_slots_insert(s->link_index, s->index_cap, id, home_of, s);
    return id;
}

void shoal__sim_link_free(sim *s, uint32_t id)
{
    uint32_t hole = slot_of(s, key_of(s, id));
    while (s->link_index[hole] != id)
        hole = (hole + 1) & (s->index_cap - 1);
    shoal_slots_remove(s->link_index, s->index_cap, hole, home_of, s);
    s->links[id].live = false;
    s->links[id].gen++;
    s->free_links[s->nfree++] = id;
}

/* The hub and peer tables: creation, lookup, growth and removal. */
#include "conn_internal.h"

#include <assert.h>
#include <string.h>

/* splitmix64: small, fast and good enough for jitter. */
static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

double shoal__conn_random(shoal_conn *c)
{
    return (double)(next_u64(&c->rng) >> 11) * 0x1.0p-53;
}

/* The feed's bucket. Keys are public keys anyone can grind, so the hash is keyed with a secret
 * drawn at creation: two rounds of wyhash's "mum" mix (a 64x64->128-bit multiply, folded) over
 * the key's four words. SipHash (libsodium's crypto_shorthash) did the same job at a sixth of
 * the whole simulator's instructions. */
__extension__ typedef unsigned __int128 u128;

static uint64_t mum(uint64_t a, uint64_t b)
{
    u128 r = (u128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static size_t slot_of(const shoal_conn *c, const uint8_t feed[32])
{
    uint64_t w[4];
    memcpy(w, feed, sizeof w);
    uint64_t h = mum(w[0] ^ c->hash_key[0], w[1] ^ c->hash_key[1]) ^
                 mum(w[2] ^ c->hash_key[2], w[3] ^ c->hash_key[3]);
    return (size_t)mum(h, 0x9e3779b97f4a7c15u) & (c->index_cap - 1);
}

size_t shoal__conn_peer_pos(const shoal_conn *c, const uint8_t feed[32])
{
    for (size_t s = slot_of(c, feed);; s = (s + 1) & (c->index_cap - 1)) {
        uint32_t pos = c->index[s];
        if (pos == NO_INDEX)
            return SIZE_MAX;
        if (memcmp(c->peers[pos].feed, feed, 32) == 0)
            return pos;
    }
}

/* Grows *p (of *cap elements of `size` bytes) to hold at least `need`; false on failure. */
static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *q = shoal_realloc(*p, n * size);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

static size_t home_of(uint32_t pos, const void *ctx)
{
    const shoal_conn *c = ctx;
    return slot_of(c, c->peers[pos].feed);
}

static bool rehash(shoal_conn *c, size_t cap)
{
    uint32_t *index = shoal_slots_new(cap);
    if (!index)
        return false;
    shoal_free(c->index);
    c->index = index;
    c->index_cap = cap;
    for (size_t pos = 0; pos < c->npeers; pos++)
        shoal_slots_insert(index, cap, (uint32_t)pos, home_of, c);
    return true;
}

int shoal__conn_reserve(shoal_conn *c, size_t peer_events, size_t extra_fx, bool new_peer)
{
    size_t peers = c->npeers + (new_peer ? 1 : 0);
    if (peer_events > peers)
        peer_events = peers;
    size_t hubs = c->nhub_slots + 1;
    size_t fx = 2 * peer_events + 4 * hubs + 2 * (size_t)c->cfg.max_peers + extra_fx + 8;
    if (!grow((void **)&c->fx, &c->fx_cap, fx, sizeof *c->fx) ||
        !grow((void **)&c->dirty_peers, &c->dirty_cap, peer_events, sizeof *c->dirty_peers) ||
        !grow((void **)&c->ev_peers, &c->ev_peer_cap, peer_events, sizeof *c->ev_peers) ||
        !grow((void **)&c->ev_hubs, &c->ev_hub_cap, hubs, sizeof *c->ev_hubs))
        return SHOAL_E_NOMEM;
    if (new_peer) {
        /* Both arrays grow by doubling from the same capacity, so they stay the same length. */
        size_t cap = c->peer_cap, mark_cap = c->peer_cap;
        if (!grow((void **)&c->peers, &cap, peers, sizeof *c->peers) ||
            !grow((void **)&c->peer_mark, &mark_cap, peers, sizeof *c->peer_mark))
            return SHOAL_E_NOMEM;
        c->peer_cap = cap;
        if (peers * 2 > c->index_cap && !rehash(c, c->index_cap * 2))
            return SHOAL_E_NOMEM;
        if (!grow((void **)&c->active, &c->active_cap, peers, sizeof *c->active))
            return SHOAL_E_NOMEM;
    }
    return SHOAL_OK;
}

size_t shoal__conn_peer_add(shoal_conn *c, const uint8_t feed[32])
{
    size_t pos = c->npeers++;
    shoal_conn_peer *p = &c->peers[pos];
    memset(p, 0, sizeof *p);
    memcpy(p->feed, feed, 32);
    p->route = SHOAL_CONN_NO_HUB;
    c->peer_mark[pos] = MARK_NEW;
    assert(c->ndirty < c->dirty_cap);
    c->dirty_peers[c->ndirty++] = (uint32_t)pos;
    shoal_slots_insert(c->index, c->index_cap, (uint32_t)pos, home_of, c);
    return pos;
}

static size_t index_slot_of(const shoal_conn *c, size_t pos)
{
    size_t s = slot_of(c, c->peers[pos].feed);
    while (c->index[s] != pos)
        s = (s + 1) & (c->index_cap - 1);
    return s;
}

/* Removes a peer that holds no slot: the last peer moves into its place. */
void shoal__conn_peer_remove(shoal_conn *c, size_t pos)
{
    shoal_slots_remove(c->index, c->index_cap, index_slot_of(c, pos), home_of, c);

    size_t last = --c->npeers;
    if (pos == last)
        return;
    c->index[index_slot_of(c, last)] = (uint32_t)pos;
    c->peers[pos] = c->peers[last];
    c->peer_mark[pos] = c->peer_mark[last];
    for (size_t i = 0; i < c->nactive; i++)
        if (c->active[i] == last)
            c->active[i] = (uint32_t)pos;
}

static uint32_t free_hub_slot(const shoal_conn *c)
{
    uint32_t slot = 0;
    while (slot < c->nhub_slots && c->hub_live[slot])
        slot++;
    return slot;
}

int shoal__conn_hub_reserve(shoal_conn *c)
{
    uint32_t slot = free_hub_slot(c);
    if (slot < c->nhub_slots)
        return SHOAL_OK;
    if (slot >= SHOAL__CONN_MAX_HUBS)
        return SHOAL_E_CONN_TOO_MANY_HUBS;
    /* The three arrays grow by doubling from the same capacity, so they stay the same length. */
    size_t cap = c->hub_cap, live_cap = c->hub_cap, mark_cap = c->hub_cap;
    if (!grow((void **)&c->hubs, &cap, slot + 1, sizeof *c->hubs) ||
        !grow((void **)&c->hub_live, &live_cap, slot + 1, 1) ||
        !grow((void **)&c->hub_mark, &mark_cap, slot + 1, 1))
        return SHOAL_E_NOMEM;
    c->hub_cap = (uint32_t)cap;
    return SHOAL_OK;
}

uint32_t shoal__conn_hub_add(shoal_conn *c, const shoal_hub_addr *addr)
{
    uint32_t slot = free_hub_slot(c);
    if (slot == c->nhub_slots)
        c->nhub_slots++;
    shoal_conn_hub *h = &c->hubs[slot];
    memset(h, 0, sizeof *h);
    h->id = slot;
    h->addr = *addr;
    h->state = SHOAL_HUB_DISCONNECTED;
    h->score = 500;
    c->hub_live[slot] = 1;
    c->hub_mark[slot] = MARK_NEW;
    c->hubs_touched = true;
    c->nhubs++;
    return slot;
}

int shoal_conn_new(shoal_conn **out, const shoal_conn_config *cfg, const uint8_t self[32],
                   uint64_t seed)
{
    int rc = shoal_conn_config_check(cfg);
    if (rc != SHOAL_OK)
        return rc;
    shoal_conn *c = shoal_calloc(1, sizeof *c);
    if (!c)
        return SHOAL_E_NOMEM;
    c->cfg = *cfg;
    memcpy(c->self, self, 32);
    c->rng = seed;
    for (size_t i = 0; i < 4; i++)
        c->hash_key[i] = next_u64(&c->rng) | 1; /* odd: a zero factor would erase a word */
    c->tick_factor = 0.9 + 0.2 * shoal__conn_random(c);
    c->scheduled = SHOAL_TIME_NEVER;
    c->fill_next = SHOAL_TIME_NEVER;
    c->forget_next = SHOAL_TIME_NEVER;
    c->next_announce = SHOAL_TIME_NEVER;
    c->candidate_next = SHOAL_TIME_NEVER;
    c->hub_next = SHOAL_TIME_NEVER;
    if (!rehash(c, 64)) {
        shoal_free(c);
        return SHOAL_E_NOMEM;
    }
    *out = c;
    return SHOAL_OK;
}

void shoal_conn_free(shoal_conn *c)
{
    if (!c)
        return;
    shoal_free(c->hubs);
    shoal_free(c->hub_live);
    shoal_free(c->hub_mark);
    shoal_free(c->peers);
    shoal_free(c->peer_mark);
    shoal_free(c->index);
    shoal_free(c->active);
    shoal_free(c->fx);
    shoal_free(c->dirty_peers);
    shoal_free(c->ev_peers);
    shoal_free(c->ev_hubs);
    shoal_free(c);
}

const shoal_conn_config *shoal_conn_get_config(const shoal_conn *c)
{
    return &c->cfg;
}

const shoal_conn_stats *shoal_conn_get_stats(const shoal_conn *c)
{
    return &c->stats;
}

size_t shoal_conn_peer_count(const shoal_conn *c)
{
    return c->npeers;
}

const shoal_conn_peer *shoal_conn_peer_at(const shoal_conn *c, size_t i)
{
    return i < c->npeers ? &c->peers[i] : NULL;
}

const shoal_conn_peer *shoal_conn_peer_find(const shoal_conn *c, const uint8_t feed[32])
{
    size_t pos = shoal__conn_peer_pos(c, feed);
    return pos == SIZE_MAX ? NULL : &c->peers[pos];
}

uint32_t shoal_conn_hub_id_bound(const shoal_conn *c)
{
    return c->nhub_slots;
}

const shoal_conn_hub *shoal_conn_hub_get(const shoal_conn *c, uint32_t id)
{
    return id < c->nhub_slots && c->hub_live[id] ? &c->hubs[id] : NULL;
}

const shoal_conn_hub *shoal_conn_hub_find(const shoal_conn *c, const shoal_hub_addr *addr)
{
    for (uint32_t id = 0; id < c->nhub_slots; id++)
        if (c->hub_live[id] && shoal_hub_addr_equal(&c->hubs[id].addr, addr))
            return &c->hubs[id];
    return NULL;
}

uint32_t shoal_conn_slots_used(const shoal_conn *c)
{
    return c->slots_used;
}

shoal_time shoal_conn_next_announce(const shoal_conn *c)
{
    return c->next_announce;
}

/* Epidemic broadcast trees (see shoal/ebt.h).
 *
 * How this works. Feeds live in one array (`feeds`), found by key through an open-addressing
 * table; a feed is added by HAVE or FOLLOW (the shell's, never a remote's) and never removed.
 * Sessions live in `peers`; each holds one `pfeed` per feed (its view of that feed: what the peer
 * said it holds, what we sent it, what we last told it, who asked whom to send), grown with the
 * feed array. Notes for a peer gather in its `out` list during a call (one entry per feed: a
 * later note for the same feed replaces the earlier) and go out as one NOTES effect at the end.
 *
 * Every call first makes room for everything it may write (effects, notes, a new feed or
 * session), so running out of memory leaves the state as it was. */
#include "shoal/ebt.h"

#include <sodium.h>
#include <string.h>

#define NO_SLOT UINT32_MAX

typedef struct feed {
    uint8_t key[32];
    int64_t have; /* how far we hold it: 0 nothing */
    bool follow;
    uint32_t rx;         /* the session we asked to send it (its id), or 0 */
    shoal_time rx_since; /* when rx was given, or last brought a message of it */
} feed;

typedef struct pfeed {
    int64_t remote;      /* how far the peer said it holds the feed: UNKNOWN, -1 (not with us) */
    int64_t sent;        /* how far it holds it as far as we know (what it said, what we sent) */
    int64_t kept;        /* its clock kept from the last session: UNKNOWN none */
    int64_t told;        /* the sequence in our last note to it: UNKNOWN never */
    int64_t reasked;     /* our head when we last asked it again past a gap: UNKNOWN never */
    shoal_time reask_at; /* it may ask again below what we sent it from then on */
    bool rx;             /* we asked it to send (our last note was even) */
    bool tx;             /* it asked us to send (its last note was even) */
    bool stalled;        /* it held rx and sent nothing for a stall: not asked again until it
                            brings a message of the feed */
    uint32_t out;        /* its note's place in the session's out list this call, or NO_SLOT */
} pfeed;

typedef struct peer {
    uint32_t id;
    bool client;
    bool noted; /* our notes went out (the client's wait for the server's) */
    pfeed *pf;  /* nfeeds */
    shoal_ebt_entry *out;
    size_t nout, out_cap;
} peer;

struct shoal_ebt {
    shoal_ebt_config cfg;
    uint8_t self[32];
    feed *feeds;
    size_t nfeeds, feed_cap, pf_cap; /* every session's pf holds pf_cap */
    uint32_t *index;                 /* feed positions */
    size_t index_cap;
    uint8_t hash_key[crypto_shorthash_KEYBYTES]; /* remotes name keys we look up */
    peer *peers;
    size_t npeers;
    shoal_ebt_fx *fx;
    size_t nfx, fx_cap;
    shoal_ebt_entry *clock; /* DISCONNECT's CLOCK entries */
    size_t clock_cap;
    shoal_time scheduled;
    shoal_ebt_stats stats;
};

int64_t shoal_ebt_note(int64_t seq, bool rx)
{
    if (seq < 0)
        return SHOAL_EBT_NOTE_NONE;
    return (int64_t)((uint64_t)seq << 1) | (rx ? 0 : 1);
}

bool shoal_ebt_note_read(int64_t value, int64_t *seq, bool *rx)
{
    if (value == SHOAL_EBT_NOTE_NONE) {
        *seq = -1;
        *rx = false;
        return true;
    }
    if (value < 0 || value >> 1 > SHOAL_EBT_MAX_SEQ)
        return false;
    *seq = value >> 1;
    *rx = (value & 1) == 0;
    return true;
}

void shoal_ebt_config_default(shoal_ebt_config *cfg)
{
    *cfg = (shoal_ebt_config){.stall = SHOAL_SECONDS(6), .max_feeds = 200000, .max_peers = 16};
}

/* ---- tables --------------------------------------------------------------------------------- */

/* Feed keys are chosen by their authors, and a remote names the ones we look up: a keyed hash
 * (its key random: where a feed sits in the table changes no effect). */
static size_t key_home(const shoal_ebt *e, const uint8_t key[32])
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, key, 32, e->hash_key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return (size_t)v & (e->index_cap - 1);
}

static size_t slot_home(uint32_t entry, const void *ctx)
{
    const shoal_ebt *e = ctx;
    return key_home(e, e->feeds[entry].key);
}

static feed *find(const shoal_ebt *e, const uint8_t key[32], uint32_t *pos)
{
    for (size_t i = key_home(e, key);; i = (i + 1) & (e->index_cap - 1)) {
        uint32_t at = e->index[i];
        if (at == SHOAL_SLOT_EMPTY)
            return NULL;
        if (memcmp(e->feeds[at].key, key, 32) == 0) {
            if (pos)
                *pos = at;
            return &e->feeds[at];
        }
    }
}

static peer *session(shoal_ebt *e, uint32_t id)
{
    for (size_t i = 0; i < e->npeers; i++)
        if (e->peers[i].id == id)
            return &e->peers[i];
    return NULL;
}

static bool grow(void **p, size_t *cap, size_t want, size_t size)
{
    if (want <= *cap)
        return true;
    size_t n = *cap ? *cap : 8;
    while (n < want) {
        if (n > SIZE_MAX / 2 / size)
            return false;
        n *= 2;
    }
    void *q = shoal_realloc(*p, n * size);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

static pfeed fresh_pfeed(void)
{
    return (pfeed){.remote = SHOAL_EBT_UNKNOWN,
                   .sent = SHOAL_EBT_UNKNOWN,
                   .kept = SHOAL_EBT_UNKNOWN,
                   .told = SHOAL_EBT_UNKNOWN,
                   .reasked = SHOAL_EBT_UNKNOWN,
                   .out = NO_SLOT};
}

/* Room for one more feed everywhere; then add_feed cannot fail. */
static int reserve_feed(shoal_ebt *e)
{
    size_t want = e->nfeeds + 1;
    if (want > e->cfg.max_feeds)
        return SHOAL_E_EBT_FULL;
    if (!grow((void **)&e->feeds, &e->feed_cap, want, sizeof *e->feeds) ||
        !grow((void **)&e->clock, &e->clock_cap, want, sizeof *e->clock))
        return SHOAL_E_NOMEM;
    if (want > e->pf_cap) {
        size_t cap = e->pf_cap ? e->pf_cap * 2 : 64;
        for (size_t i = 0; i < e->npeers; i++) {
            pfeed *pf = shoal_realloc(e->peers[i].pf, cap * sizeof *pf);
            if (!pf)
                return SHOAL_E_NOMEM;
            e->peers[i].pf = pf;
            if (!grow((void **)&e->peers[i].out, &e->peers[i].out_cap, cap,
                      sizeof *e->peers[i].out))
                return SHOAL_E_NOMEM;
        }
        e->pf_cap = cap;
    }
    if (want * 2 > e->index_cap) {
        size_t cap = e->index_cap * 2;
        uint32_t *index = shoal_slots_new(cap);
        if (!index)
            return SHOAL_E_NOMEM;
        shoal_free(e->index);
        e->index = index;
        e->index_cap = cap;
        for (uint32_t i = 0; i < e->nfeeds; i++)
            shoal_slots_insert(e->index, cap, i, slot_home, e);
    }
    return SHOAL_OK;
}

static feed *add_feed(shoal_ebt *e, const uint8_t key[32])
{
    uint32_t pos = (uint32_t)e->nfeeds++;
    feed *f = &e->feeds[pos];
    *f = (feed){.have = 0};
    memcpy(f->key, key, 32);
    shoal_slots_insert(e->index, e->index_cap, pos, slot_home, e);
    for (size_t i = 0; i < e->npeers; i++)
        e->peers[i].pf[pos] = fresh_pfeed();
    return f;
}

/* The feed, made if it is new (room was reserved). */
static feed *feed_of(shoal_ebt *e, const uint8_t key[32], uint32_t *pos)
{
    feed *f = find(e, key, pos);
    if (!f) {
        *pos = (uint32_t)e->nfeeds;
        f = add_feed(e, key);
    }
    return f;
}

int shoal_ebt_new(shoal_ebt **out, const shoal_ebt_config *cfg, const uint8_t self[32])
{
    if (cfg->stall <= 0 || cfg->max_feeds == 0 || cfg->max_feeds > (1u << 30) ||
        cfg->max_peers == 0 || cfg->max_peers > 4096)
        return SHOAL_E_INVAL;
    shoal_ebt *e = shoal_calloc(1, sizeof *e);
    if (!e)
        return SHOAL_E_NOMEM;
    e->cfg = *cfg;
    memcpy(e->self, self, 32);
    randombytes_buf(e->hash_key, sizeof e->hash_key);
    e->index_cap = 64;
    e->index = shoal_slots_new(e->index_cap);
    e->peers = shoal_calloc(cfg->max_peers, sizeof *e->peers);
    e->scheduled = SHOAL_TIME_NEVER;
    uint32_t pos;
    if (!e->index || !e->peers || reserve_feed(e) != SHOAL_OK) {
        shoal_ebt_free(e);
        return SHOAL_E_NOMEM;
    }
    feed_of(e, self, &pos)->follow = true;
    *out = e;
    return SHOAL_OK;
}

void shoal_ebt_free(shoal_ebt *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->npeers; i++) {
        shoal_free(e->peers[i].pf);
        shoal_free(e->peers[i].out);
    }
    shoal_free(e->peers);
    shoal_free(e->feeds);
    shoal_free(e->clock);
    shoal_free(e->index);
    shoal_free(e->fx);
    shoal_free(e);
}

/* ---- what goes out -------------------------------------------------------------------------- */

static shoal_ebt_fx *emit(shoal_ebt *e, shoal_ebt_fx_type type, uint32_t peer_id)
{
    shoal_ebt_fx *fx = &e->fx[e->nfx++];
    *fx = (shoal_ebt_fx){.type = type, .peer = peer_id};
    return fx;
}

/* Queues a note about feed `pos` for the session (replacing one queued this call). */
static void note(shoal_ebt *e, peer *p, uint32_t pos, int64_t value)
{
    pfeed *pf = &p->pf[pos];
    if (pf->out == NO_SLOT) {
        pf->out = (uint32_t)p->nout++;
        memcpy(p->out[pf->out].feed, e->feeds[pos].key, 32);
    }
    p->out[pf->out].value = value;
    e->stats.notes_out++;
}

/* Tells the peer how far we hold the feed, asking it to send what follows when rx. */
static void tell(shoal_ebt *e, peer *p, uint32_t pos, bool rx)
{
    pfeed *pf = &p->pf[pos];
    pf->rx = rx;
    pf->told = e->feeds[pos].have;
    note(e, p, pos, shoal_ebt_note(e->feeds[pos].have, rx));
}

/* What the peer asked for and we hold past what it has goes to it. */
static void push(shoal_ebt *e, peer *p, uint32_t pos)
{
    pfeed *pf = &p->pf[pos];
    int64_t have = e->feeds[pos].have;
    if (!pf->tx || pf->sent < 0 || pf->sent >= have)
        return;
    shoal_ebt_fx *fx = emit(e, SHOAL_EBT_FX_SEND, p->id);
    memcpy(fx->feed, e->feeds[pos].key, 32);
    fx->from = pf->sent + 1;
    fx->to = have;
    pf->sent = have;
}

/* The session that says it holds the feed furthest past us (not `except`), one that stalled on
 * it only when no other is ahead; NULL when none is. */
static peer *furthest(shoal_ebt *e, uint32_t pos, uint32_t except)
{
    peer *best = NULL;
    int64_t have = e->feeds[pos].have;
    for (size_t i = 0; i < e->npeers; i++) {
        peer *p = &e->peers[i];
        const pfeed *pf = &p->pf[pos];
        if (p->id == except || !p->noted || pf->remote <= have)
            continue;
        if (!best || (best->pf[pos].stalled && !pf->stalled) ||
            (best->pf[pos].stalled == pf->stalled && pf->remote > best->pf[pos].remote))
            best = p;
    }
    return best;
}

/* The feed's messages come from `to` from now on (NULL: from nobody, until someone is ahead). */
static void give_rx(shoal_ebt *e, uint32_t pos, peer *to, shoal_time now)
{
    feed *f = &e->feeds[pos];
    peer *from = f->rx ? session(e, f->rx) : NULL;
    if (from == to)
        return;
    if (from && from->pf[pos].rx && from->pf[pos].remote == -1) {
        /* it said it does not replicate the feed: nothing to ask, and an even note queued for
         * it this call becomes an odd one */
        from->pf[pos].rx = false;
        if (from->pf[pos].out != NO_SLOT)
            from->out[from->pf[pos].out].value = shoal_ebt_note(e->feeds[pos].have, false);
    } else if (from && from->pf[pos].rx) {
        tell(e, from, pos, false);
    }
    if (from && to)
        e->stats.switches++;
    f->rx = to ? to->id : 0;
    f->rx_since = now;
    if (to)
        tell(e, to, pos, true);
}

/* A session's first notes: every feed we follow but those it held as far as we do when the last
 * session ended (our own is always noted); the first peer to hear of a feed is asked to send. */
static void first_notes(shoal_ebt *e, peer *p, shoal_time now)
{
    p->noted = true;
    for (uint32_t pos = 0; pos < e->nfeeds; pos++) {
        feed *f = &e->feeds[pos];
        pfeed *pf = &p->pf[pos];
        if (!f->follow || pf->told != SHOAL_EBT_UNKNOWN)
            continue;
        if (pf->kept == f->have && pos != 0) /* in sync when we parted: skipped */
            continue;
        if (f->rx == 0)
            give_rx(e, pos, p, now);
        else
            tell(e, p, pos, false);
    }
}

/* ---- events --------------------------------------------------------------------------------- */

/* Our store holds the feed up to `seq`: sessions that asked for it are sent the rest; one that
 * only listens and is behind hears how far we are. */
static void have(shoal_ebt *e, uint32_t pos, int64_t seq)
{
    feed *f = &e->feeds[pos];
    if (seq <= f->have)
        return;
    f->have = seq;
    for (size_t i = 0; i < e->npeers; i++) {
        peer *p = &e->peers[i];
        pfeed *pf = &p->pf[pos];
        if (!p->noted || pf->remote == -1)
            continue;
        if (pf->tx)
            push(e, p, pos);
        else if (f->follow &&
                 (pf->told == SHOAL_EBT_UNKNOWN || (pf->told <= pf->remote && pf->remote < seq)))
            /* a feed left out as in sync, or one we just got ahead of it on: said once (it
             * asks if it wants what follows), not at every message */
            tell(e, p, pos, pf->rx);
    }
}

static void on_note(shoal_ebt *e, peer *p, const shoal_ebt_entry *n, shoal_time now)
{
    int64_t seq;
    bool their_rx;
    uint32_t pos;
    feed *f = find(e, n->feed, &pos);
    /* a feed we hold but do not replicate is sent to a peer that asks for it, never asked for */
    bool ours = f && (f->follow || f->have > 0);
    if (!shoal_ebt_note_read(n->value, &seq, &their_rx) || !ours) {
        e->stats.refused_notes++;
        if (n->value != SHOAL_EBT_NOTE_NONE && !ours) {
            /* not a feed we replicate: said once per notes object */
            if (f)
                note(e, p, pos, SHOAL_EBT_NOTE_NONE);
            else {
                memcpy(p->out[p->nout].feed, n->feed, 32);
                p->out[p->nout++].value = SHOAL_EBT_NOTE_NONE;
                e->stats.notes_out++;
            }
        }
        return;
    }
    pfeed *pf = &p->pf[pos];
    pf->remote = seq;
    if (seq < 0) { /* it does not replicate the feed with us */
        pf->tx = false;
        if (f->rx == p->id)
            give_rx(e, pos, furthest(e, pos, p->id), now);
        return;
    }
    bool was_tx = pf->tx;
    pf->tx = their_rx;
    /* what it holds, and where what we send it begins: it may ask again for what we sent (it
     * lost some), but a re-ask is honoured once a stall at most, so notes cannot buy resends */
    if (!their_rx || !was_tx || seq >= pf->sent || pf->sent < 0 || now >= pf->reask_at) {
        if (their_rx && was_tx && seq < pf->sent)
            pf->reask_at = now + e->cfg.stall;
        pf->sent = seq;
    }
    if (pf->told == SHOAL_EBT_UNKNOWN) {
        /* its first word on the feed: ours back, asking for what it is ahead by if nobody
         * sends it to us yet */
        if (f->follow && f->rx == 0 && seq > f->have)
            give_rx(e, pos, p, now);
        else
            tell(e, p, pos, f->rx == p->id);
    }
    if (f->follow && seq > f->have && f->rx != p->id && !pf->stalled) {
        /* further ahead than whoever sends it to us: it takes over */
        peer *rx = f->rx ? session(e, f->rx) : NULL;
        if (!rx || rx->pf[pos].remote < seq)
            give_rx(e, pos, p, now);
    }
    if (pf->tx)
        push(e, p, pos);
    else if (f->have > seq && pf->told < f->have)
        tell(e, p, pos, pf->rx); /* it is behind and does not know we are ahead */
}

static void on_received(shoal_ebt *e, peer *p, const shoal_ebt_event *ev, shoal_time now)
{
    uint32_t pos;
    feed *f = find(e, ev->feed, &pos);
    if (!f || !f->follow || !p->noted)
        return; /* a feed we ask nobody for: what came of it changes nothing */
    pfeed *pf = &p->pf[pos];
    if (ev->seq > pf->remote)
        pf->remote = ev->seq;
    if (ev->seq > pf->sent)
        pf->sent = ev->seq;
    if (ev->stored) {
        pf->stalled = false;
        if (f->rx == p->id)
            f->rx_since = now;
        have(e, pos, ev->seq);
    } else if (ev->seq > f->have + 1) {
        /* a gap (out of order): asked again from our head, once at each head (what it sends
         * next is what we need), the rest of the feed not lost */
        if (pf->reasked == f->have)
            return;
        pf->reasked = f->have;
        e->stats.out_of_order++;
        if (f->rx != p->id)
            give_rx(e, pos, p, now);
        else
            tell(e, p, pos, true);
    } else if (ev->seq == f->have + 1 && f->rx == p->id) {
        /* the next one, refused (a bad signature, say): not asked of it again */
        e->stats.refused_messages++;
        pf->stalled = true;
        give_rx(e, pos, furthest(e, pos, p->id), now);
    }
    /* else a duplicate: what follows it is on its way */
}

static void on_disconnect(shoal_ebt *e, peer *p, shoal_time now)
{
    size_t n = 0;
    for (uint32_t pos = 0; pos < e->nfeeds; pos++) {
        int64_t known = p->pf[pos].remote;
        if (known == SHOAL_EBT_UNKNOWN)
            known = p->pf[pos].kept; /* not spoken of: as it was */
        if (known == SHOAL_EBT_UNKNOWN)
            continue;
        memcpy(e->clock[n].feed, e->feeds[pos].key, 32);
        e->clock[n++].value = known;
    }
    shoal_ebt_fx *fx = emit(e, SHOAL_EBT_FX_CLOCK, p->id);
    fx->entries = e->clock;
    fx->nentries = n;
    uint32_t id = p->id;
    shoal_free(p->pf);
    shoal_free(p->out);
    *p = e->peers[--e->npeers];
    for (uint32_t pos = 0; pos < e->nfeeds; pos++)
        if (e->feeds[pos].rx == id) {
            e->feeds[pos].rx = 0;
            peer *next = furthest(e, pos, 0);
            if (next)
                give_rx(e, pos, next, now);
        }
}

/* Feeds whose rx peer has brought nothing for `stall` while another is ahead go to that one. */
static void on_tick(shoal_ebt *e, shoal_time now)
{
    for (uint32_t pos = 0; pos < e->nfeeds; pos++) {
        feed *f = &e->feeds[pos];
        if (!f->rx || now - f->rx_since < e->cfg.stall)
            continue;
        peer *rx = session(e, f->rx);
        if (rx && rx->pf[pos].remote <= f->have)
            continue; /* nothing owed: no stall */
        peer *next = furthest(e, pos, f->rx);
        if (!next) {
            f->rx_since = now; /* nobody else: look again a stall on */
            continue;
        }
        if (rx)
            rx->pf[pos].stalled = true; /* what it claims is not believed until it delivers */
        give_rx(e, pos, next, now);
    }
}

/* While sessions run, a tick every `stall` looks for stalled feeds (one pass over the feeds a
 * period, not one a message). */
static void schedule(shoal_ebt *e, shoal_time now, bool ticked)
{
    shoal_time at = e->npeers == 0                               ? SHOAL_TIME_NEVER
                    : e->scheduled == SHOAL_TIME_NEVER || ticked ? now + e->cfg.stall / 2
                                                                 : e->scheduled;
    if (at == e->scheduled)
        return;
    e->scheduled = at;
    emit(e, SHOAL_EBT_FX_SCHEDULE_TICK, 0)->at = at;
}

/* The notes gathered for each session go out, one object each. */
static void flush_notes(shoal_ebt *e)
{
    size_t k = 0;
    for (size_t i = 0; i < e->npeers; i++)
        k += e->peers[i].nout > 0;
    /* before the messages: a session's notes go first (a client's first ones above all) */
    memmove(e->fx + k, e->fx, e->nfx * sizeof *e->fx);
    e->nfx += k;
    k = 0;
    for (size_t i = 0; i < e->npeers; i++) {
        peer *p = &e->peers[i];
        if (!p->nout)
            continue;
        e->fx[k++] = (shoal_ebt_fx){
            .type = SHOAL_EBT_FX_NOTES, .peer = p->id, .entries = p->out, .nentries = p->nout};
    }
}

/* Empties the last call's notes (their effects are read by now). */
static void clear_notes(shoal_ebt *e)
{
    for (size_t i = 0; i < e->npeers; i++) {
        peer *p = &e->peers[i];
        for (size_t j = 0; j < p->nout; j++) {
            uint32_t pos;
            if (find(e, p->out[j].feed, &pos))
                p->pf[pos].out = NO_SLOT;
        }
        p->nout = 0;
    }
}

/* Room for what the event may write: a feed, a session, notes, effects. */
static int reserve(shoal_ebt *e, const shoal_ebt_event *ev, peer *p)
{
    int rc = SHOAL_OK;
    if ((ev->type == SHOAL_EBT_EV_HAVE || ev->type == SHOAL_EBT_EV_FOLLOW) &&
        !find(e, ev->feed, NULL))
        rc = reserve_feed(e);
    if (rc == SHOAL_OK && ev->type == SHOAL_EBT_EV_NOTES && p &&
        !grow((void **)&p->out, &p->out_cap, e->pf_cap + ev->nentries, sizeof *p->out))
        rc = SHOAL_E_NOMEM;
    size_t fx = 2 * e->npeers + 4 + (ev->type == SHOAL_EBT_EV_NOTES ? ev->nentries : 0);
    if (rc == SHOAL_OK && !grow((void **)&e->fx, &e->fx_cap, fx, sizeof *e->fx))
        rc = SHOAL_E_NOMEM;
    return rc;
}

static int connect_peer(shoal_ebt *e, const shoal_ebt_event *ev, shoal_time now)
{
    if (e->npeers >= e->cfg.max_peers)
        return SHOAL_E_INVAL;
    pfeed *pf = shoal_malloc(e->pf_cap * sizeof *pf);
    shoal_ebt_entry *out = shoal_malloc(e->pf_cap * sizeof *out);
    if (!pf || !out) {
        shoal_free(pf);
        shoal_free(out);
        return SHOAL_E_NOMEM;
    }
    peer *p = &e->peers[e->npeers++];
    *p = (peer){.id = ev->peer, .client = ev->client, .pf = pf, .out = out, .out_cap = e->pf_cap};
    for (size_t pos = 0; pos < e->nfeeds; pos++)
        pf[pos] = fresh_pfeed();
    for (size_t i = 0; i < ev->nentries; i++) {
        uint32_t pos;
        if (find(e, ev->entries[i].feed, &pos) && ev->entries[i].value >= -1 &&
            ev->entries[i].value <= SHOAL_EBT_MAX_SEQ)
            pf[pos].kept = ev->entries[i].value;
    }
    if (!p->client) /* the server notes first */
        first_notes(e, p, now);
    return SHOAL_OK;
}

int shoal_ebt_reduce(shoal_ebt *e, const shoal_ebt_event *ev, shoal_time now,
                     const shoal_ebt_fx **fx, size_t *nfx)
{
    clear_notes(e);
    e->nfx = 0;
    *fx = e->fx;
    *nfx = 0;
    if ((unsigned)ev->type > SHOAL_EBT_EV_TICK ||
        (ev->type != SHOAL_EBT_EV_HAVE && ev->type != SHOAL_EBT_EV_FOLLOW &&
         ev->type != SHOAL_EBT_EV_TICK && ev->peer == 0) ||
        (ev->type == SHOAL_EBT_EV_HAVE && (ev->seq < 0 || ev->seq > SHOAL_EBT_MAX_SEQ)) ||
        (ev->type == SHOAL_EBT_EV_RECEIVED && (ev->seq < 1 || ev->seq > SHOAL_EBT_MAX_SEQ)) ||
        (ev->nentries && !ev->entries) || ev->nentries > SHOAL_EBT_MAX_ENTRIES)
        return SHOAL_E_INVAL;
    peer *p = ev->peer ? session(e, ev->peer) : NULL;
    if (ev->type == SHOAL_EBT_EV_CONNECT && p)
        return SHOAL_E_INVAL;
    int rc = reserve(e, ev, p);
    if (rc != SHOAL_OK)
        return rc;
    uint32_t pos;
    switch (ev->type) {
    case SHOAL_EBT_EV_HAVE:
        feed_of(e, ev->feed, &pos);
        have(e, pos, ev->seq);
        break;
    case SHOAL_EBT_EV_FOLLOW: {
        feed *f = feed_of(e, ev->feed, &pos);
        bool follow = ev->follow || pos == 0; /* our own feed always */
        if (f->follow == follow)
            break;
        f->follow = follow;
        for (size_t i = 0; i < e->npeers; i++) {
            peer *q = &e->peers[i];
            if (!q->noted)
                continue;
            if (!follow) {
                q->pf[pos].tx = q->pf[pos].rx = false;
                note(e, q, pos, SHOAL_EBT_NOTE_NONE);
            } else if (f->rx == 0) {
                give_rx(e, pos, q, now);
            } else {
                tell(e, q, pos, false);
            }
        }
        if (!follow)
            f->rx = 0;
        break;
    }
    case SHOAL_EBT_EV_CONNECT:
        rc = connect_peer(e, ev, now);
        break;
    case SHOAL_EBT_EV_NOTES:
        if (!p)
            break;
        e->stats.notes_in += ev->nentries;
        if (!p->noted) /* the client answers the server's first notes with its own */
            first_notes(e, p, now);
        for (size_t i = 0; i < ev->nentries; i++)
            on_note(e, p, &ev->entries[i], now);
        break;
    case SHOAL_EBT_EV_RECEIVED:
        if (p)
            on_received(e, p, ev, now);
        break;
    case SHOAL_EBT_EV_DISCONNECT:
        if (p)
            on_disconnect(e, p, now);
        break;
    case SHOAL_EBT_EV_TICK:
        on_tick(e, now);
        break;
    }
    if (rc != SHOAL_OK)
        return rc;
    flush_notes(e);
    schedule(e, now, ev->type == SHOAL_EBT_EV_TICK);
    *fx = e->fx;
    *nfx = e->nfx;
    return SHOAL_OK;
}

int64_t shoal_ebt_have(const shoal_ebt *e, const uint8_t feed[32])
{
    const struct feed *f = find(e, feed, NULL);
    return f ? f->have : SHOAL_EBT_UNKNOWN;
}

bool shoal_ebt_following(const shoal_ebt *e, const uint8_t feed[32])
{
    const struct feed *f = find(e, feed, NULL);
    return f && f->follow;
}

uint32_t shoal_ebt_rx_peer(const shoal_ebt *e, const uint8_t feed[32])
{
    const struct feed *f = find(e, feed, NULL);
    return f ? f->rx : 0;
}

const shoal_ebt_stats *shoal_ebt_get_stats(const shoal_ebt *e)
{
    return &e->stats;
}

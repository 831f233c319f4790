/* --negotiate: every peer also runs the real negotiation core (shoal/negotiate.h), driven as the
 * node drives it (src/node/node.c and channels.c), over simulated WebRTC peers and hubs.
 *
 * How this works. The state manager's DIAL_PEER and CLOSE_PEER become the core's DIAL and CLOSE;
 * its REPORT and ADMIT effects go back to the state manager. All of it runs through one queue:
 * whatever a reducer's effects ask of a reducer waits until the last effect is carried out, so
 * no reducer is called while its effects are (events from the loop start a drain; nothing calls
 * a reducer otherwise). A CREATE_RTC makes a sim_rtc that describes itself after 5-50 ms (the
 * offerer at once, the answerer once it took the offer) and then finds 0-2 candidates. Signals
 * go through the record's hub after the hub delay: POSTED says 200 when the hub is up and the
 * recipient subscribed to it, else 0 and nothing arrives; the recipient reads the text with
 * shoal_swarm_parse, as a hub message. Once each end has taken the other's description, the
 * channel opens at both after 0.5-5 s with probability 1 - connect_failure (else never: the
 * deadline ends it), each end's handshake proves the other's key 20-200 ms after START_LINK, and
 * a closed rtc's other end sees RTC_CLOSED 10-100 ms later (webrtc.c). The offerer downloads
 * from a new connection with probability download_chance. A peer going offline stops its core
 * and drops its rtcs; it starts a new core when it comes back. */
#include "sim_internal.h"

#include "shoal/node.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

void *shoal__sim_grow(sim *s, void *items, uint32_t n, uint32_t *cap, size_t size)
{
    if (n < *cap)
        return items;
    uint32_t grown = *cap ? *cap * 2 : 64;
    void *more = shoal_realloc(items, grown * size);
    if (!more) {
        s->failed = SHOAL_E_NOMEM;
        return NULL;
    }
    *cap = grown;
    return more;
}

/* ---- The queue ------------------------------------------------------------------------------- */

static void carry_out(sim *s, uint32_t p, const shoal_negotiate_fx *fx, size_t nfx);

static void push(sim *s, const sim_pending *x)
{
    if (s->npending == s->pending_cap) {
        size_t cap = s->pending_cap ? s->pending_cap * 2 : 64;
        sim_pending *more = shoal_realloc(s->pending, cap * sizeof *more);
        if (!more) {
            s->failed = SHOAL_E_NOMEM;
            return;
        }
        s->pending = more;
        s->pending_cap = cap;
    }
    s->pending[s->npending++] = *x;
}

/* What a peer's core must never do: hold two current records for a channel, or more records than
 * its cap. */
static void check_records(sim *s, const shoal_negotiate *neg)
{
    size_t n = shoal_negotiate_count(neg);
    if (n > shoal_negotiate_get_config(neg)->max_records)
        s->violations.over_max_records++;
    for (size_t i = 0; i < n; i++) {
        const shoal_negotiate_record *a = shoal_negotiate_at(neg, i);
        for (size_t j = i + 1; a->role == SHOAL_NEG_CURRENT && j < n; j++) {
            const shoal_negotiate_record *b = shoal_negotiate_at(neg, j);
            if (b->role == SHOAL_NEG_CURRENT && strcmp(a->channel, b->channel) == 0)
                s->violations.two_current++;
        }
    }
}

static void reduce(sim *s, uint32_t p, const shoal_negotiate_event *ev)
{
    shoal_negotiate *neg = s->negs[p].neg;
    if (!s->peers[p].online || !neg || s->failed)
        return;
    const shoal_negotiate_fx *fx;
    size_t nfx;
    int rc = shoal_negotiate_reduce(neg, ev, s->now, &fx, &nfx);
    s->neg.events++;
    if (rc != SHOAL_OK) {
        s->failed = rc;
        return;
    }
    check_records(s, neg);
    carry_out(s, p, fx, nfx);
}

/* A stranger's offer: the state manager hears of it, the core whether it was let in (not when
 * the manager closes that feed at once), then the manager's effects are carried out. */
static void settle_admission(sim *s, const sim_pending *x)
{
    sim_peer *peer = &s->peers[x->peer];
    if (!peer->online || s->failed)
        return;
    const shoal_conn_fx *fx;
    size_t count;
    int rc = shoal_conn_reduce(peer->conn, &x->action, s->now, &fx, &count);
    s->actions++;
    if (rc != SHOAL_OK) {
        s->failed = rc;
        return;
    }
    bool refused = false;
    for (size_t i = 0; i < count; i++)
        refused |= fx[i].type == SHOAL_FX_CLOSE_PEER && memcmp(fx[i].feed, x->action.feed, 32) == 0;
    shoal_negotiate_event ev = {
        .type = SHOAL_NEG_EV_ADMISSION, .id = x->event.id, .admitted = !refused};
    reduce(s, x->peer, &ev); /* reduces neither: the manager's effects stay valid */
    shoal__sim_conn_effects(s, x->peer, fx, count);
}

static void run(sim *s, sim_pending *x)
{
    switch (x->kind) {
    case PENDING_CONN:
        shoal__sim_reduce_conn(s, x->peer, &x->action);
        break;
    case PENDING_NEGOTIATE:
        if (x->channel[0])
            x->event.channel = x->channel;
        reduce(s, x->peer, &x->event);
        break;
    case PENDING_ADMIT:
        settle_admission(s, x);
        break;
    }
}

/* Runs `first` (whose pointers stay borrowed), then whatever it queued, in order. Only events of
 * the loop start a drain: effects only queue. */
static void drain(sim *s, sim_pending *first)
{
    s->draining = true;
    run(s, first);
    for (size_t i = 0; i < s->npending; i++) {
        sim_pending x = s->pending[i]; /* the queue may grow meanwhile */
        run(s, &x);
    }
    s->npending = 0;
    s->draining = false;
}

void shoal__sim_neg_now(sim *s, uint32_t p, const shoal_negotiate_event *ev)
{
    assert(!s->draining); /* the loop's events only: an effect queues */
    sim_pending x = {.kind = PENDING_NEGOTIATE, .peer = p, .event = *ev};
    drain(s, &x);
}

void shoal__sim_neg_conn(sim *s, uint32_t p, const shoal_conn_action *a)
{
    sim_pending x = {.kind = PENDING_CONN, .peer = p, .action = *a};
    if (s->draining)
        push(s, &x);
    else
        drain(s, &x);
}

void shoal__sim_neg_dial(sim *s, uint32_t p, const shoal_conn_fx *fx)
{
    sim_pending x = {.kind = PENDING_NEGOTIATE, .peer = p};
    x.event.type = SHOAL_NEG_EV_DIAL;
    x.event.hub = fx->hub;
    memcpy(x.event.feed, fx->feed, 32);
    shoal_swarm_channel(fx->feed, x.channel);
    if (!s->peers[shoal__sim_peer_of_feed(fx->feed)].online)
        s->dials_to_offline++;
    push(s, &x);
}

void shoal__sim_neg_close(sim *s, uint32_t p, const shoal_conn_fx *fx)
{
    sim_pending x = {.kind = PENDING_NEGOTIATE, .peer = p};
    x.event.type = SHOAL_NEG_EV_CLOSE;
    x.event.reason = fx->reason;
    memcpy(x.event.feed, fx->feed, 32);
    push(s, &x);
}

void shoal__sim_neg_restart(sim *s, uint32_t p, const shoal_conn_fx *fx)
{
    sim_pending x = {.kind = PENDING_NEGOTIATE, .peer = p};
    x.event.type = SHOAL_NEG_EV_RESTART;
    memcpy(x.event.feed, fx->feed, 32);
    push(s, &x);
}

/* ---- The core's effects ---------------------------------------------------------------------- */

static void schedule_tick(sim *s, uint32_t p, shoal_time at)
{
    sim_negotiator *g = &s->negs[p];
    g->tick_at = at;
    if (at == SHOAL_TIME_NEVER || (g->tick_queued && g->queued_at <= at))
        return; /* a queued tick that comes early queues itself again */
    g->tick_gen++;
    g->tick_queued = true;
    g->queued_at = at;
    shoal__sim_at(s, at, EV_NEG_TICK, p, g->tick_gen, 0);
}

void shoal__sim_neg_refused(sim *s, uint32_t p, uint32_t id, shoal_negotiate_sig sig)
{
    sim_pending x = {.kind = PENDING_NEGOTIATE, .peer = p};
    x.event.type = SHOAL_NEG_EV_REFUSED;
    x.event.id = id;
    x.event.sig = sig;
    push(s, &x);
}

static void post_signal(sim *s, uint32_t p, const shoal_negotiate_fx *fx)
{
    uint8_t feed[32];
    uint32_t to = shoal_swarm_channel_feed(fx->channel, feed) == SHOAL_OK
                      ? shoal__sim_peer_of_feed(feed)
                      : UINT32_MAX;
    bool delivered = to < s->cfg.peers && fx->hub < s->cfg.hubs && s->hubs[fx->hub].up &&
                     s->peers[to].sub_pos[fx->hub] >= 0;
    uint32_t k = s->free_post;
    sim_post *posts = k != NO_LINK
                          ? s->posts
                          : shoal__sim_grow(s, s->posts, s->nposts, &s->posts_cap, sizeof *posts);
    if (posts)
        s->posts = posts;
    char *text = posts ? shoal_strndup(fx->text, strlen(fx->text)) : NULL;
    if (!text) {
        s->failed = SHOAL_E_NOMEM;
        return;
    }
    if (k != NO_LINK)
        s->free_post = s->posts[k].next_free;
    else
        k = s->nposts++;
    s->posts[k] = (sim_post){.text = text,
                             .from = p,
                             .life = s->negs[p].life,
                             .id = fx->id,
                             .to = to,
                             .hub = fx->hub,
                             .delivered = delivered};
    shoal_time at = s->now + shoal__sim_between(s, 20, s->cfg.announce_delay + 21);
    if (delivered)
        shoal__sim_at(s, at, EV_SIGNAL, k, 0, 0);
    shoal__sim_at(s, at, EV_POSTED, k, 0, 0);
}

static void carry_out(sim *s, uint32_t p, const shoal_negotiate_fx *fx, size_t nfx)
{
    for (size_t i = 0; i < nfx; i++) {
        /* NO_LINK for an id without a WebRTC peer: its effects are skipped */
        uint32_t x = shoal__sim_rtc_of(s, p, fx[i].id);
        switch (fx[i].type) {
        case SHOAL_NEG_FX_CREATE_RTC:
            shoal__sim_rtc_new(s, p, &fx[i]);
            break;
        case SHOAL_NEG_FX_SET_REMOTE:
            if (x != NO_LINK)
                shoal__sim_rtc_set_remote(s, p, x, &fx[i]);
            break;
        case SHOAL_NEG_FX_ADD_CANDIDATE: /* a simulated network needs none */
            break;
        case SHOAL_NEG_FX_POST_SIGNAL:
            post_signal(s, p, &fx[i]);
            break;
        case SHOAL_NEG_FX_START_LINK:
            if (x != NO_LINK)
                shoal__sim_at(s, s->now + shoal__sim_between(s, 20, 200), EV_LINKED, x,
                              s->rtcs[x].gen, 0);
            break;
        case SHOAL_NEG_FX_CLOSE_RTC:
            if (x != NO_LINK)
                shoal__sim_rtc_close(s, x, fx[i].close);
            break;
        case SHOAL_NEG_FX_ADMIT: {
            sim_pending later = {.kind = PENDING_ADMIT, .peer = p, .action = fx[i].report};
            later.event.id = fx[i].id;
            push(s, &later);
            break;
        }
        case SHOAL_NEG_FX_REPORT: {
            sim_pending later = {.kind = PENDING_CONN, .peer = p, .action = fx[i].report};
            push(s, &later);
            break;
        }
        case SHOAL_NEG_FX_CONNECTED:
            if (x != NO_LINK)
                shoal__sim_rtc_connected(s, x);
            break;
        case SHOAL_NEG_FX_SCHEDULE_TICK:
            schedule_tick(s, p, fx[i].at);
            break;
        case SHOAL_NEG_FX_RESTART_RTC: /* the path is found again on the new network */
            if (x != NO_LINK)
                shoal__sim_at(s, s->now + shoal__sim_between(s, 200, 2000), EV_RTC_RESTARTED, x,
                              s->rtcs[x].gen, 0);
            break;
        case SHOAL_NEG_FX_DISCONNECTED: /* its rtc is gone already */
        case SHOAL_NEG_FX_STOPPED:
        case SHOAL_NEG_FX_LOG:
            break;
        }
    }
}

/* ---- Peers coming and going ------------------------------------------------------------------ */

int shoal__sim_neg_setup(sim *s)
{
    s->negs = shoal_calloc(s->cfg.peers, sizeof *s->negs);
    s->free_rtc = NO_LINK;
    s->free_post = NO_LINK;
    return s->negs ? SHOAL_OK : SHOAL_E_NOMEM;
}

static void add_stats(shoal_negotiate_stats *sum, const shoal_negotiate_stats *st)
{
    sum->signals_dropped += st->signals_dropped;
    sum->signals_refused += st->signals_refused;
    sum->offers_turned_away += st->offers_turned_away;
    sum->negotiations_failed += st->negotiations_failed;
    sum->connections += st->connections;
    sum->offers_over_cap += st->offers_over_cap;
    sum->outbox_overflows += st->outbox_overflows;
}

void shoal__sim_neg_teardown(sim *s)
{
    for (uint32_t p = 0; s->negs && p < s->cfg.peers; p++) {
        shoal_negotiate_free(s->negs[p].neg);
        shoal_free(s->negs[p].rtcs);
    }
    for (uint32_t k = 0; k < s->nposts; k++)
        shoal_free(s->posts[k].text);
    shoal_free(s->negs);
    shoal_free(s->rtcs);
    shoal_free(s->posts);
    shoal_free(s->pending);
}

void shoal__sim_neg_join(sim *s, uint32_t p)
{
    shoal_negotiate_config nc;
    shoal_negotiate_config_default(&nc);
    nc.timeout = s->cfg.conn.timeout_rtc; /* one deadline: the state manager's, as in the node */
    char self[SHOAL_SWARM_CHANNEL_SIZE];
    uint8_t feed[32];
    shoal__sim_feed(p, feed);
    shoal_swarm_channel(feed, self);
    uint64_t seed = (uint64_t)(shoal__sim_uniform(s) * 0x1p53);
    int rc = shoal_negotiate_new(&s->negs[p].neg, &nc, self, seed);
    if (rc != SHOAL_OK)
        s->failed = rc;
}

/* p leaves: its core stops (its peers closing with goodbyes), then goes with every rtc it held. */
void shoal__sim_neg_leave(sim *s, uint32_t p)
{
    sim_negotiator *g = &s->negs[p];
    if (!g->neg)
        return;
    shoal__sim_neg_now(s, p, &(shoal_negotiate_event){.type = SHOAL_NEG_EV_STOP});
    while (g->nrtcs > 0)
        shoal__sim_rtc_drop(s, g->rtcs[g->nrtcs - 1]);
    add_stats(&s->neg.gone, shoal_negotiate_get_stats(g->neg));
    shoal_negotiate_free(g->neg);
    g->neg = NULL;
    g->life++;
    g->tick_gen++;
    g->tick_queued = false;
}

/* ---- Events ---------------------------------------------------------------------------------- */

/* A signal reaches its recipient. An offer that meets an offer of ours for the same channel is
 * glare: the core keeps one of the two, and the side whose offer goes answers the other. */
static void deliver(sim *s, uint32_t k)
{
    sim_post post = s->posts[k]; /* a copy: the pool may move meanwhile */
    uint32_t to = post.to;
    const shoal_negotiate *neg = s->negs[to].neg;
    if (!s->hubs[post.hub].up || s->peers[to].sub_pos[post.hub] < 0 || !neg)
        return;
    shoal_swarm_msg m;
    memset(&m, 0, sizeof m);
    if (shoal_swarm_parse(SHOAL_NODE_APP, post.text, strlen(post.text), s->now, false, &m) !=
        SHOAL_OK) {
        s->violations.unreadable_signals++;
        return;
    }
    const char *type = json_string_value(json_object_get(m.signal, "type"));
    const shoal_negotiate_record *r = shoal_negotiate_find(neg, m.from);
    bool crossed = type && strcmp(type, "offer") == 0 && r && r->initiator && !r->closing &&
                   r->phase == SHOAL_NEG_NEGOTIATING;
    s->neg.glare_crossed += crossed;
    shoal__sim_neg_now(
        s, to, &(shoal_negotiate_event){.type = SHOAL_NEG_EV_SIGNAL, .hub = post.hub, .msg = &m});
    r = s->negs[to].neg ? shoal_negotiate_find(s->negs[to].neg, m.from) : NULL;
    s->neg.glare_yielded += crossed && r && !r->initiator && strcmp(r->session, m.session) == 0;
    shoal_swarm_msg_clear(&m);
}

static void posted(sim *s, uint32_t k)
{
    sim_post post = s->posts[k];
    s->posts[k].text = NULL;
    s->posts[k].next_free = s->free_post;
    s->free_post = k;
    s->neg.posted++;
    s->neg.lost += !post.delivered;
    if (s->negs[post.from].life == post.life)
        shoal__sim_neg_now(s, post.from,
                           &(shoal_negotiate_event){.type = SHOAL_NEG_EV_POSTED,
                                                    .id = post.id,
                                                    .status = post.delivered ? 200 : 0});
    shoal_free(post.text);
}

static void tick(sim *s, uint32_t p, uint32_t gen)
{
    sim_negotiator *g = &s->negs[p];
    if (gen != g->tick_gen || !g->neg)
        return;
    g->tick_queued = false;
    if (g->tick_at == SHOAL_TIME_NEVER)
        return;
    if (s->now < g->tick_at) {
        schedule_tick(s, p, g->tick_at);
        return;
    }
    shoal__sim_neg_now(s, p, &(shoal_negotiate_event){.type = SHOAL_NEG_EV_TICK});
}

void shoal__sim_neg_dispatch(sim *s, const sim_event *e)
{
    switch (e->type) {
    case EV_NEG_TICK:
        tick(s, e->a, e->b);
        return;
    case EV_SIGNAL:
        deliver(s, e->a);
        return;
    case EV_POSTED:
        posted(s, e->a);
        return;
    default:
        shoal__sim_rtc_dispatch(s, e);
        return;
    }
}

/* ---- Checks and the report ------------------------------------------------------------------- */

/* Each rtc has its record and each record past admission its rtc; the state manager and the core
 * agree on who is connected; and a connection up for a second is up at both ends. */
static void check_peer(sim *s, uint32_t p)
{
    const sim_negotiator *g = &s->negs[p];
    const shoal_conn *conn = s->peers[p].conn;
    for (uint32_t i = 0; i < g->nrtcs; i++) {
        const sim_rtc *r = &s->rtcs[g->rtcs[i]];
        const shoal_negotiate_record *rec = shoal_negotiate_get(g->neg, r->id);
        if (!rec || rec->phase == SHOAL_NEG_ADMITTING)
            s->violations.rtc_mismatch++;
        if (r->up && !r->ending && r->up_since < s->now - 1000) {
            uint32_t y = shoal__sim_rtc_paired(s, g->rtcs[i]);
            if (y == NO_LINK || !s->rtcs[y].up)
                s->violations.link_mismatch++;
        }
    }
    for (size_t i = 0; i < shoal_negotiate_count(g->neg); i++) {
        const shoal_negotiate_record *rec = shoal_negotiate_at(g->neg, i);
        if (rec->phase != SHOAL_NEG_ADMITTING && shoal__sim_rtc_of(s, p, rec->id) == NO_LINK)
            s->violations.rtc_mismatch++;
        if (rec->role == SHOAL_NEG_CURRENT && rec->phase == SHOAL_NEG_ESTABLISHED &&
            !rec->closing) {
            const shoal_conn_peer *cp = shoal_conn_peer_find(conn, rec->feed);
            if (!cp || cp->state != SHOAL_PEER_CONNECTED)
                s->violations.link_mismatch++;
        }
    }
    for (size_t i = 0; i < shoal_conn_peer_count(conn); i++) {
        const shoal_conn_peer *cp = shoal_conn_peer_at(conn, i);
        if (cp->state != SHOAL_PEER_CONNECTED)
            continue;
        char channel[SHOAL_SWARM_CHANNEL_SIZE];
        shoal_swarm_channel(cp->feed, channel);
        const shoal_negotiate_record *rec = shoal_negotiate_find(g->neg, channel);
        if (!rec || rec->phase != SHOAL_NEG_ESTABLISHED)
            s->violations.link_mismatch++;
    }
}

void shoal__sim_neg_sample(sim *s)
{
    for (uint32_t p = 0; p < s->cfg.peers; p++)
        if (s->peers[p].online && s->negs[p].neg)
            check_peer(s, p);
}

void shoal__sim_neg_report(sim *s, shoal_buf *out)
{
    shoal_negotiate_stats t = s->neg.gone;
    uint64_t busy = 0;
    for (uint32_t p = 0; p < s->cfg.peers; p++) {
        if (s->negs[p].neg)
            add_stats(&t, shoal_negotiate_get_stats(s->negs[p].neg));
        busy += shoal_conn_get_stats(s->peers[p].conn)->busy;
    }
    shoal_buf_appendf(
        out,
        "\"negotiation\":{\"events\":%llu,\"signals_posted\":%llu,"
        "\"signals_lost\":%llu,\"signals_dropped\":%llu,\"signals_refused\":%llu,"
        "\"offers_turned_away\":%llu,\"busy\":%llu,\"negotiations_failed\":%llu,"
        "\"channels_opened\":%llu,\"channels_never_opened\":%llu,"
        "\"connections\":%llu,\"glare\":{\"crossed\":%llu,\"yielded\":%llu},"
        "\"offers_over_cap\":%llu,\"outbox_overflows\":%llu},",
        (unsigned long long)s->neg.events, (unsigned long long)s->neg.posted,
        (unsigned long long)s->neg.lost, (unsigned long long)t.signals_dropped,
        (unsigned long long)t.signals_refused, (unsigned long long)t.offers_turned_away,
        (unsigned long long)busy, (unsigned long long)t.negotiations_failed,
        (unsigned long long)s->neg.opened, (unsigned long long)s->neg.open_failed,
        (unsigned long long)t.connections, (unsigned long long)s->neg.glare_crossed,
        (unsigned long long)s->neg.glare_yielded, (unsigned long long)t.offers_over_cap,
        (unsigned long long)t.outbox_overflows);
}

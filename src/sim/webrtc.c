/* --negotiate: the simulated WebRTC peers the negotiation cores ask for (see negotiation.c).
 *
 * How this works. An rtc belongs to one record of one peer's core. Its descriptions name it
 * ("sim <index> <generation>"), so the rtc that takes one knows which rtc it pairs with, as a
 * real peer does from the ICE credentials and fingerprint it was given. Two rtcs are paired when
 * each took the other's description; only then can their channel open, and only then does one's
 * close reach the other. An rtc's index is reused once it is gone, with the next generation:
 * events and descriptions of an earlier one are recognised and dropped. */
#include "sim_internal.h"

#include <stdio.h>
#include <string.h>

bool shoal__sim_rtc_live(const sim *s, uint32_t x, uint32_t gen)
{
    return x < s->nrtcs && s->rtcs[x].live && s->rtcs[x].gen == gen;
}

uint32_t shoal__sim_rtc_of(const sim *s, uint32_t p, uint32_t id)
{
    const sim_negotiator *g = &s->negs[p];
    for (uint32_t i = 0; i < g->nrtcs; i++)
        if (s->rtcs[g->rtcs[i]].id == id)
            return g->rtcs[i];
    return NO_LINK;
}

void shoal__sim_rtc_new(sim *s, uint32_t p, const shoal_negotiate_fx *fx)
{
    sim_negotiator *g = &s->negs[p];
    uint32_t *owned = shoal__sim_grow(s, g->rtcs, g->nrtcs, &g->rtcs_cap, sizeof *owned);
    if (!owned)
        return;
    g->rtcs = owned;
    uint32_t x = s->free_rtc;
    if (x != NO_LINK) {
        s->free_rtc = s->rtcs[x].next_free;
    } else {
        sim_rtc *rtcs = shoal__sim_grow(s, s->rtcs, s->nrtcs, &s->rtcs_cap, sizeof *rtcs);
        if (!rtcs)
            return;
        s->rtcs = rtcs;
        x = s->nrtcs++;
        s->rtcs[x].gen = 0;
    }
    sim_rtc *r = &s->rtcs[x];
    *r = (sim_rtc){.owner = p,
                   .remote = shoal__sim_peer_of_feed(fx->feed),
                   .id = fx->id,
                   .gen = r->gen,
                   .partner = NO_LINK,
                   .live = true,
                   .initiator = fx->initiator};
    g->rtcs[g->nrtcs++] = x;
    if (r->initiator) /* the offerer describes itself at once; the answerer once it has the offer */
        shoal__sim_at(s, s->now + shoal__sim_between(s, 5, 50), EV_DESCRIBE, x, r->gen, 0);
}

static void rtc_free(sim *s, uint32_t x)
{
    sim_rtc *r = &s->rtcs[x];
    sim_negotiator *g = &s->negs[r->owner];
    for (uint32_t i = 0; i < g->nrtcs; i++)
        if (g->rtcs[i] == x) {
            g->rtcs[i] = g->rtcs[--g->nrtcs];
            break;
        }
    r->live = false;
    r->gen++;
    r->next_free = s->free_rtc;
    s->free_rtc = x;
}

uint32_t shoal__sim_rtc_paired(const sim *s, uint32_t x)
{
    const sim_rtc *r = &s->rtcs[x];
    if (r->partner == NO_LINK || !shoal__sim_rtc_live(s, r->partner, r->partner_gen))
        return NO_LINK;
    const sim_rtc *o = &s->rtcs[r->partner];
    return o->partner == x && o->partner_gen == r->gen ? r->partner : NO_LINK;
}

/* x closes: the rtc it pairs with sees RTC_CLOSED shortly. */
static void tell_partner(sim *s, uint32_t x)
{
    uint32_t y = shoal__sim_rtc_paired(s, x);
    if (y == NO_LINK || s->rtcs[y].ending)
        return;
    s->rtcs[y].ending = true;
    shoal__sim_at(s, s->now + shoal__sim_between(s, 10, 100), EV_RTC_CLOSED, y, s->rtcs[y].gen, 0);
}

void shoal__sim_rtc_drop(sim *s, uint32_t x)
{
    tell_partner(s, x);
    rtc_free(s, x);
}

void shoal__sim_rtc_set_remote(sim *s, uint32_t p, uint32_t x, const shoal_negotiate_fx *fx)
{
    unsigned y, gen;
    int used = 0;
    if (sscanf(fx->text, "sim %u %u%n", &y, &gen, &used) != 2 || fx->text[used]) {
        shoal__sim_neg_refused(s, p, fx->id,
                               fx->offer ? SHOAL_NEG_SIG_OFFER : SHOAL_NEG_SIG_ANSWER);
        return;
    }
    sim_rtc *r = &s->rtcs[x];
    r->partner = y;
    r->partner_gen = gen;
    if (fx->offer) {
        shoal__sim_at(s, s->now + shoal__sim_between(s, 5, 50), EV_DESCRIBE, x, r->gen, 0);
    } else if (shoal__sim_rtc_paired(s, x) != NO_LINK) {
        if (shoal__sim_uniform(s) < s->cfg.connect_failure) {
            s->neg.open_failed++;
            return;
        }
        shoal__sim_at(s, s->now + shoal__sim_between(s, 500, 5000), EV_RTC_OPEN, x, r->gen, 0);
    }
}

void shoal__sim_rtc_close(sim *s, uint32_t x, shoal_negotiate_close how)
{
    if (how == SHOAL_NEG_CLOSE_ABANDON) {
        shoal__sim_rtc_drop(s, x); /* no RTC_CLOSED for it */
        return;
    }
    tell_partner(s, x);
    sim_rtc *r = &s->rtcs[x];
    if (r->ending)
        return;
    r->ending = true;
    shoal__sim_at(s, s->now + shoal__sim_between(s, 10, 100), EV_RTC_CLOSED, x, r->gen, 0);
}

void shoal__sim_rtc_connected(sim *s, uint32_t x)
{
    sim_rtc *r = &s->rtcs[x];
    r->up = true;
    r->up_since = s->now;
    if (r->initiator && shoal__sim_uniform(s) < s->cfg.download_chance) {
        r->dl_until = s->now + shoal__sim_between(s, 5000, 120000);
        shoal__sim_at(s, s->now + DOWNLOAD_EVERY, EV_RTC_DOWNLOAD, x, r->gen, 0);
    }
}

bool shoal__sim_rtc_downloading(const sim *s, uint32_t p, uint32_t target)
{
    const sim_negotiator *g = &s->negs[p];
    for (uint32_t i = 0; i < g->nrtcs; i++) {
        const sim_rtc *r = &s->rtcs[g->rtcs[i]];
        if (r->remote == target && r->up && !r->ending && r->dl_until > s->now)
            return true;
    }
    return false;
}

/* ---- What the rtcs do, in time ---------------------------------------------------------------
 * Each step copies what it needs first: a core's effects may move the pool. */

/* The rtc's description, then its candidates. */
static void describe(sim *s, uint32_t x)
{
    sim_rtc r = s->rtcs[x];
    char text[64];
    snprintf(text, sizeof text, "sim %u %u", x, r.gen);
    for (uint32_t k = shoal__sim_pick(s, 3); k > 0; k--)
        shoal__sim_at(s, s->now + shoal__sim_between(s, 5, 60), EV_CANDIDATE, x, r.gen, 0);
    shoal_negotiate_event ev = {.type = SHOAL_NEG_EV_LOCAL_SIGNAL, .id = r.id, .text = text};
    ev.sig = r.initiator ? SHOAL_NEG_SIG_OFFER : SHOAL_NEG_SIG_ANSWER;
    shoal__sim_neg_now(s, r.owner, &ev);
}

static void candidate(sim *s, uint32_t x)
{
    sim_rtc r = s->rtcs[x];
    char text[96];
    snprintf(text, sizeof text, "candidate:%u 1 udp 2122260223 10.%u.%u.%u 50000 typ host", x,
             r.owner >> 16 & 0xff, r.owner >> 8 & 0xff, r.owner & 0xff);
    shoal_negotiate_event ev = {.type = SHOAL_NEG_EV_LOCAL_SIGNAL,
                                .id = r.id,
                                .sig = SHOAL_NEG_SIG_CANDIDATE,
                                .text = text};
    shoal__sim_neg_now(s, r.owner, &ev);
}

/* The channel opens at both ends (if both are still there and paired). */
static void open_both(sim *s, uint32_t x)
{
    uint32_t y = shoal__sim_rtc_paired(s, x);
    if (y == NO_LINK || s->rtcs[x].ending || s->rtcs[y].ending)
        return;
    s->neg.opened++;
    s->rtcs[x].open = s->rtcs[y].open = true;
    sim_rtc a = s->rtcs[x], b = s->rtcs[y];
    shoal_negotiate_event ev = {.type = SHOAL_NEG_EV_RTC_OPEN, .id = a.id};
    shoal__sim_neg_now(s, a.owner, &ev);
    if (shoal__sim_rtc_live(s, y, b.gen) && !s->rtcs[y].ending) {
        ev.id = b.id;
        shoal__sim_neg_now(s, b.owner, &ev);
    }
}

/* The handshake over the channel is done: it proves the key of the peer at the other end. */
static void linked(sim *s, uint32_t x)
{
    uint32_t y = shoal__sim_rtc_paired(s, x);
    if (y == NO_LINK || !s->rtcs[x].open || s->rtcs[x].ending || s->rtcs[y].ending)
        return;
    shoal_negotiate_event ev = {.type = SHOAL_NEG_EV_LINK_ESTABLISHED, .id = s->rtcs[x].id};
    shoal__sim_feed(s->rtcs[y].owner, ev.feed);
    shoal__sim_neg_now(s, s->rtcs[x].owner, &ev);
}

static void closed(sim *s, uint32_t x)
{
    sim_rtc r = s->rtcs[x];
    rtc_free(s, x);
    shoal_negotiate_event ev = {.type = SHOAL_NEG_EV_RTC_CLOSED, .id = r.id};
    shoal__sim_neg_now(s, r.owner, &ev);
}

static void download(sim *s, uint32_t x)
{
    sim_rtc r = s->rtcs[x];
    if (!r.up || r.ending || r.dl_until <= s->now)
        return;
    shoal_conn_action a;
    memset(&a, 0, sizeof a);
    a.type = SHOAL_ACT_DOWNLOAD_PROGRESS;
    shoal__sim_feed(r.remote, a.feed);
    shoal__sim_act(s, r.owner, a);
    if (shoal__sim_rtc_live(s, x, r.gen))
        shoal__sim_at(s, s->now + DOWNLOAD_EVERY, EV_RTC_DOWNLOAD, x, r.gen, 0);
}

void shoal__sim_rtc_dispatch(sim *s, const sim_event *e)
{
    if (!shoal__sim_rtc_live(s, e->a, e->b))
        return;
    switch (e->type) {
    case EV_DESCRIBE:
        describe(s, e->a);
        break;
    case EV_CANDIDATE:
        candidate(s, e->a);
        break;
    case EV_RTC_OPEN:
        open_both(s, e->a);
        break;
    case EV_LINKED:
        linked(s, e->a);
        break;
    case EV_RTC_CLOSED:
        closed(s, e->a);
        break;
    case EV_RTC_RESTARTED:
        if (s->rtcs[e->a].up && !s->rtcs[e->a].ending) {
            shoal_negotiate_event ev = {.type = SHOAL_NEG_EV_RTC_RESTARTED, .id = s->rtcs[e->a].id};
            shoal__sim_neg_now(s, s->rtcs[e->a].owner, &ev);
        }
        break;
    default: /* EV_RTC_DOWNLOAD */
        download(s, e->a);
        break;
    }
}

/* The record table, the outboxes and the effect list: memory the reducer sets up once at creation,
 * so that a step allocates only the texts it carries. */
#include "negotiate_internal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* splitmix64, as the state manager's: session ids need to be unlikely to repeat, not secret (the
 * handshake, not the session, proves who is at the other end). */
static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

void shoal_negotiate_config_default(shoal_negotiate_config *cfg)
{
    cfg->timeout = SHOAL_SECONDS(30);
    cfg->max_records = 64;
    cfg->max_outbox = 64;
}

int shoal_negotiate_new(shoal_negotiate **out, const shoal_negotiate_config *cfg, const char *self,
                        uint64_t seed)
{
    *out = NULL;
    if (cfg->timeout <= 0 || cfg->max_records < 2 || cfg->max_records > 65536 ||
        cfg->max_outbox < 1 || cfg->max_outbox > 65536 || !self || !*self ||
        strlen(self) > SHOAL_SWARM_MAX_FROM)
        return SHOAL_E_INVAL;
    shoal_negotiate *n = shoal_calloc(1, sizeof *n);
    if (!n)
        return SHOAL_E_NOMEM;
    n->cfg = *cfg;
    strcpy(n->self, self);
    n->rng = seed;
    n->next_id = 1;
    n->scheduled = SHOAL_TIME_NEVER;
    /* A step's effects are bounded: five per record when a tick expires them all, three when a
     * stop closes them, and a dozen for any single record's event. */
    n->fx_cap = 8 * (size_t)cfg->max_records + 16;
    n->recs = shoal_calloc(cfg->max_records, sizeof *n->recs);
    n->scratch = shoal_calloc(cfg->max_records, sizeof *n->scratch);
    n->fx = shoal_calloc(n->fx_cap, sizeof *n->fx);
    n->owned = shoal_calloc(n->fx_cap, sizeof *n->owned);
    bool ok = n->recs && n->scratch && n->fx && n->owned;
    for (uint32_t i = 0; ok && i < cfg->max_records; i++)
        ok = (n->recs[i].ring = shoal_calloc(cfg->max_outbox, sizeof(char *))) != NULL;
    if (!ok) {
        shoal_negotiate_free(n);
        return SHOAL_E_NOMEM;
    }
    *out = n;
    return SHOAL_OK;
}

void shoal_negotiate_free(shoal_negotiate *n)
{
    if (!n)
        return;
    shoal__neg_clear_fx(n);
    if (n->recs) {
        for (size_t i = 0; i < n->nrecs; i++) {
            shoal__neg_clear_outbox(n, &n->recs[i]);
            shoal_free(n->recs[i].offer_sdp);
        }
        for (uint32_t i = 0; i < n->cfg.max_records; i++)
            shoal_free(n->recs[i].ring);
    }
    shoal_free(n->recs);
    shoal_free(n->scratch);
    shoal_free(n->fx);
    shoal_free(n->owned);
    shoal_free(n);
}

/* ---- records -------------------------------------------------------------------------------- */

shoal__neg_rec *shoal__neg_by_id(shoal_negotiate *n, uint32_t id)
{
    for (size_t i = 0; id && i < n->nrecs; i++)
        if (n->recs[i].pub.id == id)
            return &n->recs[i];
    return NULL;
}

shoal__neg_rec *shoal__neg_current(shoal_negotiate *n, const char *channel)
{
    for (size_t i = 0; i < n->nrecs; i++)
        if (n->recs[i].pub.role == SHOAL_NEG_CURRENT &&
            strcmp(n->recs[i].pub.channel, channel) == 0)
            return &n->recs[i];
    return NULL;
}

shoal__neg_rec *shoal__neg_current_by_feed(shoal_negotiate *n, const uint8_t feed[32])
{
    for (size_t i = 0; i < n->nrecs; i++)
        if (n->recs[i].pub.role == SHOAL_NEG_CURRENT && memcmp(n->recs[i].pub.feed, feed, 32) == 0)
            return &n->recs[i];
    return NULL;
}

bool shoal__neg_full(const shoal_negotiate *n)
{
    return n->nrecs >= n->cfg.max_records;
}

shoal__neg_rec *shoal__neg_create(shoal_negotiate *n, const char *channel, const uint8_t feed[32],
                                  uint32_t hub, bool plain, bool initiator, const char *session,
                                  shoal_time now)
{
    assert(!shoal__neg_full(n));
    shoal__neg_rec *r = &n->recs[n->nrecs++];
    char **ring = r->ring;
    memset(r, 0, sizeof *r);
    r->ring = ring;
    shoal_negotiate_record *p = &r->pub;
    p->id = n->next_id++;
    if (n->next_id == 0)
        n->next_id = 1;
    snprintf(p->channel, sizeof p->channel, "%s", channel);
    memcpy(p->feed, feed, 32);
    p->hub = hub;
    p->plain = plain;
    p->initiator = initiator;
    if (plain) {
        p->session[0] = '\0'; /* plain peers know no sessions */
    } else if (session) {
        snprintf(p->session, sizeof p->session, "%s", session);
    } else {
        uint64_t x = next_u64(&n->rng);
        snprintf(p->session, sizeof p->session, "%08x%08x", (unsigned)(x >> 32), (unsigned)x);
    }
    p->phase = SHOAL_NEG_NEGOTIATING;
    p->role = SHOAL_NEG_CURRENT;
    p->deadline = now + n->cfg.timeout;
    return r;
}

void shoal__neg_clear_outbox(shoal_negotiate *n, shoal__neg_rec *r)
{
    char *text;
    while ((text = shoal__neg_pop_signal(r, n->cfg.max_outbox)) != NULL)
        shoal_free(text);
}

void shoal__neg_release(shoal_negotiate *n, shoal__neg_rec *r)
{
    shoal__neg_clear_outbox(n, r);
    shoal_free(r->offer_sdp);
    shoal__neg_rec *last = &n->recs[--n->nrecs];
    char **ring = r->ring;
    if (r != last)
        *r = *last;
    last->ring = ring;
}

void shoal__neg_push_signal(shoal__neg_rec *r, char *text, uint32_t max_outbox)
{
    assert(r->pub.queued < max_outbox);
    r->ring[(r->head + r->pub.queued++) % max_outbox] = text;
}

char *shoal__neg_pop_signal(shoal__neg_rec *r, uint32_t max_outbox)
{
    if (r->pub.queued == 0)
        return NULL;
    char *text = r->ring[r->head];
    r->ring[r->head] = NULL;
    r->head = (r->head + 1) % max_outbox;
    r->pub.queued--;
    return text;
}

/* ---- effects -------------------------------------------------------------------------------- */

void shoal__neg_clear_fx(shoal_negotiate *n)
{
    for (size_t i = 0; i < n->nfx; i++) {
        shoal_free(n->owned[i]);
        n->owned[i] = NULL;
    }
    n->nfx = 0;
}

shoal_negotiate_fx *shoal__neg_fx(shoal_negotiate *n, shoal_negotiate_fx_type type,
                                  const shoal__neg_rec *r, char *text)
{
    assert(n->nfx < n->fx_cap); /* the bound in shoal_negotiate_new is wrong otherwise */
    shoal_negotiate_fx *fx = &n->fx[n->nfx];
    n->owned[n->nfx++] = text;
    memset(fx, 0, sizeof *fx);
    fx->type = type;
    fx->text = text;
    if (r) {
        fx->id = r->pub.id;
        fx->hub = r->pub.hub;
        memcpy(fx->feed, r->pub.feed, 32);
        fx->initiator = r->pub.initiator;
        fx->plain = r->pub.plain;
    }
    return fx;
}

void shoal__neg_log(shoal_negotiate *n, const char *fmt, ...)
{
    shoal_negotiate_fx *fx = shoal__neg_fx(n, SHOAL_NEG_FX_LOG, NULL, NULL);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fx->line, sizeof fx->line, fmt, ap);
    va_end(ap);
    fx->text = fx->line;
}

/* ---- accessors ------------------------------------------------------------------------------ */

const shoal_negotiate_config *shoal_negotiate_get_config(const shoal_negotiate *n)
{
    return &n->cfg;
}

const shoal_negotiate_stats *shoal_negotiate_get_stats(const shoal_negotiate *n)
{
    return &n->stats;
}

size_t shoal_negotiate_count(const shoal_negotiate *n)
{
    return n->nrecs;
}

const shoal_negotiate_record *shoal_negotiate_at(const shoal_negotiate *n, size_t i)
{
    return i < n->nrecs ? &n->recs[i].pub : NULL;
}

const shoal_negotiate_record *shoal_negotiate_get(const shoal_negotiate *n, uint32_t id)
{
    shoal__neg_rec *r = shoal__neg_by_id((shoal_negotiate *)n, id);
    return r ? &r->pub : NULL;
}

const shoal_negotiate_record *shoal_negotiate_find(const shoal_negotiate *n, const char *channel)
{
    shoal__neg_rec *r = shoal__neg_current((shoal_negotiate *)n, channel);
    return r ? &r->pub : NULL;
}

const char *shoal_negotiate_ev_name(shoal_negotiate_ev_type type)
{
    static const char *const names[] = {
        "DIAL",   "CLOSE",   "SIGNAL",   "ADMISSION",        "LOCAL_SIGNAL",
        "POSTED", "REFUSED", "RTC_OPEN", "LINK_ESTABLISHED", "RTC_CLOSED",
        "TICK",   "STOP",    "RESTART",  "RTC_RESTARTED",
    };
    return (unsigned)type < sizeof names / sizeof names[0] ? names[type] : "UNKNOWN";
}

const char *shoal_negotiate_fx_name(shoal_negotiate_fx_type type)
{
    static const char *const names[] = {
        "CREATE_RTC", "SET_REMOTE",    "ADD_CANDIDATE", "POST_SIGNAL", "START_LINK",
        "CLOSE_RTC",  "ADMIT",         "REPORT",        "CONNECTED",   "DISCONNECTED",
        "STOPPED",    "SCHEDULE_TICK", "LOG",           "RESTART_RTC",
    };
    return (unsigned)type < sizeof names / sizeof names[0] ? names[type] : "UNKNOWN";
}

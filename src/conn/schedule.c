/* The scheduler: hub timers, attempt timeouts, forgetting, trimming, rotation and dialling, and
 * the time of the next tick. It runs after every action; the duties that only time can bring
 * (timeouts, forgetting, trimming, rotation) run on ticks. */
#include "conn_internal.h"

#include <string.h>

void shoal__conn_peer_failed(shoal_conn *c, size_t pos, shoal_time now, int err)
{
    shoal_conn_peer *p = &c->peers[pos];
    shoal__conn_touch_peer(c, pos);
    if (err != SHOAL_OK) /* a reason not told keeps the last one told */
        p->last_error = err;
    p->failures++;
    p->total_failures++;
    c->stats.failures++;
    p->backoff_until = now + shoal_conn_backoff(&c->cfg, p->failures, shoal__conn_random(c));
    if (p->failures >= c->cfg.forget_failures)
        shoal__conn_forget_by(c, now);
    shoal__conn_set_state(c, pos, SHOAL_PEER_DISCONNECTED, now);
}

void shoal__conn_next_announce(shoal_conn *c, shoal_time now)
{
    shoal_time period = c->connected ? c->cfg.announce_peered : c->cfg.announce_alone;
    c->next_announce =
        now + period + (shoal_time)((double)c->cfg.announce_jitter * shoal__conn_random(c));
}

void shoal__conn_hub_failed(shoal_conn *c, uint32_t id, shoal_time now)
{
    shoal_conn_hub *h = &c->hubs[id];
    shoal__conn_touch_hub(c, id);
    h->failures++;
    h->total_failures++;
    h->score -= h->score / 4;
    h->state = SHOAL_HUB_DISCONNECTED;
    h->next_attempt = now + shoal__conn_hub_backoff(&c->cfg, h->failures, shoal__conn_random(c));
    c->fill_dirty = true;
}

static shoal_time earliest(shoal_time a, shoal_time b)
{
    return a < b ? a : b;
}

static bool downloading(const shoal_conn_peer *p, shoal_time now)
{
    return p->downloading_until > now;
}

/* The best hub to reach `p` through now: connected, announced it within forget_after; the
 * healthiest such hub, then the freshest announce. NO_HUB when there is none. */
static uint32_t best_route(const shoal_conn *c, const shoal_conn_peer *p, shoal_time now)
{
    uint32_t best = SHOAL_CONN_NO_HUB;
    int32_t best_score = -1;
    shoal_time best_time = 0;
    for (uint32_t i = 0; i < p->nroutes; i++) {
        const shoal_conn_route *r = &p->routes[i];
        if (r->hub >= c->nhub_slots || !c->hub_live[r->hub] ||
            c->hubs[r->hub].state != SHOAL_HUB_CONNECTED ||
            now - r->announced >= c->cfg.forget_after)
            continue;
        int32_t score = c->hubs[r->hub].score;
        if (score > best_score || (score == best_score && r->announced > best_time)) {
            best = r->hub;
            best_score = score;
            best_time = r->announced;
        }
    }
    return best;
}

/* Whether `a` should be dialled before `b`: fewer failures, then the fresher announce, then the
 * smaller feed id (so that the order never depends on table layout). */
static bool better(const shoal_conn_peer *a, const shoal_conn_peer *b)
{
    if (a->failures != b->failures)
        return a->failures < b->failures;
    if (a->last_announce != b->last_announce)
        return a->last_announce > b->last_announce;
    return memcmp(a->feed, b->feed, 32) < 0;
}

static bool candidate(const shoal_conn *c, size_t pos, shoal_time now, uint32_t *hub)
{
    const shoal_conn_peer *p = &c->peers[pos];
    if (p->state != SHOAL_PEER_DISCONNECTED || p->backoff_until > now ||
        c->peer_mark[pos] == MARK_GONE)
        return false;
    *hub = best_route(c, p, now);
    return *hub != SHOAL_CONN_NO_HUB;
}

static void dial(shoal_conn *c, size_t pos, uint32_t hub, shoal_time now)
{
    shoal_conn_peer *p = &c->peers[pos];
    shoal__conn_fx_push(c, SHOAL_FX_DIAL_PEER, hub, p->feed);
    shoal__conn_touch_peer(c, pos);
    p->route = hub;
    p->transport = SHOAL_TRANSPORT_RTC;
    p->inbound = false;
    p->last_attempt = now;
    p->deadline = now + c->cfg.timeout_rtc;
    c->stats.dials++;
    shoal__conn_set_state(c, pos, SHOAL_PEER_CONNECTING, now);
}

bool shoal__conn_try_dial(shoal_conn *c, size_t pos, shoal_time now)
{
    uint32_t hub;
    if (c->slots_used >= c->cfg.max_peers || !candidate(c, pos, now, &hub))
        return false;
    dial(c, pos, hub, now);
    return true;
}

/* Dials the best candidates into the free slots, scanning every peer; notes when a peer in
 * backoff next becomes dialable, so that no scan is needed before then. */
static void fill(shoal_conn *c, shoal_time now)
{
    if (c->slots_used >= c->cfg.max_peers || (!c->fill_dirty && now < c->fill_next))
        return;
    size_t want = c->cfg.max_peers - c->slots_used;
    /* The best `want` candidates, best first; want <= max_peers, so insertion is cheap. */
    uint32_t best[64], hubs[64];
    if (want > sizeof best / sizeof best[0])
        want = sizeof best / sizeof best[0];
    size_t nbest = 0;
    shoal_time next = SHOAL_TIME_NEVER;
    for (size_t pos = 0; pos < c->npeers; pos++) {
        const shoal_conn_peer *p = &c->peers[pos];
        if (p->state != SHOAL_PEER_DISCONNECTED)
            continue;
        uint32_t hub;
        if (p->backoff_until > now) {
            if (p->backoff_until < next && c->peer_mark[pos] != MARK_GONE &&
                best_route(c, p, now) != SHOAL_CONN_NO_HUB)
                next = p->backoff_until;
            continue;
        }
        if (!candidate(c, pos, now, &hub))
            continue;
        if (nbest == want && !better(p, &c->peers[best[nbest - 1]]))
            continue;
        size_t at = nbest < want ? nbest++ : want - 1;
        while (at > 0 && better(p, &c->peers[best[at - 1]])) {
            best[at] = best[at - 1];
            hubs[at] = hubs[at - 1];
            at--;
        }
        best[at] = (uint32_t)pos;
        hubs[at] = hub;
    }
    for (size_t i = 0; i < nbest; i++)
        dial(c, best[i], hubs[i], now);
    c->fill_dirty = false;
    c->fill_next = next;
}

/* Whether any peer can be dialled now; if none, *next is when the first backoff of a peer with a
 * usable route ends. */
static bool any_candidate(const shoal_conn *c, shoal_time now, shoal_time *next)
{
    *next = SHOAL_TIME_NEVER;
    for (size_t pos = 0; pos < c->npeers; pos++) {
        const shoal_conn_peer *p = &c->peers[pos];
        if (p->state != SHOAL_PEER_DISCONNECTED || c->peer_mark[pos] == MARK_GONE ||
            best_route(c, p, now) == SHOAL_CONN_NO_HUB)
            continue;
        if (p->backoff_until <= now)
            return true;
        *next = earliest(*next, p->backoff_until);
    }
    return false;
}

/* Dials hubs whose retry time has come, fails those past their deadline, announces on the
 * connected ones when the swarm's announce is due, and notes when a hub next needs this. Skipped
 * when no hub changed and no hub timer or announce is due. */
static void service_hubs(shoal_conn *c, shoal_time now)
{
    bool announce = c->next_announce <= now, any_connected = false;
    if (!c->hubs_touched && !announce && now < c->hub_next)
        return;
    shoal_time next = SHOAL_TIME_NEVER;
    for (uint32_t id = 0; id < c->nhub_slots; id++) {
        if (!c->hub_live[id] || c->hub_mark[id] == MARK_GONE)
            continue;
        shoal_conn_hub *h = &c->hubs[id];
        if (h->state == SHOAL_HUB_DISCONNECTED && h->next_attempt <= now) {
            shoal__conn_fx_push(c, SHOAL_FX_CONNECT_TO_HUB, id, NULL);
            shoal__conn_touch_hub(c, id);
            h->state = SHOAL_HUB_CONNECTING;
            h->deadline = now + c->cfg.hub_timeout;
        } else if (h->state == SHOAL_HUB_CONNECTING && h->deadline <= now) {
            shoal__conn_fx_push(c, SHOAL_FX_DISCONNECT_HUB, id, NULL);
            shoal__conn_hub_failed(c, id, now);
        } else if (h->state == SHOAL_HUB_CONNECTED) {
            any_connected = true;
            if (announce)
                shoal__conn_fx_push(c, SHOAL_FX_ANNOUNCE_TO_HUB, id, NULL);
        }
        if (h->state == SHOAL_HUB_DISCONNECTED)
            next = earliest(next, h->next_attempt);
        else if (h->state == SHOAL_HUB_CONNECTING)
            next = earliest(next, h->deadline);
    }
    c->hub_next = next;
    if (!any_connected)
        c->next_announce = SHOAL_TIME_NEVER;
    else if (announce)
        shoal__conn_next_announce(c, now);
}

static void expire_attempts(shoal_conn *c, shoal_time now)
{
    if (c->slots_used == c->connected && c->restarting == 0)
        return; /* nobody is connecting or restarting */
    /* Backwards: leaving the active list moves its last entry into the hole. */
    for (size_t i = c->nactive; i-- > 0;) {
        size_t pos = c->active[i];
        shoal_conn_peer *p = &c->peers[pos];
        if (p->state == SHOAL_PEER_CONNECTING && p->deadline <= now) {
            shoal__conn_close(c, pos, SHOAL_CLOSE_TIMEOUT);
            c->stats.timeouts++;
            shoal__conn_peer_failed(c, pos, now, SHOAL_E_CONN_TIMEOUT);
        } else if (p->restart_by != 0 && p->restart_by <= now) {
            /* the network change's close, late: no failure, no rest; dialled again once its
             * close is told (a dial now would hear the old connection's end as its own) */
            shoal__conn_close(c, pos, SHOAL_CLOSE_NETWORK_RESET);
            shoal__conn_set_state(c, pos, SHOAL_PEER_DISCONNECTING, now);
        }
    }
}

/* Forgets silent and hopeless peers. A pass over the table runs in slices of FORGET_SLICE
 * records, one per tick, forgetting at most FORGET_PER_TICK peers a tick, so no tick pays for a
 * whole large table. When a pass ends, the next starts when the first peer it skipped could be
 * forgotten, and no sooner than forget_after / 8 on: a peer is forgotten after between 1 and
 * about 1.125 forget_after of silence, and a stream of peers reaching their limit one by one costs
 * one pass per period. */
static void forget(shoal_conn *c, shoal_time now)
{
    if (now < c->forget_next)
        return;
    if (c->forget_cursor == 0)
        c->forget_min = SHOAL_TIME_NEVER;
    /* Removals since the last slice may have shrunk the table below the cursor. */
    size_t n = 0, pos = c->forget_cursor < c->npeers ? c->forget_cursor : c->npeers;
    size_t end = c->npeers - pos > FORGET_SLICE ? pos + FORGET_SLICE : c->npeers;
    size_t first_forgotten = SIZE_MAX;
    for (; pos < end && n < FORGET_PER_TICK; pos++) {
        const shoal_conn_peer *p = &c->peers[pos];
        if (p->state != SHOAL_PEER_DISCONNECTED || p->protected || c->peer_mark[pos] == MARK_GONE)
            continue;
        /* Silent for forget_after; or, after forget_failures failures in a row, silent for one
         * announce period: it has stopped announcing, and dialling it keeps failing. A peer
         * that keeps announcing is kept with its backoff, however often it fails. */
        shoal_time forget_at = p->last_announce + c->cfg.forget_after;
        if (p->failures >= c->cfg.forget_failures) {
            shoal_time hopeless_at =
                p->last_announce + c->cfg.announce_peered + c->cfg.announce_jitter;
            forget_at = earliest(hopeless_at, forget_at);
        }
        if (forget_at > now) {
            c->forget_min = earliest(c->forget_min, forget_at);
        } else {
            shoal__conn_forget_peer(c, pos);
            c->stats.forgotten++;
            first_forgotten = n++ == 0 ? pos : first_forgotten;
        }
    }
    /* Removing the forgotten moves the table's last records into their places: the pass goes on
     * from the first of them, so that no moved record is skipped. */
    if (first_forgotten != SIZE_MAX)
        pos = first_forgotten;
    if (pos < c->npeers - n) {
        c->forget_cursor = pos;
        c->forget_next = now; /* the pass goes on at the next tick */
        return;
    }
    c->forget_cursor = 0;
    shoal_time soonest = now + c->cfg.forget_after / 8;
    c->forget_next = c->forget_min > soonest ? c->forget_min : soonest;
}

/* A connection we may cut: not protected, not downloading, past its grace period. */
static bool cuttable(const shoal_conn *c, const shoal_conn_peer *p, shoal_time now)
{
    return p->state == SHOAL_PEER_CONNECTED && !p->protected && !downloading(p, now) &&
           now - p->connected_since >= c->cfg.grace;
}

static void cut(shoal_conn *c, size_t pos, shoal_close_reason reason, shoal_time now)
{
    shoal__conn_close(c, pos, reason);
    shoal__conn_touch_peer(c, pos);
    c->peers[pos].backoff_until = now + c->cfg.rest_after_rotation;
    shoal__conn_set_state(c, pos, SHOAL_PEER_DISCONNECTING, now);
}

/* Above max_peers (inbound connections did it): cut the newest cuttable connection. */
static void trim(shoal_conn *c, shoal_time now)
{
    if (c->slots_used <= c->cfg.max_peers)
        return;
    size_t victim = SIZE_MAX;
    for (size_t i = 0; i < c->nactive; i++) {
        const shoal_conn_peer *p = &c->peers[c->active[i]];
        if (cuttable(c, p, now) &&
            (victim == SIZE_MAX || p->connected_since > c->peers[victim].connected_since ||
             (p->connected_since == c->peers[victim].connected_since &&
              memcmp(p->feed, c->peers[victim].feed, 32) < 0)))
            victim = c->active[i];
    }
    if (victim != SIZE_MAX) {
        cut(c, victim, SHOAL_CLOSE_TRIMMED, now);
        c->stats.trims++;
    }
}

/* The connection most past its lifetime that may be cut; SIZE_MAX if none, or if anything
 * downloads (a rotation never happens then). */
static size_t due_for_rotation(const shoal_conn *c, shoal_time now)
{
    size_t victim = SIZE_MAX;
    for (size_t i = 0; i < c->nactive; i++) {
        const shoal_conn_peer *p = &c->peers[c->active[i]];
        if (downloading(p, now))
            return SIZE_MAX;
        if (cuttable(c, p, now) && p->rotate_at <= now &&
            (victim == SIZE_MAX || p->rotate_at < c->peers[victim].rotate_at))
            victim = c->active[i];
    }
    return victim;
}

bool shoal__conn_rotate_for_inbound(shoal_conn *c, shoal_time now)
{
    size_t victim = due_for_rotation(c, now);
    if (victim == SIZE_MAX)
        return false;
    cut(c, victim, SHOAL_CLOSE_ROTATED, now);
    c->stats.rotations++;
    c->cut_dirty = true;
    return true;
}

/* Past its lifetime, a connection makes room for a waiting candidate: one per tick, and never
 * while anything downloads. With no candidate, the rotation waits for one (rotation_waits). */
void shoal__conn_rotate(shoal_conn *c, shoal_time now)
{
    c->rotation_waits = false;
    c->cut_dirty = true;
    if (c->slots_used < c->cfg.max_peers)
        return;
    size_t victim = due_for_rotation(c, now);
    if (victim == SIZE_MAX)
        return;
    if (any_candidate(c, now, &c->candidate_next)) {
        cut(c, victim, SHOAL_CLOSE_ROTATED, now);
        c->stats.rotations++;
    } else {
        c->rotation_waits = true;
    }
}

/* When a rotation or a trim can next happen. A cut that is due now (outside a tick) asks for a
 * tick at once; one held back by downloads waits for them to end; a rotation with no candidate
 * waits for candidate_next (or an announce, which rotates at once). */
static shoal_time next_cut(const shoal_conn *c, shoal_time now)
{
    shoal_time at = SHOAL_TIME_NEVER;
    if (c->slots_used < c->cfg.max_peers)
        return at;
    bool over = c->slots_used > c->cfg.max_peers;
    shoal_time downloads_end = 0;
    for (size_t i = 0; i < c->nactive; i++) {
        const shoal_conn_peer *p = &c->peers[c->active[i]];
        if (downloading(p, now) && p->downloading_until > downloads_end)
            downloads_end = p->downloading_until;
    }
    for (size_t i = 0; i < c->nactive; i++) {
        const shoal_conn_peer *p = &c->peers[c->active[i]];
        if (p->state != SHOAL_PEER_CONNECTED || p->protected)
            continue;
        shoal_time grace_end = p->connected_since + c->cfg.grace;
        shoal_time due = over ? grace_end : (p->rotate_at > grace_end ? p->rotate_at : grace_end);
        if (due > now)
            at = earliest(at, due);
        else if (downloading(p, now))
            at = earliest(at, p->downloading_until);
        else if (over)
            at = earliest(at, now + 1);
        else if (downloads_end > now)
            at = earliest(at, downloads_end);
        else
            at = earliest(at, c->rotation_waits ? c->candidate_next : now + 1);
    }
    return at;
}

static void schedule_tick(shoal_conn *c, shoal_time now)
{
    shoal_time at = earliest(earliest(c->heartbeat, c->next_announce), c->hub_next);
    /* Connecting and restarting peers have deadlines that connected ones do not. */
    for (size_t i = 0; (c->slots_used > c->connected || c->restarting) && i < c->nactive; i++) {
        const shoal_conn_peer *p = &c->peers[c->active[i]];
        if (p->state == SHOAL_PEER_CONNECTING)
            at = earliest(at, p->deadline);
        else if (p->restart_by != 0)
            at = earliest(at, p->restart_by);
    }
    if (c->slots_used < c->cfg.max_peers)
        at = earliest(at, c->fill_next);
    if (c->cut_dirty || now >= c->cut_at) {
        c->cut_at = next_cut(c, now);
        c->cut_dirty = false;
    }
    at = earliest(at, c->cut_at);
    if (at <= now)
        at = now + 1;
    if (at != c->scheduled) {
        c->scheduled = at;
        shoal__conn_fx_push(c, SHOAL_FX_SCHEDULE_TICK, SHOAL_CONN_NO_HUB, NULL);
        c->fx[c->nfx - 1].at = at;
    }
}

void shoal__conn_schedule(shoal_conn *c, shoal_time now, bool ticked)
{
    if (!c->started || ticked) {
        c->started = true;
        c->heartbeat = now + (shoal_time)((double)c->cfg.heartbeat * c->tick_factor);
    }
    if (ticked) {
        c->scheduled = SHOAL_TIME_NEVER;
        expire_attempts(c, now);
    }
    service_hubs(c, now);
    if (ticked) {
        forget(c, now);
        trim(c, now);
        shoal__conn_rotate(c, now);
    }
    fill(c, now);
    shoal__conn_flush(c);
    schedule_tick(c, now);
}

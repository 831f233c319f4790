/* The simulator: a discrete-event loop over virtual time. Peers are indices; a peer's feed id
 * carries its index in its first four bytes. The model is described in shoal/sim.h. */
#include "sim_internal.h"

#include <math.h>
#include <string.h>

/* ---- Randomness ----------------------------------------------------------------------------- */

static uint64_t next_u64(sim *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

double shoal__sim_uniform(sim *s)
{
    return (double)(next_u64(s) >> 11) * 0x1.0p-53;
}

/* A whole number of milliseconds in [lo, hi). */
shoal_time shoal__sim_between(sim *s, shoal_time lo, shoal_time hi)
{
    return lo + (shoal_time)((double)(hi - lo) * shoal__sim_uniform(s));
}

/* Exponentially distributed, with the given mean. */
shoal_time shoal__sim_exp(sim *s, shoal_time mean)
{
    double u = shoal__sim_uniform(s);
    return (shoal_time)(-(double)mean * log(1.0 - u)) + 1;
}

uint32_t shoal__sim_pick(sim *s, uint32_t n)
{
    return (uint32_t)(shoal__sim_uniform(s) * n);
}

/* ---- Feeds ----------------------------------------------------------------------------------- */

void shoal__sim_feed(uint32_t peer, uint8_t feed[32])
{
    memset(feed, 0x77, 32);
    memcpy(feed, &peer, sizeof peer);
}

uint32_t shoal__sim_peer_of_feed(const uint8_t feed[32])
{
    uint32_t peer;
    memcpy(&peer, feed, sizeof peer);
    return peer;
}

/* ---- Hub subscriptions ---------------------------------------------------------------------- */

static void subscribe(sim *s, uint32_t p, uint32_t h)
{
    sim_peer *peer = &s->peers[p];
    if (peer->sub_pos[h] >= 0)
        return;
    sim_hub *hub = &s->hubs[h];
    peer->sub_pos[h] = (int32_t)hub->nsubs;
    hub->subs[hub->nsubs++] = p;
}

static void unsubscribe(sim *s, uint32_t p, uint32_t h)
{
    sim_peer *peer = &s->peers[p];
    int32_t at = peer->sub_pos[h];
    if (at < 0)
        return;
    sim_hub *hub = &s->hubs[h];
    uint32_t last = hub->subs[--hub->nsubs];
    hub->subs[at] = last;
    s->peers[last].sub_pos[h] = at;
    peer->sub_pos[h] = -1;
}

/* ---- Feeding a peer's state manager ---------------------------------------------------------- */

/* Feeds p's state manager; with --negotiate through the queue negotiation.c keeps. */
void shoal__sim_act(sim *s, uint32_t p, shoal_conn_action a)
{
    if (s->cfg.negotiate)
        shoal__sim_neg_conn(s, p, &a);
    else
        shoal__sim_reduce_conn(s, p, &a);
}

void shoal__sim_reduce_conn(sim *s, uint32_t p, const shoal_conn_action *a)
{
    sim_peer *peer = &s->peers[p];
    if (!peer->online || s->failed)
        return;
    const shoal_conn_fx *fx;
    size_t nfx;
    int rc = shoal_conn_reduce(peer->conn, a, s->now, &fx, &nfx);
    s->actions++;
    if (rc != SHOAL_OK) {
        s->failed = rc;
        return;
    }
    shoal__sim_conn_effects(s, p, fx, nfx);
}

static shoal_conn_action action(shoal_conn_act_type type, uint32_t hub)
{
    shoal_conn_action a;
    memset(&a, 0, sizeof a);
    a.type = type;
    a.hub = hub;
    return a;
}

static shoal_conn_action peer_action(shoal_conn_act_type type, uint32_t other, uint32_t hub)
{
    shoal_conn_action a = action(type, hub);
    shoal__sim_feed(other, a.feed);
    return a;
}

void shoal__sim_schedule_tick(sim *s, uint32_t p, shoal_time at)
{
    sim_peer *peer = &s->peers[p];
    peer->tick_at = at;
    if (peer->tick_queued && peer->queued_at <= at)
        return;
    peer->tick_gen++;
    peer->tick_queued = true;
    peer->queued_at = at;
    shoal__sim_at(s, at, EV_TICK, p, peer->tick_gen, 0);
}

void shoal__sim_tick(sim *s, uint32_t p, uint32_t gen)
{
    sim_peer *peer = &s->peers[p];
    if (!peer->online || gen != peer->tick_gen)
        return;
    peer->tick_queued = false;
    if (s->now < peer->tick_at) {
        shoal__sim_schedule_tick(s, p, peer->tick_at);
        return;
    }
    shoal__sim_act(s, p, action(SHOAL_ACT_PEER_CONNECTION_TIMER_TICKED, 0));
}

/* ---- Links between peers --------------------------------------------------------------------- */

/* Ends a link that `closer` closed (or that went away under it). An open link's ends hear
 * DID_DISCONNECT (the closer unless tell_closer is false: it went offline or reset); an attempt's
 * other end hears CONNECTION_FAILED if it knew of it. */
static void link_end(sim *s, uint32_t id, uint32_t closer, bool tell_closer)
{
    sim_link *l = &s->links[id];
    uint32_t other = closer == l->a ? l->b : l->a;
    if (l->up) {
        shoal__sim_at(s, s->now + shoal__sim_between(s, 10, 100), EV_CLOSED, other, closer, 0);
        if (tell_closer)
            shoal__sim_at(s, s->now + shoal__sim_between(s, 10, 100), EV_CLOSED, closer, other, 0);
    } else if (other == l->a || l->offered || l->glare) {
        shoal__sim_at(s, s->now + 1, EV_FAILED, other, closer, 0);
    }
    shoal__sim_link_free(s, id);
}

static void dial(sim *s, uint32_t p, uint32_t target, uint32_t hub)
{
    if (target >= s->cfg.peers)
        return;
    if (!s->peers[target].online)
        s->dials_to_offline++;
    uint32_t id = shoal__sim_link_find(s, p, target);
    if (id != NO_LINK) {
        sim_link *l = &s->links[id];
        if (!l->up && l->a == target)
            l->glare = true; /* both dialled: one negotiation serves both */
        else
            s->violations.link_mismatch++;
        return;
    }
    id = shoal__sim_link_new(s, p, target);
    if (id == NO_LINK)
        return;
    sim_link *l = &s->links[id];
    l->hub = hub;
    const sim_peer *t = &s->peers[target];
    bool reachable = t->online && hub < s->cfg.hubs && s->hubs[hub].up &&
                     s->peers[p].sub_pos[hub] >= 0 && t->sub_pos[hub] >= 0;
    /* An unreachable peer never answers; the dialler's timeout ends the attempt. */
    if (reachable) {
        shoal__sim_at(s, s->now + shoal__sim_between(s, 50, 300), EV_OFFER, id, l->gen, 0);
        shoal__sim_at(s, s->now + shoal__sim_between(s, 500, 5000), EV_NEGOTIATED, id, l->gen, 0);
    }
}

/* The offer reaches the dialled peer, which may turn it away. */
void shoal__sim_offered(sim *s, uint32_t id)
{
    sim_link *l = &s->links[id];
    l->offered = true;
    shoal__sim_act(s, l->b, peer_action(SHOAL_ACT_REMOTE_PEER_CONNECTING, l->a, l->hub));
}

void shoal__sim_negotiated(sim *s, uint32_t id)
{
    sim_link *l = &s->links[id];
    if (!s->peers[l->a].online || !s->peers[l->b].online ||
        shoal__sim_uniform(s) < s->cfg.connect_failure) {
        uint32_t a = l->a, b = l->b;
        bool told = l->offered || l->glare;
        shoal__sim_link_free(s, id);
        shoal__sim_act(s, a, peer_action(SHOAL_ACT_REMOTE_PEER_CONNECTION_FAILED, b, 0));
        if (told)
            shoal__sim_act(s, b, peer_action(SHOAL_ACT_REMOTE_PEER_CONNECTION_FAILED, a, 0));
        return;
    }
    l->up = true;
    l->up_since = s->now;
    uint32_t a = l->a, b = l->b, gen = l->gen;
    if (shoal__sim_uniform(s) < s->cfg.download_chance) {
        l->dl_until = s->now + shoal__sim_between(s, 5000, 120000);
        shoal__sim_at(s, s->now + DOWNLOAD_EVERY, EV_DOWNLOAD, id, gen, 0);
    }
    shoal__sim_act(s, a, peer_action(SHOAL_ACT_REMOTE_PEER_CONNECTION_SUCCEEDED, b, 0));
    shoal__sim_act(s, b, peer_action(SHOAL_ACT_REMOTE_PEER_CONNECTION_SUCCEEDED, a, 0));
}

/* ---- Effects ----------------------------------------------------------------------------------
 */

/* One announce (or leave) round: p sends it to every hub in `hubs` (a bit per hub) at once, as
 * webrtc-swarm's hub client does. The hubs relay it to the peers that follow p in the ring of
 * peer indices (the next `fanout` online peers that share one of those hubs; all peers when
 * fanout is 0), and each hears it once, through one of the shared hubs, as the hub client drops
 * the copies that arrive through the others. One event carries the whole round. */
static void announce_round(sim *s, uint32_t p, uint64_t hubs, uint32_t type)
{
    if (hubs == 0)
        return;
    shoal_time at = s->now + shoal__sim_between(s, 20, s->cfg.announce_delay + 21);
    shoal__sim_at(s, at, type, p, (uint32_t)hubs, (uint32_t)(hubs >> 32));
}

/* The hubs in `hubs` that are up and that p subscribes to. */
static uint64_t shared_hubs(const sim *s, uint32_t p, uint64_t hubs)
{
    uint64_t shared = 0;
    for (uint32_t h = 0; h < s->cfg.hubs; h++)
        if ((hubs >> h & 1) && s->hubs[h].up && s->peers[p].sub_pos[h] >= 0)
            shared |= (uint64_t)1 << h;
    return shared;
}

static void close_peer(sim *s, uint32_t p, const shoal_conn_fx *fx)
{
    uint32_t target = shoal__sim_peer_of_feed(fx->feed);
    if (fx->reason == SHOAL_CLOSE_ROTATED || fx->reason == SHOAL_CLOSE_TRIMMED) {
        s->cuts++;
        uint32_t id = shoal__sim_link_find(s, p, target);
        if ((id != NO_LINK && s->links[id].a == p && s->links[id].dl_until > s->now) ||
            (s->cfg.negotiate && shoal__sim_rtc_downloading(s, p, target)))
            s->violations.cut_while_downloading++;
    }
    if (s->cfg.negotiate) {
        shoal__sim_neg_close(s, p, fx);
        return;
    }
    uint32_t id = shoal__sim_link_find(s, p, target);
    if (id != NO_LINK)
        link_end(s, id, p, true);
}

void shoal__sim_conn_effects(sim *s, uint32_t p, const shoal_conn_fx *fx, size_t nfx)
{
    sim_peer *peer = &s->peers[p];
    uint64_t round = 0;
    for (size_t i = 0; i < nfx; i++) {
        switch (fx[i].type) {
        case SHOAL_FX_CONNECT_TO_HUB: {
            const sim_hub *hub = &s->hubs[fx[i].hub];
            bool ok = hub->up && !hub->dead;
            shoal_time delay =
                hub->dead ? shoal__sim_between(s, 1000, 5000) : shoal__sim_between(s, 50, 300);
            shoal__sim_at(s, s->now + delay, ok ? EV_HUB_UP : EV_HUB_FAILED, p, fx[i].hub,
                          peer->epoch);
            break;
        }
        case SHOAL_FX_DISCONNECT_HUB:
            unsubscribe(s, p, fx[i].hub);
            break;
        case SHOAL_FX_ANNOUNCE_TO_HUB:
            if (s->hubs[fx[i].hub].up && peer->sub_pos[fx[i].hub] >= 0)
                round |= (uint64_t)1 << fx[i].hub;
            break;
        case SHOAL_FX_DIAL_PEER:
            if (shoal_conn_slots_used(peer->conn) > shoal_conn_get_config(peer->conn)->max_peers)
                s->violations.over_max_peers++;
            if (s->cfg.negotiate)
                shoal__sim_neg_dial(s, p, &fx[i]);
            else
                dial(s, p, shoal__sim_peer_of_feed(fx[i].feed), fx[i].hub);
            break;
        case SHOAL_FX_CLOSE_PEER:
            close_peer(s, p, &fx[i]);
            break;
        case SHOAL_FX_SCHEDULE_TICK:
            shoal__sim_schedule_tick(s, p, fx[i].at);
            break;
        case SHOAL_FX_PEER_CHANGED:
            if (fx[i].peer_record->state == SHOAL_PEER_CONNECTED && peer->first_connected < 0)
                peer->first_connected = s->now;
            break;
        case SHOAL_FX_RESTART_PEER: /* the path is found again on the new network */
            if (s->cfg.negotiate)
                shoal__sim_neg_restart(s, p, &fx[i]);
            else
                shoal__sim_at(s, s->now + shoal__sim_between(s, 200, 2000), EV_RESTARTED, p,
                              shoal__sim_peer_of_feed(fx[i].feed), 0);
            break;
        case SHOAL_FX_HUB_CHANGED:
        case SHOAL_FX_HUB_REMOVED:
        case SHOAL_FX_PEER_FORGOTTEN:
            break;
        }
    }
    announce_round(s, p, round, EV_ANNOUNCE);
}

/* ---- Peers and hubs coming and going ----------------------------------------------------------
 */

/* Every link of p ends under it (it goes offline); the other ends hear of it. */
static void drop_links(sim *s, uint32_t p)
{
    for (uint32_t id = 0; id < s->nlinks; id++) {
        sim_link *l = &s->links[id];
        if (l->live && (l->a == p || l->b == p))
            link_end(s, id, p, false);
    }
}

void shoal__sim_go_offline(sim *s, uint32_t p)
{
    sim_peer *peer = &s->peers[p];
    announce_round(s, p, shared_hubs(s, p, UINT64_MAX), EV_LEAVE);
    for (uint32_t h = 0; h < s->cfg.hubs; h++)
        unsubscribe(s, p, h);
    drop_links(s, p);
    if (s->cfg.negotiate)
        shoal__sim_neg_leave(s, p);
    peer->online = false;
    peer->tick_gen++;
    peer->tick_queued = false;
    peer->epoch++;
}

void shoal__sim_go_online(sim *s, uint32_t p, bool first)
{
    sim_peer *peer = &s->peers[p];
    peer->online = true;
    if (s->cfg.negotiate)
        shoal__sim_neg_join(s, p);
    if (first) {
        peer->first_online = s->now;
        for (uint32_t h = 0; h < s->cfg.hubs; h++) {
            shoal_conn_action a = action(SHOAL_ACT_HUB_ADDRESS_ADDED, 0);
            a.addr = &s->hubs[h].addr;
            shoal__sim_act(s, p, a);
        }
    } else {
        shoal__sim_act(s, p, action(SHOAL_ACT_SYSTEM_DID_WAKE, 0));
    }
}

void shoal__sim_reset(sim *s, uint32_t p)
{
    sim_peer *peer = &s->peers[p];
    for (uint32_t h = 0; h < s->cfg.hubs; h++)
        unsubscribe(s, p, h);
    peer->epoch++;
    /* the peers it is connected to are still reachable: its state manager closes what it will
     * (attempts under way) and restarts the rest, which RESTART_PEER finds again */
    shoal__sim_act(s, p, action(SHOAL_ACT_NETWORK_DID_RECONNECT, 0));
}

void shoal__sim_hub_down(sim *s, uint32_t h)
{
    sim_hub *hub = &s->hubs[h];
    hub->up = false;
    while (hub->nsubs > 0) {
        uint32_t p = hub->subs[hub->nsubs - 1];
        unsubscribe(s, p, h);
        shoal__sim_act(s, p, action(SHOAL_ACT_HUB_DID_DISCONNECT, h));
    }
}

void shoal__sim_hub_connected(sim *s, uint32_t p, uint32_t h, bool ok)
{
    bool up = ok && s->hubs[h].up;
    if (up)
        subscribe(s, p, h);
    shoal__sim_act(
        s, p, action(up ? SHOAL_ACT_HUB_CONNECTION_SUCCEEDED : SHOAL_ACT_HUB_CONNECTION_FAILED, h));
}

void shoal__sim_deliver(sim *s, const sim_event *e)
{
    switch (e->type) {
    case EV_ANNOUNCE:
    case EV_LEAVE: {
        uint64_t hubs = (uint64_t)e->c << 32 | e->b;
        shoal_conn_act_type type = e->type == EV_ANNOUNCE ? SHOAL_ACT_REMOTE_PEER_DID_ANNOUNCE
                                                          : SHOAL_ACT_REMOTE_PEER_DID_LEAVE;
        uint32_t want = s->cfg.fanout ? s->cfg.fanout : s->cfg.peers - 1;
        for (uint32_t k = 1, heard = 0; k < s->cfg.peers && heard < want; k++) {
            uint32_t to = (e->a + k) % s->cfg.peers;
            uint64_t shared = s->peers[to].online ? shared_hubs(s, to, hubs) : 0;
            if (!shared)
                continue;
            uint32_t n = (uint32_t)__builtin_popcountll(shared), pick = shoal__sim_pick(s, n);
            while (pick--)
                shared &= shared - 1;
            heard++;
            shoal__sim_act(s, to, peer_action(type, e->a, (uint32_t)__builtin_ctzll(shared)));
        }
        break;
    }
    case EV_CLOSED:
        shoal__sim_act(s, e->a, peer_action(SHOAL_ACT_REMOTE_PEER_DID_DISCONNECT, e->b, 0));
        break;
    case EV_RESTARTED: {
        uint32_t id = shoal__sim_link_find(s, e->a, e->b);
        if (id != NO_LINK && s->links[id].up)
            shoal__sim_act(s, e->a, peer_action(SHOAL_ACT_REMOTE_PEER_RESTARTED, e->b, 0));
        break;
    }
    case EV_FAILED:
        shoal__sim_act(s, e->a, peer_action(SHOAL_ACT_REMOTE_PEER_CONNECTION_FAILED, e->b, 0));
        break;
    default:
        break;
    }
}

void shoal__sim_download(sim *s, uint32_t id)
{
    sim_link *l = &s->links[id];
    if (!l->up || l->dl_until <= s->now)
        return;
    uint32_t gen = l->gen, a = l->a, b = l->b;
    shoal__sim_act(s, a, peer_action(SHOAL_ACT_DOWNLOAD_PROGRESS, b, 0));
    if (s->links[id].live && s->links[id].gen == gen)
        shoal__sim_at(s, s->now + DOWNLOAD_EVERY, EV_DOWNLOAD, id, gen, 0);
}

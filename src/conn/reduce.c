/* The reducer: one handler per action, then the scheduler. */
#include "conn_internal.h"

#include <string.h>

/* How finely a hub's last_message follows the announces it relays. */
#define HUB_MESSAGE_GRAIN SHOAL_SECONDS(10)

static bool is_self(const shoal_conn *c, const uint8_t feed[32])
{
    return memcmp(c->self, feed, 32) == 0;
}

/* The peer's position, adding it when `create` and it is new; SIZE_MAX for ourselves or an
 * unknown peer. Adding is safe: the reserve phase made room. */
static size_t peer(shoal_conn *c, const uint8_t feed[32], bool create, shoal_time now)
{
    if (is_self(c, feed))
        return SIZE_MAX;
    size_t pos = shoal__conn_peer_pos(c, feed);
    if (pos == SIZE_MAX && create) {
        pos = shoal__conn_peer_add(c, feed);
        shoal__conn_forget_by(c, now + c->cfg.forget_after);
    }
    return pos;
}

static shoal_conn_hub *live_hub(shoal_conn *c, uint32_t id)
{
    return id < c->nhub_slots && c->hub_live[id] ? &c->hubs[id] : NULL;
}

static void hub_added(shoal_conn *c, const shoal_hub_addr *addr, shoal_time now)
{
    if (shoal_conn_hub_find(c, addr))
        return;
    uint32_t id = shoal__conn_hub_add(c, addr);
    c->hubs[id].next_attempt = now;
}

/* A hub saved by an earlier run: its address, its health and when it is to be dialled. */
static void hub_restored(shoal_conn *c, const shoal_conn_hub *saved, shoal_time now)
{
    if (shoal_conn_hub_find(c, &saved->addr))
        return;
    uint32_t id = shoal__conn_hub_add(c, &saved->addr);
    shoal_conn_hub *h = &c->hubs[id];
    /* dialled at once, or when its saved backoff ends (never later than a whole backoff) */
    shoal_time latest = now + c->cfg.hub_backoff_cap;
    h->next_attempt = saved->next_attempt < now      ? now
                      : saved->next_attempt > latest ? latest
                                                     : saved->next_attempt;
    h->failures = saved->failures;
    h->score = saved->score < 0 ? 0 : saved->score > 1000 ? 1000 : saved->score;
    h->successes = saved->successes;
    h->total_failures = saved->total_failures;
}

/* A peer saved by an earlier run: its protection, its totals, its failures and its backoff.
 * What this run has learnt already wins. */
static void peer_restored(shoal_conn *c, const shoal_conn_peer *saved, shoal_time now)
{
    if (is_self(c, saved->feed) || shoal__conn_peer_pos(c, saved->feed) != SIZE_MAX)
        return;
    size_t pos = peer(c, saved->feed, true, now);
    shoal_conn_peer *p = &c->peers[pos];
    p->protected = saved->protected;
    p->successes = saved->successes;
    p->total_failures = saved->total_failures;
    p->connected_total = saved->connected_total;
    p->last_announce = now;
    /* a backoff running at the save goes on to its end, never past a whole backoff from now */
    p->failures = saved->failures;
    shoal_time latest = now + c->cfg.backoff_cap;
    if (saved->backoff_until > now)
        p->backoff_until = saved->backoff_until > latest ? latest : saved->backoff_until;
}

static void hub_removed(shoal_conn *c, shoal_conn_hub *h)
{
    if (h->state != SHOAL_HUB_DISCONNECTED)
        shoal__conn_fx_push(c, SHOAL_FX_DISCONNECT_HUB, h->id, NULL);
    shoal__conn_drop_hub(c, h->id);
    h->state = SHOAL_HUB_DISCONNECTED;
    /* Its routes go; a connection it once signalled stays up without it. */
    for (size_t pos = 0; pos < c->npeers; pos++) {
        shoal_conn_peer *p = &c->peers[pos];
        for (uint32_t i = 0; i < p->nroutes; i++) {
            if (p->routes[i].hub == h->id) {
                shoal__conn_touch_peer(c, pos);
                p->routes[i] = p->routes[--p->nroutes];
                break;
            }
        }
    }
}

/* Connections kept through a network change restart through their hub once it is back. */
static void ask_restarts(shoal_conn *c, uint32_t hub)
{
    for (size_t i = 0; c->restarting && i < c->nactive; i++) {
        size_t pos = c->active[i];
        shoal_conn_peer *p = &c->peers[pos];
        if (p->restart_by == 0 || p->restart_asked || p->route != hub)
            continue;
        shoal__conn_touch_peer(c, pos);
        p->restart_asked = true;
        shoal__conn_fx_push(c, SHOAL_FX_RESTART_PEER, hub, p->feed);
    }
}

static void hub_succeeded(shoal_conn *c, shoal_conn_hub *h, shoal_time now)
{
    if (h->state == SHOAL_HUB_CONNECTED)
        return;
    shoal__conn_touch_hub(c, h->id);
    h->state = SHOAL_HUB_CONNECTED;
    h->failures = 0;
    h->successes++;
    h->score += (1000 - h->score) / 4;
    /* Announce on it at once, as webrtc-swarm does once subscribed. */
    shoal__conn_fx_push(c, SHOAL_FX_ANNOUNCE_TO_HUB, h->id, NULL);
    if (c->next_announce == SHOAL_TIME_NEVER)
        shoal__conn_next_announce(c, now);
    c->fill_dirty = true;
    ask_restarts(c, h->id);
}

static void hub_disconnected(shoal_conn *c, shoal_conn_hub *h, shoal_time now)
{
    if (h->state == SHOAL_HUB_DISCONNECTED)
        return;
    shoal__conn_touch_hub(c, h->id);
    h->state = SHOAL_HUB_DISCONNECTED;
    h->next_attempt = now + shoal__conn_hub_backoff(&c->cfg, 0, shoal__conn_random(c));
}

static void announced(shoal_conn *c, size_t pos, shoal_conn_hub *h, shoal_time now)
{
    shoal_conn_peer *p = &c->peers[pos];
    shoal__conn_touch_peer(c, pos);
    uint32_t i = 0;
    while (i < p->nroutes && p->routes[i].hub != h->id)
        i++;
    if (i == p->nroutes) {
        if (p->nroutes < SHOAL_CONN_MAX_ROUTES) {
            p->nroutes++;
        } else {
            /* Full: the stalest route makes room. */
            i = 0;
            for (uint32_t k = 1; k < p->nroutes; k++)
                if (p->routes[k].announced < p->routes[i].announced)
                    i = k;
        }
        p->routes[i].hub = h->id;
    }
    p->routes[i].announced = now;
    p->last_announce = now;
    /* To within 10 s: a busy hub's record changes (and is reported) every 10 s at most, not
     * once per announce it relays. */
    if (h->last_message == 0 || now - h->last_message >= HUB_MESSAGE_GRAIN) {
        shoal__conn_touch_hub(c, h->id);
        h->last_message = now;
    }
    /* Between full scans every candidate has been dialled, so only this peer can be new. */
    if (!c->fill_dirty && now < c->fill_next)
        shoal__conn_try_dial(c, pos, now);
    /* A rotation waiting for a candidate need wait no more if this is one. */
    if (c->rotation_waits && p->state == SHOAL_PEER_DISCONNECTED && p->backoff_until <= now)
        shoal__conn_rotate(c, now);
}

static void left(shoal_conn *c, size_t pos, uint32_t hub)
{
    shoal_conn_peer *p = &c->peers[pos];
    for (uint32_t i = 0; i < p->nroutes; i++) {
        if (p->routes[i].hub == hub) {
            shoal__conn_touch_peer(c, pos);
            p->routes[i] = p->routes[--p->nroutes];
            break;
        }
    }
    /* Gone from every hub and not connected: nothing left to dial. */
    if (p->nroutes == 0 && p->state == SHOAL_PEER_DISCONNECTED && !p->protected) {
        shoal__conn_forget_peer(c, pos);
        c->stats.forgotten++;
    }
}

/* Whether a peer that dials us must be turned away: with every slot taken, only a protected peer
 * is let in (unless inbound_when_full), as webrtc-swarm ignores offers once it has maxPeers.
 * Letting them in and trimming later would cost both sides a connection that lives one grace
 * period. A stranger turned away leaves no record behind. But a connection past its lifetime
 * gives way to the dialler (see inbound_peer): when every peer is full, the one rotating out
 * would otherwise find every candidate turning it away, and the mesh would thin with each
 * rotation (as the soak showed, 3.6 connections a peer falling to 1.6). */
static bool full_for(const shoal_conn *c, size_t pos)
{
    return c->slots_used >= c->cfg.max_peers && !c->cfg.inbound_when_full &&
           (pos == SIZE_MAX || !c->peers[pos].protected);
}

static void turn_away(shoal_conn *c, const uint8_t feed[32])
{
    shoal__conn_fx_push(c, SHOAL_FX_CLOSE_PEER, SHOAL_CONN_NO_HUB, feed);
    c->fx[c->nfx - 1].reason = SHOAL_CLOSE_FULL;
}

/* Whether one more stranger negotiating with us would pass inbound_pending. */
static bool too_many_pending(const shoal_conn *c, size_t pos)
{
    if (pos != SIZE_MAX && c->peers[pos].protected)
        return false;
    uint32_t limit = c->cfg.inbound_pending ? c->cfg.inbound_pending
                     : c->cfg.max_peers > 1 ? c->cfg.max_peers / 2
                                            : 1;
    uint32_t pending = 0;
    for (size_t i = 0; i < c->nactive; i++) {
        const shoal_conn_peer *p = &c->peers[c->active[i]];
        pending += p->state == SHOAL_PEER_CONNECTING && p->inbound && !p->protected;
    }
    return pending >= limit;
}

/* The position of a peer dialling us, created if new; SIZE_MAX if it was turned away (or is
 * ourselves). `negotiating`: it is not connected yet (inbound_pending applies). */
static size_t inbound_peer(shoal_conn *c, const uint8_t feed[32], bool negotiating, shoal_time now)
{
    if (is_self(c, feed))
        return SIZE_MAX;
    size_t pos = shoal__conn_peer_pos(c, feed);
    if (negotiating && (pos == SIZE_MAX || c->peers[pos].state == SHOAL_PEER_DISCONNECTED) &&
        too_many_pending(c, pos)) {
        turn_away(c, feed);
        return SIZE_MAX;
    }
    /* A peer we are closing holds no slot either: coming back in takes a free one. */
    if ((pos == SIZE_MAX || c->peers[pos].state == SHOAL_PEER_DISCONNECTED ||
         c->peers[pos].state == SHOAL_PEER_DISCONNECTING) &&
        full_for(c, pos) && !shoal__conn_rotate_for_inbound(c, now)) {
        turn_away(c, feed);
        return SIZE_MAX;
    }
    return pos != SIZE_MAX ? pos : peer(c, feed, true, now);
}

static void inbound_connecting(shoal_conn *c, size_t pos, const shoal_conn_action *a,
                               shoal_time now)
{
    shoal_conn_peer *p = &c->peers[pos];
    if (p->state != SHOAL_PEER_DISCONNECTED)
        return; /* our own attempt is under way (glare), or a connection already is */
    shoal__conn_touch_peer(c, pos);
    p->inbound = true;
    p->transport = a->transport;
    p->route = a->hub;
    p->last_attempt = now;
    p->deadline =
        now + (a->transport == SHOAL_TRANSPORT_NET ? c->cfg.timeout_net : c->cfg.timeout_rtc);
    shoal__conn_set_state(c, pos, SHOAL_PEER_CONNECTING, now);
}

/* We dial a peer directly: an attempt of ours, as a dial through a hub is, with no route. */
static void direct_dial(shoal_conn *c, size_t pos, const shoal_conn_action *a, shoal_time now)
{
    shoal_conn_peer *p = &c->peers[pos];
    if (p->state != SHOAL_PEER_DISCONNECTED)
        return;
    inbound_connecting(c, pos, a, now);
    p->inbound = false;
    p->route = SHOAL_CONN_NO_HUB;
}

static void connected(shoal_conn *c, size_t pos, shoal_time now)
{
    shoal_conn_peer *p = &c->peers[pos];
    shoal__conn_touch_peer(c, pos);
    p->failures = 0;
    p->last_error = SHOAL_OK;
    p->successes++;
    c->stats.successes++;
    p->connected_since = now;
    p->rotate_at =
        now + (shoal_time)((double)c->cfg.lifetime * (0.9 + 0.2 * shoal__conn_random(c)));
    shoal__conn_set_state(c, pos, SHOAL_PEER_CONNECTED, now);
}

static void client_connected(shoal_conn *c, size_t pos, const shoal_conn_action *a, shoal_time now)
{
    shoal_conn_peer *p = &c->peers[pos];
    if (p->state == SHOAL_PEER_CONNECTED)
        return;
    shoal__conn_touch_peer(c, pos);
    if (p->state != SHOAL_PEER_CONNECTING) {
        p->route = a->hub;
        p->transport = a->transport;
    }
    p->inbound = true;
    connected(c, pos, now);
}

static void did_disconnect(shoal_conn *c, size_t pos, shoal_time now, int err)
{
    shoal_conn_peer *p = &c->peers[pos];
    switch (p->state) {
    case SHOAL_PEER_CONNECTING:
        shoal__conn_peer_failed(c, pos, now, err);
        break;
    case SHOAL_PEER_CONNECTED:
        /* The other side closed a working connection: give it a moment before dialling back
         * (unless the network change closed it: a connection that could not restart). */
        shoal__conn_touch_peer(c, pos);
        p->last_error = err;
        if (err != SHOAL_E_NETWORK_RESET && p->backoff_until < now + c->cfg.reconnect_delay)
            p->backoff_until = now + c->cfg.reconnect_delay;
        shoal__conn_set_state(c, pos, SHOAL_PEER_DISCONNECTED, now);
        break;
    case SHOAL_PEER_DISCONNECTING: /* we closed it; its rest was set then */
        shoal__conn_set_state(c, pos, SHOAL_PEER_DISCONNECTED, now);
        break;
    case SHOAL_PEER_DISCONNECTED:
        break;
    }
}

/* Whether a connection may outlive a network change: a WebRTC one can move to the new network
 * with an ICE restart (RFC 8445 9), signalled through the hub it was made through. */
static bool restartable(const shoal_conn *c, const shoal_conn_peer *p)
{
    return c->cfg.timeout_restart > 0 && p->state == SHOAL_PEER_CONNECTED &&
           p->transport == SHOAL_TRANSPORT_RTC && p->route != SHOAL_CONN_NO_HUB &&
           p->route < c->nhub_slots && c->hub_live[p->route];
}

/* A network change or a wake-up: every connection is stale. Close them all (after a network
 * change, WebRTC connections get timeout_restart to restart ICE first), forgive the failures
 * the old network caused, and dial every hub at once. */
static void network_reset(shoal_conn *c, bool woke, shoal_time now)
{
    c->stats.resets++;
    for (size_t i = c->nactive; i-- > 0;) {
        size_t pos = c->active[i];
        shoal_conn_peer *p = &c->peers[pos];
        if (!woke && restartable(c, p)) {
            shoal__conn_touch_peer(c, pos);
            c->restarting += p->restart_by == 0;
            p->restart_by = now + c->cfg.timeout_restart;
            p->restart_asked = false;
            continue;
        }
        if (p->state != SHOAL_PEER_DISCONNECTING)
            shoal__conn_close(c, pos, SHOAL_CLOSE_NETWORK_RESET);
        shoal__conn_set_state(c, pos, SHOAL_PEER_DISCONNECTED, now);
    }
    for (size_t pos = 0; pos < c->npeers; pos++) {
        shoal_conn_peer *p = &c->peers[pos];
        if (p->failures || p->backoff_until > now) {
            shoal__conn_touch_peer(c, pos);
            p->failures = 0;
            p->backoff_until = 0;
        }
    }
    for (uint32_t id = 0; id < c->nhub_slots; id++) {
        if (!c->hub_live[id])
            continue;
        shoal_conn_hub *h = &c->hubs[id];
        if (h->state != SHOAL_HUB_DISCONNECTED)
            shoal__conn_fx_push(c, SHOAL_FX_DISCONNECT_HUB, id, NULL);
        shoal__conn_touch_hub(c, id);
        h->state = SHOAL_HUB_DISCONNECTED;
        h->failures = 0;
        h->next_attempt = now;
    }
    c->fill_dirty = true;
}

/* How much room an action may need: its peer events, and whether it may add a peer. */
static void needs(const shoal_conn *c, const shoal_conn_action *a, size_t *events, bool *adds)
{
    *adds = false;
    *events = 2 + c->cfg.max_peers;
    switch (a->type) {
    case SHOAL_ACT_REMOTE_PEER_DID_ANNOUNCE:
    case SHOAL_ACT_REMOTE_PEER_CONNECTING:
    case SHOAL_ACT_REMOTE_PEER_CLIENT_DID_CONNECT:
    case SHOAL_ACT_PEER_DIAL:
    case SHOAL_ACT_PEER_PROTECT:
    case SHOAL_ACT_PEER_RESTORED:
        *adds = true;
        break;
    case SHOAL_ACT_PEER_CONNECTION_TIMER_TICKED:
        *events = c->nactive + FORGET_PER_TICK + c->cfg.max_peers + 2;
        break;
    case SHOAL_ACT_HUB_ADDRESS_REMOVED:
    case SHOAL_ACT_NETWORK_DID_RECONNECT:
    case SHOAL_ACT_SYSTEM_DID_WAKE:
        *events = c->npeers;
        break;
    case SHOAL_ACT_HUB_CONNECTION_SUCCEEDED: /* restarts asked of every connection */
        *events += c->nactive;
        break;
    case SHOAL_ACT_CONFIG_CHANGED: /* a larger max_peers may dial more at once */
        if (a->config && a->config->max_peers > c->cfg.max_peers)
            *events = 2 + (size_t)a->config->max_peers;
        break;
    default:
        break;
    }
}

int shoal_conn_reduce(shoal_conn *c, const shoal_conn_action *a, shoal_time now,
                      const shoal_conn_fx **fx, size_t *nfx)
{
    c->nfx = 0;
    *fx = NULL;
    *nfx = 0;

    /* Phase 1: everything that can fail, before anything changes. */
    size_t events;
    bool adds;
    needs(c, a, &events, &adds);
    int rc = shoal__conn_reserve(c, events, c->nactive, adds);
    if (rc != SHOAL_OK)
        return rc;
    shoal_conn_hub *hub = NULL;
    switch (a->type) {
    case SHOAL_ACT_HUB_ADDRESS_ADDED:
    case SHOAL_ACT_HUB_RESTORED: {
        const shoal_hub_addr *addr = a->type == SHOAL_ACT_HUB_ADDRESS_ADDED
                                         ? a->addr
                                         : (a->hub_record ? &a->hub_record->addr : NULL);
        if (!addr)
            return SHOAL_E_INVAL;
        rc = shoal_conn_hub_find(c, addr) ? SHOAL_OK : shoal__conn_hub_reserve(c);
        if (rc != SHOAL_OK)
            return rc;
        break;
    }
    case SHOAL_ACT_PEER_RESTORED:
        if (!a->peer_record)
            return SHOAL_E_INVAL;
        break;
    case SHOAL_ACT_HUB_ADDRESS_REMOVED:
    case SHOAL_ACT_HUB_CONNECTION_SUCCEEDED:
    case SHOAL_ACT_HUB_CONNECTION_FAILED:
    case SHOAL_ACT_HUB_DID_DISCONNECT:
    case SHOAL_ACT_REMOTE_PEER_DID_ANNOUNCE:
    case SHOAL_ACT_REMOTE_PEER_DID_LEAVE:
        hub = live_hub(c, a->hub);
        if (!hub)
            return SHOAL_E_CONN_UNKNOWN_HUB;
        break;
    case SHOAL_ACT_CONFIG_CHANGED:
        if (!a->config)
            return SHOAL_E_INVAL;
        rc = shoal_conn_config_check(a->config);
        if (rc != SHOAL_OK)
            return rc;
        break;
    default:
        if ((unsigned)a->type > SHOAL_ACT_REMOTE_PEER_RESTARTED)
            return SHOAL_E_INVAL;
        break;
    }

    /* Phase 2: apply. */
    size_t pos;
    switch (a->type) {
    case SHOAL_ACT_HUB_ADDRESS_ADDED:
        hub_added(c, a->addr, now);
        break;
    case SHOAL_ACT_HUB_RESTORED:
        hub_restored(c, a->hub_record, now);
        break;
    case SHOAL_ACT_PEER_RESTORED:
        peer_restored(c, a->peer_record, now);
        break;
    case SHOAL_ACT_HUB_ADDRESS_REMOVED:
        hub_removed(c, hub);
        break;
    case SHOAL_ACT_HUB_CONNECTION_SUCCEEDED:
        hub_succeeded(c, hub, now);
        break;
    case SHOAL_ACT_HUB_CONNECTION_FAILED:
        if (hub->state != SHOAL_HUB_DISCONNECTED)
            shoal__conn_hub_failed(c, hub->id, now);
        break;
    case SHOAL_ACT_HUB_DID_DISCONNECT:
        hub_disconnected(c, hub, now);
        break;
    case SHOAL_ACT_REMOTE_PEER_DID_ANNOUNCE:
        if ((pos = peer(c, a->feed, true, now)) != SIZE_MAX)
            announced(c, pos, hub, now);
        break;
    case SHOAL_ACT_REMOTE_PEER_DID_LEAVE:
        if ((pos = peer(c, a->feed, false, now)) != SIZE_MAX)
            left(c, pos, hub->id);
        break;
    case SHOAL_ACT_REMOTE_PEER_CONNECTING:
        if ((pos = inbound_peer(c, a->feed, true, now)) != SIZE_MAX)
            inbound_connecting(c, pos, a, now);
        break;
    case SHOAL_ACT_REMOTE_PEER_CONNECTION_SUCCEEDED:
        if ((pos = peer(c, a->feed, false, now)) != SIZE_MAX &&
            c->peers[pos].state == SHOAL_PEER_CONNECTING)
            connected(c, pos, now);
        break;
    case SHOAL_ACT_REMOTE_PEER_CONNECTION_FAILED:
        if ((pos = peer(c, a->feed, false, now)) != SIZE_MAX &&
            c->peers[pos].state == SHOAL_PEER_CONNECTING)
            shoal__conn_peer_failed(c, pos, now, a->err);
        break;
    case SHOAL_ACT_REMOTE_PEER_BUSY:
        /* full, not failing: another candidate gets the slot now, this one its next chance
         * after an announce period (when its own connections may have moved on) */
        if ((pos = peer(c, a->feed, false, now)) != SIZE_MAX &&
            c->peers[pos].state == SHOAL_PEER_CONNECTING && !c->peers[pos].inbound) {
            shoal__conn_touch_peer(c, pos);
            c->peers[pos].backoff_until = now + c->cfg.announce_peered;
            c->stats.busy++;
            shoal__conn_set_state(c, pos, SHOAL_PEER_DISCONNECTED, now);
        }
        break;
    case SHOAL_ACT_REMOTE_PEER_DISCONNECT:
        if ((pos = peer(c, a->feed, false, now)) != SIZE_MAX &&
            (c->peers[pos].state == SHOAL_PEER_CONNECTING ||
             c->peers[pos].state == SHOAL_PEER_CONNECTED)) {
            shoal__conn_close(c, pos, SHOAL_CLOSE_REQUESTED);
            shoal__conn_touch_peer(c, pos);
            c->peers[pos].backoff_until = now + c->cfg.rest_after_rotation;
            shoal__conn_set_state(c, pos, SHOAL_PEER_DISCONNECTING, now);
        }
        break;
    case SHOAL_ACT_REMOTE_PEER_DID_DISCONNECT:
        if ((pos = peer(c, a->feed, false, now)) != SIZE_MAX)
            did_disconnect(c, pos, now, a->err);
        break;
    case SHOAL_ACT_REMOTE_PEER_CLIENT_DID_CONNECT:
        if ((pos = inbound_peer(c, a->feed, false, now)) != SIZE_MAX)
            client_connected(c, pos, a, now);
        break;
    case SHOAL_ACT_PEER_DIAL: /* admitted as a peer that dials us would be */
        if ((pos = inbound_peer(c, a->feed, false, now)) != SIZE_MAX)
            direct_dial(c, pos, a, now);
        break;
    case SHOAL_ACT_DOWNLOAD_PROGRESS:
        if ((pos = peer(c, a->feed, false, now)) != SIZE_MAX &&
            c->peers[pos].state == SHOAL_PEER_CONNECTED) {
            shoal__conn_touch_peer(c, pos);
            c->peers[pos].downloading_until = now + c->cfg.download_window;
            c->cut_dirty = true;
        }
        break;
    case SHOAL_ACT_PEER_CONNECTION_TIMER_TICKED:
        break;
    case SHOAL_ACT_NETWORK_DID_RECONNECT:
    case SHOAL_ACT_SYSTEM_DID_WAKE:
        network_reset(c, a->type == SHOAL_ACT_SYSTEM_DID_WAKE, now);
        break;
    case SHOAL_ACT_REMOTE_PEER_RESTARTED:
        if ((pos = peer(c, a->feed, false, now)) != SIZE_MAX && c->peers[pos].restart_by != 0) {
            shoal__conn_restart_done(c, pos);
            c->stats.restarts++;
        }
        break;
    case SHOAL_ACT_CONFIG_CHANGED:
        c->cfg = *a->config;
        c->fill_dirty = true;
        c->rotation_waits = false;
        c->cut_dirty = true;
        break;
    case SHOAL_ACT_PEER_PROTECT:
    case SHOAL_ACT_PEER_UNPROTECT:
        if ((pos = peer(c, a->feed, a->type == SHOAL_ACT_PEER_PROTECT, now)) != SIZE_MAX &&
            c->peers[pos].protected != (a->type == SHOAL_ACT_PEER_PROTECT)) {
            shoal__conn_touch_peer(c, pos);
            c->peers[pos].protected = a->type == SHOAL_ACT_PEER_PROTECT;
            c->cut_dirty = true;
            shoal__conn_forget_by(c, c->peers[pos].last_announce + c->cfg.forget_after);
        }
        break;
    }

    /* Phase 3: the scheduler, events and the next tick. */
    shoal__conn_schedule(c, now, a->type == SHOAL_ACT_PEER_CONNECTION_TIMER_TICKED);
    *fx = c->fx;
    *nfx = c->nfx;
    return SHOAL_OK;
}

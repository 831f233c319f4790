/* One SSB peer on the network of hubs: the shell joining the state manager, the negotiation core,
 * the hub client, rtc and link (see shoal/node.h, and node_internal.h for how the parts meet). */
#include "node_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* Sealed signals remembered against replays (a few per negotiation, for four minutes). */
#define REPLAY_SLOTS 4096

void node_say(shoal_node *n, const char *fmt, ...)
{
    if (!n->cb.log)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    n->cb.log(n, line, n->ud);
    g_free(line);
}

shoal_time node_now(void)
{
    return g_get_monotonic_time() / 1000;
}

int64_t node_wall_clock(void *ud)
{
    (void)ud;
    return g_get_real_time() / 1000;
}

hub *node_hub_by_id(shoal_node *n, uint32_t id)
{
    for (guint i = 0; i < n->hubs->len; i++) {
        hub *h = &g_array_index(n->hubs, hub, i);
        if (h->known && h->id == id)
            return h;
    }
    return NULL;
}

hub *node_hub_by_index(shoal_node *n, size_t index)
{
    for (guint i = 0; i < n->hubs->len; i++) {
        hub *h = &g_array_index(n->hubs, hub, i);
        if (h->index == index)
            return h;
    }
    return NULL;
}

/* A peer's channel: its key's name, or a plain peer's own id (NULL when it is not plain). */
static const char *plain_id(shoal_node *n, const uint8_t feed[32])
{
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, feed, 32);
    return g_hash_table_lookup(n->plain_ids, hex);
}

/* ---- the queue ------------------------------------------------------------------------------- */

static void carry_out(shoal_node *n, const shoal_conn_fx *fx, size_t count);

/* A stranger's offer: the state manager hears of it; the core, whether it was let in (not when
 * the manager closes that feed at once, nor when the peer is connected over net: already); then
 * the manager's effects. */
static void settle_admission(shoal_node *n, const pending *x)
{
    const shoal_conn_fx *fx;
    size_t count = 0;
    bool refused = net_of_feed(n, x->action.feed) != NULL;
    shoal_conn_action a = x->action;
    if (refused || shoal_conn_reduce(n->conn, &a, node_now(), &fx, &count) != SHOAL_OK) {
        fx = NULL;
        count = 0;
        refused = true;
    }
    for (size_t i = 0; i < count; i++)
        refused |= fx[i].type == SHOAL_FX_CLOSE_PEER && memcmp(fx[i].feed, a.feed, 32) == 0;
    shoal_negotiate_event ev = {
        .type = SHOAL_NEG_EV_ADMISSION, .id = x->event.id, .admitted = !refused};
    const shoal_negotiate_fx *nfx;
    size_t ncount;
    if (shoal_negotiate_reduce(n->negotiate, &ev, node_now(), &nfx, &ncount) == SHOAL_OK)
        channels_carry_out(n, nfx, ncount); /* reduces neither: the manager's effects stay valid */
    carry_out(n, fx, count);
}

static void run(shoal_node *n, pending *x)
{
    switch (x->kind) {
    case PENDING_CONN: {
        const shoal_conn_fx *fx;
        size_t count;
        if (!n->stopping &&
            shoal_conn_reduce(n->conn, &x->action, node_now(), &fx, &count) == SHOAL_OK)
            carry_out(n, fx, count);
        break;
    }
    case PENDING_NEGOTIATE: {
        const shoal_negotiate_fx *fx;
        size_t count;
        if (x->channel[0])
            x->event.channel = x->channel;
        if (x->text)
            x->event.text = x->text;
        if (shoal_negotiate_reduce(n->negotiate, &x->event, node_now(), &fx, &count) == SHOAL_OK)
            channels_carry_out(n, fx, count);
        break;
    }
    case PENDING_ADMIT:
        if (!n->stopping)
            settle_admission(n, x);
        break;
    }
}

/* Runs `first`, then whatever waits, in order; a call made while the queue is being drained
 * only queues. */
static void drain(shoal_node *n, pending *first)
{
    if (n->draining) {
        g_array_append_val(n->queue, *first);
        return;
    }
    n->draining = true;
    run(n, first);
    g_free(first->text);
    for (guint i = 0; i < n->queue->len; i++) {
        pending x = g_array_index(n->queue, pending, i); /* the queue may grow meanwhile */
        run(n, &x);
        g_free(x.text);
    }
    g_array_set_size(n->queue, 0);
    n->draining = false;
}

void node_conn(shoal_node *n, const shoal_conn_action *a)
{
    pending x = {.kind = PENDING_CONN, .action = *a};
    drain(n, &x);
}

void node_negotiate(shoal_node *n, const shoal_negotiate_event *ev)
{
    if (n->draining && ev->msg) { /* a hub message borrows more than can wait: cannot happen,
                                     as they arrive from the loop, never from an effect */
        n->signals_dropped++;
        return;
    }
    pending x = {.kind = PENDING_NEGOTIATE, .event = *ev};
    if (ev->channel) {
        g_strlcpy(x.channel, ev->channel, sizeof x.channel);
        x.event.channel = NULL; /* set again from the copies when it runs */
    }
    if (ev->text) {
        x.text = g_strdup(ev->text);
        x.event.text = NULL;
    }
    drain(n, &x);
}

void node_admit(shoal_node *n, uint32_t id, const shoal_conn_action *a)
{
    pending x = {.kind = PENDING_ADMIT, .action = *a, .event = {.id = id}};
    g_array_append_val(n->queue, x);
}

static gboolean on_negotiate_tick(gpointer ud)
{
    shoal_node *n = ud;
    n->negotiate_tick = 0;
    shoal_negotiate_event ev = {.type = SHOAL_NEG_EV_TICK};
    node_negotiate(n, &ev);
    return G_SOURCE_REMOVE;
}

void node_schedule_negotiate_tick(shoal_node *n, shoal_time at)
{
    g_clear_handle_id(&n->negotiate_tick, g_source_remove);
    if (at == SHOAL_TIME_NEVER)
        return;
    shoal_time wait = at > node_now() ? at - node_now() : 0;
    n->negotiate_tick = g_timeout_add((guint)(wait < 60000 ? wait : 60000), on_negotiate_tick, n);
}

/* ---- the state manager's effects ------------------------------------------------------------ */

/* Announces older than the swarm's window are refused as stale whatever we remember: their
 * channels need remembering no longer. */
static void forget_stale_announces(shoal_node *n)
{
    gint64 oldest = g_get_real_time() / 1000 - SHOAL_SWARM_WINDOW_MS;
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, n->last_seen);
    while (g_hash_table_iter_next(&it, &key, &value))
        if (*(gint64 *)value < oldest)
            g_hash_table_iter_remove(&it);
}

static gboolean on_conn_tick(gpointer ud)
{
    shoal_node *n = ud;
    n->conn_tick = 0;
    forget_stale_announces(n);
    shoal_conn_action a = {.type = SHOAL_ACT_PEER_CONNECTION_TIMER_TICKED};
    node_conn(n, &a);
    return G_SOURCE_REMOVE;
}

static void announce(shoal_node *n, hub *h)
{
    shoal_buf text = SHOAL_BUF_INIT;
    shoal_swarm_write_presence(&n->keys, n->app, false, g_get_real_time() / 1000, &text);
    if (shoal_buf_status(&text) == SHOAL_OK)
        shoal_hub_client_broadcast(n->client, h->index, "all", text.data, text.len, NULL, NULL);
    shoal_buf_free(&text);
}

/* Learns the manager's id of a hub just added (before the effects that name it). */
static void learn_hub_ids(shoal_node *n, const shoal_conn_fx *fx, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (fx[i].type != SHOAL_FX_HUB_CHANGED)
            continue;
        for (guint k = 0; k < n->hubs->len; k++) {
            hub *x = &g_array_index(n->hubs, hub, k);
            if (!x->known && shoal_hub_addr_equal(&x->addr, &fx[i].hub_record->addr)) {
                x->id = fx[i].hub_record->id;
                x->known = true;
            }
        }
    }
}

/* The manager's DIAL_PEER, CLOSE_PEER and RESTART_PEER, for the core (or the net: shell) to
 * carry out. */
static void to_negotiate(shoal_node *n, const shoal_conn_fx *fx)
{
    pending x = {.kind = PENDING_NEGOTIATE};
    memcpy(x.event.feed, fx->feed, 32);
    if (fx->type == SHOAL_FX_CLOSE_PEER) {
        net_peer *np = net_of_feed(n, fx->feed);
        if (np) {
            node_say(n, "closing a net: peer (%s)", shoal_close_reason_name(fx->reason));
            if (n->cb.close_net)
                n->cb.close_net(n, np->conn, fx->reason, n->ud);
            return;
        }
        x.event.type = SHOAL_NEG_EV_CLOSE;
        x.event.reason = fx->reason;
    } else if (fx->type == SHOAL_FX_RESTART_PEER) {
        x.event.type = SHOAL_NEG_EV_RESTART;
    } else {
        const char *plain = plain_id(n, fx->feed);
        x.event.type = SHOAL_NEG_EV_DIAL;
        x.event.hub = fx->hub;
        x.event.plain = plain != NULL;
        if (plain)
            g_strlcpy(x.channel, plain, sizeof x.channel);
        else
            shoal_swarm_channel(fx->feed, x.channel);
    }
    g_array_append_val(n->queue, x);
}

static void carry_out(shoal_node *n, const shoal_conn_fx *fx, size_t count)
{
    learn_hub_ids(n, fx, count);
    for (size_t i = 0; i < count; i++) {
        hub *h = node_hub_by_id(n, fx[i].hub);
        switch (fx[i].type) {
        case SHOAL_FX_CONNECT_TO_HUB:
        case SHOAL_FX_DISCONNECT_HUB:
            if (!h)
                break;
            h->join_held = false; /* the stream it was for is gone: its answer joins nothing */
            if (fx[i].type == SHOAL_FX_CONNECT_TO_HUB)
                shoal_hub_client_connect(n->client, h->index);
            else
                shoal_hub_client_disconnect(n->client, h->index);
            break;
        case SHOAL_FX_ANNOUNCE_TO_HUB:
            if (h)
                announce(n, h);
            break;
        case SHOAL_FX_DIAL_PEER:
        case SHOAL_FX_CLOSE_PEER:
        case SHOAL_FX_RESTART_PEER:
            to_negotiate(n, &fx[i]);
            break;
        case SHOAL_FX_SCHEDULE_TICK: {
            g_clear_handle_id(&n->conn_tick, g_source_remove);
            shoal_time wait = fx[i].at > node_now() ? fx[i].at - node_now() : 0;
            n->conn_tick = g_timeout_add((guint)(wait < 60000 ? wait : 60000), on_conn_tick, n);
            break;
        }
        case SHOAL_FX_PEER_FORGOTTEN:
            if (n->compat) { /* a plain peer's id goes with its record */
                char hex[65];
                sodium_bin2hex(hex, sizeof hex, fx[i].peer_record->feed, 32);
                g_hash_table_remove(n->plain_ids, hex);
            }
            /* fall through */
        case SHOAL_FX_HUB_CHANGED:
        case SHOAL_FX_HUB_REMOVED:
        case SHOAL_FX_PEER_CHANGED:
            if (n->cb.changed)
                n->cb.changed(n, &fx[i], n->ud);
            break;
        }
    }
}

/* ---- what the hubs bring --------------------------------------------------------------------- */

static void on_hub_state(size_t index, shoal_hub_stream_state st, void *ud)
{
    shoal_node *n = ud;
    hub *h = node_hub_by_index(n, index);
    if (!h || !h->known)
        return;
    node_say(n, "hub %zu: %s", index,
             st == SHOAL_HUB_STREAM_CONNECTED ? "joined"
             : st == SHOAL_HUB_STREAM_FAILED  ? "unreachable"
                                              : "gone");
    /* joined: the state manager hears of it once the hub's ICE servers are known (ice.c), so
     * that no peer is dialled, nor told we are here, before they can be used */
    if (st == SHOAL_HUB_STREAM_CONNECTED) {
        h->join_held = true;
        if (node_ice_joined(n, h))
            return; /* held (or told already, if the answer came at once) */
        h->join_held = false;
    }
    shoal_conn_action a = {.hub = h->id};
    a.type = st == SHOAL_HUB_STREAM_CONNECTED                ? SHOAL_ACT_HUB_CONNECTION_SUCCEEDED
             : st == SHOAL_HUB_STREAM_FAILED || h->join_held ? SHOAL_ACT_HUB_CONNECTION_FAILED
                                                             : SHOAL_ACT_HUB_DID_DISCONNECT;
    h->join_held = false;
    node_conn(n, &a);
}

/* An announce is news only if newer than the last one of that channel: old ones replayed are
 * refused. */
static bool fresh(shoal_node *n, const shoal_swarm_msg *m)
{
    gint64 *last = g_hash_table_lookup(n->last_seen, m->from);
    if (last && *last >= m->ts)
        return false;
    if (!last) {
        last = g_new(gint64, 1);
        g_hash_table_insert(n->last_seen, g_strdup(m->from), last);
    }
    *last = m->ts;
    return true;
}

static void on_hub_message(size_t index, const char *data, size_t len, void *ud)
{
    shoal_node *n = ud;
    hub *h = node_hub_by_index(n, index);
    shoal_swarm_msg m;
    if (!h || !h->known || n->stopping)
        return;
    int64_t now = g_get_real_time() / 1000;
    uint8_t nonce[24];
    bool sealed;
    int rc = shoal_swarm_open(&n->keys, n->app, data, len, now, n->compat, &m, nonce, &sealed);
    if (rc == SHOAL_OK && sealed &&
        (rc = shoal_swarm_replay_check(n->replay, nonce, m.ts, now)) != SHOAL_OK)
        shoal_swarm_msg_clear(&m);
    if (rc != SHOAL_OK) {
        /* forged, stale, replayed, unsigned, unsealed or malformed: dropped */
        n->stats.messages_refused++;
        if (rc == SHOAL_E_SWARM_SIGNATURE || rc == SHOAL_E_SWARM_SEAL)
            n->stats.messages_forged++;
        else if (rc == SHOAL_E_SWARM_REPLAY || rc == SHOAL_E_SWARM_STALE)
            n->stats.messages_replayed++;
        else if (rc == SHOAL_E_SWARM_UNSEALED || rc == SHOAL_E_SWARM_UNSIGNED)
            n->stats.messages_unsealed++;
        node_say(n, "a hub message was refused: %s", shoal_strerror(rc));
        return;
    }
    if (!m.has_feed) {
        /* a plain webrtc-swarm peer: a stand-in feed, so the state manager can keep it */
        char hex[65];
        gchar *what = g_strconcat("webrtc-swarm:", m.from, NULL);
        crypto_hash_sha256(m.feed, (const uint8_t *)what, strlen(what));
        g_free(what);
        sodium_bin2hex(hex, sizeof hex, m.feed, 32);
        if (!g_hash_table_contains(n->plain_ids, hex))
            g_hash_table_insert(n->plain_ids, g_strdup(hex), g_strdup(m.from));
    }
    if (strcmp(m.from, n->channel) != 0) {
        shoal_conn_action a = {.hub = h->id};
        memcpy(a.feed, m.feed, 32);
        switch (m.kind) {
        case SHOAL_SWARM_ANNOUNCE:
        case SHOAL_SWARM_LEAVE:
            if (m.has_feed && !fresh(n, &m)) {
                n->stats.announces_replayed++;
                break;
            }
            if (m.kind == SHOAL_SWARM_LEAVE)
                node_say(n, "%.8s… left", m.from);
            a.type = m.kind == SHOAL_SWARM_LEAVE ? SHOAL_ACT_REMOTE_PEER_DID_LEAVE
                                                 : SHOAL_ACT_REMOTE_PEER_DID_ANNOUNCE;
            node_conn(n, &a);
            break;
        case SHOAL_SWARM_SIGNAL: {
            shoal_negotiate_event ev = {.type = SHOAL_NEG_EV_SIGNAL, .hub = h->id, .msg = &m};
            node_negotiate(n, &ev); /* never queued: hub messages arrive from the loop */
            break;
        }
        }
    }
    shoal_swarm_msg_clear(&m);
}

/* ---- hubs ------------------------------------------------------------------------------------ */

/* A hub into the hub client and the state manager: by its address, or as an earlier run saved
 * it (`restored`, a HUB_RESTORED action). One the node holds already is left as it is. */
static int take_hub(shoal_node *n, const shoal_hub_addr *addr, const shoal_conn_action *restored)
{
    if (n->draining) /* from one of our callbacks: its action would borrow what it cannot */
        return SHOAL_E_INVAL;
    for (guint i = 0; i < n->hubs->len; i++)
        if (shoal_hub_addr_equal(&g_array_index(n->hubs, hub, i).addr, addr))
            return SHOAL_OK;
    hub h = {.addr = *addr, .index = shoal_hub_client_add_hub(n->client, addr)};
    g_array_append_val(n->hubs, h);
    shoal_conn_action a =
        restored ? *restored
                 : (shoal_conn_action){.type = SHOAL_ACT_HUB_ADDRESS_ADDED, .addr = addr};
    node_conn(n, &a);
    if (node_hub_by_index(n, h.index)->known)
        return SHOAL_OK;
    g_array_remove_index(n->hubs, n->hubs->len - 1); /* the hub client's slot stays, silent */
    return SHOAL_E_CONN_TOO_MANY_HUBS;
}

int shoal_node_add_hub(shoal_node *n, const shoal_hub_addr *addr)
{
    return take_hub(n, addr, NULL);
}

int shoal_node_restore(shoal_node *n, const shoal_conn_action *a)
{
    if (a->type == SHOAL_ACT_HUB_RESTORED && a->hub_record)
        return take_hub(n, &a->hub_record->addr, a);
    if (a->type != SHOAL_ACT_PEER_RESTORED || !a->peer_record || n->draining)
        return SHOAL_E_INVAL;
    node_conn(n, a);
    return SHOAL_OK;
}

int shoal_node_remove_hub(shoal_node *n, const shoal_hub_addr *addr)
{
    for (guint i = 0; i < n->hubs->len; i++) {
        hub *h = &g_array_index(n->hubs, hub, i);
        if (!h->known || !shoal_hub_addr_equal(&h->addr, addr))
            continue;
        node_say(n, "hub %zu: left", h->index);
        shoal_conn_action a = {.type = SHOAL_ACT_HUB_ADDRESS_REMOVED, .hub = h->id};
        node_conn(n, &a); /* the manager disconnects it, while the node still knows it */
        g_array_remove_index(n->hubs, i); /* the hub client's slot stays, silent */
        return SHOAL_OK;
    }
    return SHOAL_E_CONN_UNKNOWN_HUB;
}

void shoal_node_network_changed(shoal_node *n, bool woke)
{
    node_say(n, woke ? "the system woke: every connection is renewed"
                     : "the network changed: hubs are joined anew, WebRTC connections "
                       "restart ICE, the rest are renewed");
    shoal_hub_client_network_changed(n->client); /* nothing more over the old network's */
    shoal_conn_action a = {.type =
                               woke ? SHOAL_ACT_SYSTEM_DID_WAKE : SHOAL_ACT_NETWORK_DID_RECONNECT};
    node_conn(n, &a);
    node_ice_start(n);
}

/* ---- life cycle ------------------------------------------------------------------------------ */

static void free_posting(gpointer p)
{
    g_free(p);
}

int shoal_node_new(const shoal_node_config *cfg, const shoal_node_callbacks *cb, void *ud,
                   shoal_node **out)
{
    shoal_node *n = g_new0(shoal_node, 1);
    n->keys = *cfg->keys;
    n->app = g_strdup(cfg->app ? cfg->app : SHOAL_NODE_APP);
    n->compat = cfg->compat;
    n->no_stun = cfg->no_stun;
    n->no_turn = cfg->no_turn;
    if (cfg->rtc && cfg->rtc->ice)
        n->own_ice = n->own_named = *cfg->rtc->ice;
    if (cfg->limits)
        n->limits = *cfg->limits;
    int erc = cfg->store ? node_replication_start(n, cfg, cb) : SHOAL_OK;
    n->plain_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    n->nets = g_array_new(FALSE, FALSE, sizeof(net_peer));
    n->queue = g_array_new(FALSE, FALSE, sizeof(pending));
    n->reasks = g_ptr_array_new_with_free_func(node_reask_free);
    n->cb = *cb;
    n->ud = ud;
    shoal_swarm_channel(n->keys.pub, n->channel);
    shoal_identity_feed_id(n->keys.pub, n->basics.id);
    n->basics.clock = node_wall_clock;
    n->hubs = g_array_new(FALSE, TRUE, sizeof(hub));
    n->peers = g_hash_table_new(g_direct_hash, g_direct_equal);
    n->posts = g_hash_table_new_full(g_direct_hash, g_direct_equal, free_posting, NULL);
    n->last_seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    n->replay = shoal_swarm_replay_new(REPLAY_SLOTS);
    shoal_rtc_config rc = {0};
    shoal_conn_config cc;
    if (cfg->conn)
        cc = *cfg->conn;
    else
        shoal_conn_config_default(&cc);
    shoal_negotiate_config nc;
    shoal_negotiate_config_default(&nc);
    nc.timeout = cc.timeout_rtc; /* one deadline: the state manager's */
    if (cfg->max_negotiations)
        nc.max_records = cfg->max_negotiations;
    shoal_hub_client_config hc;
    shoal_hub_client_config_default(&hc);
    hc.app = n->app;
    hc.auto_reconnect = false; /* the state manager decides when to come back */
    shoal_hub_client_callbacks hcb = {on_hub_state, on_hub_message, n};
    const char *channels[] = {"all", n->channel};
    int rc_ = erc != SHOAL_OK ? erc
              : n->replay     ? shoal_rtc_new(cfg->rtc ? cfg->rtc : &rc, &n->rtc)
                              : SHOAL_E_NOMEM;
    if (rc_ == SHOAL_OK)
        rc_ = shoal_conn_new(&n->conn, &cc, n->keys.pub, randombytes_random());
    if (rc_ == SHOAL_OK) {
        uint64_t seed;
        randombytes_buf(&seed, sizeof seed);
        rc_ = shoal_negotiate_new(&n->negotiate, &nc, n->channel, seed);
    }
    if (rc_ == SHOAL_OK)
        rc_ = shoal_hub_client_new(&n->client, &hc, &hcb);
    if (rc_ == SHOAL_OK)
        rc_ = shoal_hub_client_subscribe(n->client, channels, 2);
    if (rc_ != SHOAL_OK) {
        shoal_node_free(n);
        return rc_;
    }
    n->ice_cancel = g_cancellable_new();
    node_ice_start(n);
    *out = n;
    return SHOAL_OK;
}

void shoal_node_stop(shoal_node *n, void (*done)(void *ud), void *ud)
{
    n->stopping = true;
    n->stopped = done;
    n->stopped_ud = ud;
    g_clear_handle_id(&n->conn_tick, g_source_remove);
    shoal_buf text = SHOAL_BUF_INIT;
    shoal_swarm_write_presence(&n->keys, n->app, true, g_get_real_time() / 1000, &text);
    for (guint i = 0; i < n->hubs->len && shoal_buf_status(&text) == SHOAL_OK; i++)
        shoal_hub_client_broadcast(n->client, g_array_index(n->hubs, hub, i).index, "all",
                                   text.data, text.len, NULL, NULL);
    shoal_buf_free(&text);
    shoal_negotiate_event ev = {.type = SHOAL_NEG_EV_STOP};
    node_negotiate(n, &ev); /* STOPPED calls `done` once every peer has closed */
}

void shoal_node_free(shoal_node *n)
{
    if (!n)
        return;
    g_clear_handle_id(&n->conn_tick, g_source_remove);
    g_clear_handle_id(&n->negotiate_tick, g_source_remove);
    g_clear_handle_id(&n->ebt_tick, g_source_remove);
    g_clear_handle_id(&n->intake_watch, g_source_remove);
    if (n->ice_cancel) /* names still looked up end telling nobody */
        g_cancellable_cancel(n->ice_cancel);
    g_clear_object(&n->ice_cancel);
    shoal_hub_client_free(n->client); /* no POST calls back after this */
    if (n->peers) {
        channels_abandon_all(n); /* a node freed without stopping: its peers hear nothing */
        g_hash_table_destroy(n->peers);
    }
    if (n->posts)
        g_hash_table_destroy(n->posts);
    if (n->plain_ids)
        g_hash_table_destroy(n->plain_ids);
    if (n->last_seen)
        g_hash_table_destroy(n->last_seen);
    if (n->hubs)
        g_array_free(n->hubs, TRUE);
    if (n->nets)
        g_array_free(n->nets, TRUE);
    if (n->queue)
        g_array_free(n->queue, TRUE);
    if (n->reasks)
        g_ptr_array_free(n->reasks, TRUE);
    shoal_swarm_replay_free(n->replay);
    shoal_negotiate_free(n->negotiate);
    shoal_conn_free(n->conn);
    shoal_rtc_free(n->rtc);
    shoal_repl_free(n->repl);
    g_free(n->follows);
    g_free(n->app);
    sodium_memzero(&n->keys, sizeof n->keys);
    g_free(n);
}

const shoal_node_stats *shoal_node_get_stats(shoal_node *n)
{
    const shoal_negotiate_stats *st = shoal_negotiate_get_stats(n->negotiate);
    n->stats.signals_dropped = st->signals_dropped + n->signals_dropped;
    n->stats.signals_refused = st->signals_refused;
    n->stats.offers_turned_away = st->offers_turned_away + n->net_turned_away;
    n->stats.negotiations_failed = st->negotiations_failed;
    n->stats.offers_over_cap = st->offers_over_cap;
    return &n->stats;
}

shoal_repl *shoal_node_repl(shoal_node *n)
{
    return n->repl;
}

shoal_time shoal_node_now(const shoal_node *n)
{
    (void)n;
    return node_now();
}

const shoal_conn *shoal_node_conn(const shoal_node *n)
{
    return n->conn;
}

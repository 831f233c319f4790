/* One SSB peer on the network of hubs: the shell joining conn, the hub client, swarm, rtc and
 * link (see shoal/node.h).
 *
 * How this works. Each remote peer we negotiate with or are connected to has a record, keyed by
 * its channel. A record lives from the dial (or the offer that reaches us) to its data channel's
 * close; it holds the negotiation's session id, the rtc peer, the link carried over the data
 * channel, and an outbox of signals POSTed to the remote's channel one at a time, so they arrive
 * in order. Records and POSTs in flight hold references, so a record may end while a POST for
 * it is still out. */
#include "shoal/node.h"

#include "shoal/hub_client.h"
#include "shoal/identity.h"
#include "shoal/swarm.h"

#include <glib.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define CHUNK 16384 /* link bytes per data-channel message */

typedef struct hub {
    uint32_t id;  /* the state manager's */
    size_t index; /* the hub client's */
    shoal_hub_addr addr;
    bool known; /* id learnt */
} hub;

struct shoal_node_peer {
    int refs;
    shoal_node *node;
    char channel[SHOAL_SWARM_MAX_FROM + 1];
    uint8_t feed[32]; /* a plain peer's is a stand-in: sha256 of its id */
    bool plain;       /* a plain webrtc-swarm peer (compatibility mode): raw messages, no link */
    size_t hub_index;
    char session[SHOAL_SWARM_SESSION_SIZE];
    bool initiator;
    bool dialled; /* the state manager asked for it (its outcome is reported as a dial's) */
    bool busy;    /* the peer answered our offer "busy": its end is no failure */
    bool established, ended;
    bool replaced; /* lost a glare, or was replaced: its channel closes without a word */
    /* A connected peer that came back (restarted while we held its old connection) negotiates
     * anew beside it: the successor, outside the table, takes its place once its handshake
     * proves the key. */
    shoal_node_peer *successor, *predecessor;
    shoal_rtc_peer *rtc;
    shoal_link *link;
    guint timer; /* the negotiation's deadline; once linked as the server, the hold on our calls */
    guint kick;  /* a pump the link asked for, outside any input (holds a reference) */
    GQueue outbox; /* char*: signals waiting to be POSTed */
    bool posting;
};

struct shoal_node {
    shoal_keypair keys;
    char *app;
    char channel[SHOAL_SWARM_CHANNEL_SIZE];
    uint32_t negotiation_ms;
    shoal_basics basics;
    shoal_shs_keycache keycache;
    shoal_rtc *rtc;
    shoal_conn *conn;
    shoal_hub_client *client;
    GArray *hubs;          /* hub */
    GHashTable *peers;     /* channel → shoal_node_peer */
    GHashTable *last_seen; /* channel → newest announce time (gint64*) */
    GList *retired;        /* records replaced or given up, until their channel has closed */
    bool compat;
    GHashTable *plain_ids; /* hex of a plain peer's stand-in feed → its id */
    GArray *nets;          /* net_peer: the net: connections the state manager holds */
    /* Actions that arise while effects are carried out (a peer closed at once by a network
     * reset, a dial that cannot start) wait here for the effects' end: reducing then would
     * overwrite the effects still being read. Such actions borrow no pointers. */
    GArray *deferred; /* shoal_conn_action */
    bool in_effects;
    shoal_repl *repl; /* NULL without a store */
    uint8_t (*follows)[32];
    size_t nfollows;
    bool replicate_peers;
    guint tick;
    shoal_node_callbacks cb;
    void *ud;
    shoal_node_stats stats;
    bool stopping;
    void (*stopped)(void *ud);
    void *stopped_ud;
};

/* A net: connection (TCP) the state manager counts: one we dial from the dial on, one that
 * dialled us from its handshake on. `conn` is the shell's handle. */
typedef struct net_peer {
    void *conn;
    shoal_rpc *rpc; /* once up */
    uint8_t feed[32];
    bool dialled;
} net_peer;

static void apply(shoal_node *n, shoal_conn_action *a);

static void say(shoal_node *n, const char *fmt, ...) SHOAL_PRINTF(2, 3);
static void say(shoal_node *n, const char *fmt, ...)
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

static shoal_time now_ms(void)
{
    return g_get_monotonic_time() / 1000;
}

static int64_t wall_clock(void *ud)
{
    (void)ud;
    return g_get_real_time() / 1000;
}

static hub *hub_by_id(shoal_node *n, uint32_t id)
{
    for (guint i = 0; i < n->hubs->len; i++) {
        hub *h = &g_array_index(n->hubs, hub, i);
        if (h->known && h->id == id)
            return h;
    }
    return NULL;
}

static hub *hub_by_index(shoal_node *n, size_t index)
{
    for (guint i = 0; i < n->hubs->len; i++) {
        hub *h = &g_array_index(n->hubs, hub, i);
        if (h->index == index)
            return h;
    }
    return NULL;
}

/* ---- remote peers' records ------------------------------------------------------------------ */

static void peer_unref(shoal_node_peer *p)
{
    if (--p->refs > 0)
        return;
    g_queue_clear_full(&p->outbox, g_free);
    shoal_link_free(p->link);
    g_free(p);
}

static void post_next(shoal_node_peer *p);

static void on_posted(size_t hub_index, unsigned status, long recipients, void *ud)
{
    (void)hub_index, (void)recipients;
    shoal_node_peer *p = ud;
    p->posting = false;
    if (status != 200 && !p->ended)
        say(p->node, "a signal to %.8s… was not delivered (HTTP %u)", p->channel, status);
    if (!p->ended)
        post_next(p);
    peer_unref(p);
}

static void post_next(shoal_node_peer *p)
{
    char *text = p->posting ? NULL : g_queue_pop_head(&p->outbox);
    if (!text)
        return;
    p->posting = true;
    p->refs++;
    shoal_hub_client_broadcast(p->node->client, p->hub_index, p->channel, text, strlen(text),
                               on_posted, p);
    g_free(text);
}

static void signal_to(shoal_node_peer *p, json_t *signal)
{
    shoal_buf text = SHOAL_BUF_INIT;
    shoal_swarm_write_signal(p->node->channel, p->session, signal, &text);
    json_decref(signal);
    if (shoal_buf_status(&text) == SHOAL_OK) {
        g_queue_push_tail(&p->outbox, text.data);
        post_next(p);
    } else {
        shoal_buf_free(&text);
    }
}

/* Moves the link's output into data-channel messages while the channel takes them. */
static void pump(shoal_node_peer *p)
{
    if (!p->link || !p->rtc)
        return;
    size_t len;
    const uint8_t *out;
    while ((out = shoal_link_output(p->link, &len)) != NULL) {
        size_t n = len < CHUNK ? len : CHUNK;
        int rc = shoal_rtc_peer_send(p->rtc, out, n, true);
        if (rc == SHOAL_E_RTC_BUFFER_FULL)
            return; /* `writable` resumes */
        if (rc != SHOAL_OK) {
            shoal_rtc_peer_close(p->rtc);
            return;
        }
        shoal_link_drain(p->link, n);
    }
    if (shoal_link_finished(p->link))
        shoal_rtc_peer_close(p->rtc);
}

static void on_deadline_passed(shoal_node_peer *p)
{
    say(p->node, "the negotiation with %.8s… took too long", p->channel);
    shoal_rtc_peer_close(p->rtc);
}

static gboolean on_deadline(gpointer ud)
{
    shoal_node_peer *p = ud;
    p->timer = 0;
    on_deadline_passed(p);
    return G_SOURCE_REMOVE;
}

/* ---- the data channel, and the link over it -------------------------------------------------- */

static void on_description(shoal_rtc_peer *r, bool offer, const char *sdp, void *ud)
{
    (void)r;
    signal_to(ud, json_pack("{s:s, s:s}", "type", offer ? "offer" : "answer", "sdp", sdp));
}

static void on_candidate(shoal_rtc_peer *r, const char *candidate, void *ud)
{
    (void)r;
    signal_to(ud, json_pack("{s:s, s:{s:s, s:i, s:s}}", "type", "candidate", "candidate",
                            "candidate", candidate, "sdpMLineIndex", 0, "sdpMid", "0"));
}

static void retire(shoal_node_peer *p);
static void drop_successor(shoal_node_peer *p);

/* A successor's handshake is done: it takes its predecessor's place, which closes unreported (to
 * the state manager the peer stayed connected all along). */
static void take_over(shoal_node_peer *s)
{
    shoal_node *n = s->node;
    shoal_node_peer *old = s->predecessor;
    old->successor = NULL;
    s->predecessor = NULL;
    s->dialled = old->dialled;
    g_hash_table_replace(n->peers, s->channel, s);
    retire(old);
    say(n, "%.8s… is back: its new connection replaces the old", s->channel);
}

/* The connection is up (a handshake done, or a plain peer's channel open): the state manager
 * hears of it as the dial's success, or as a peer that dialled us. */
static void connection_up(shoal_node_peer *p)
{
    shoal_node *n = p->node;
    p->established = true;
    n->stats.connections++;
    g_clear_handle_id(&p->timer, g_source_remove);
    if (p->predecessor) {
        take_over(p);
        return;
    }
    shoal_conn_action a = {.type = p->dialled ? SHOAL_ACT_REMOTE_PEER_CONNECTION_SUCCEEDED
                                              : SHOAL_ACT_REMOTE_PEER_CLIENT_DID_CONNECT,
                           .transport = SHOAL_TRANSPORT_RTC};
    memcpy(a.feed, p->feed, 32);
    apply(n, &a);
}

static gboolean on_kick(gpointer ud)
{
    shoal_node_peer *p = ud;
    p->kick = 0;
    if (!p->ended)
        pump(p);
    peer_unref(p);
    return G_SOURCE_REMOVE;
}

/* The link has output that no input brought (a live stream fed by a publish, a call): written
 * on the next turn of the loop. */
static void on_output(shoal_link *link, void *ud)
{
    (void)link;
    shoal_node_peer *p = ud;
    if (!p->kick && !p->ended) {
        p->refs++;
        p->kick = g_idle_add_full(G_PRIORITY_DEFAULT, on_kick, p, NULL);
    }
}

static void on_open(shoal_rtc_peer *r, void *ud)
{
    (void)r;
    shoal_node_peer *p = ud;
    shoal_node *n = p->node;
    if (p->plain) {
        connection_up(p);
        if (n->cb.plain_open && !p->ended)
            n->cb.plain_open(n, p, n->ud);
        return;
    }
    shoal_link_config lc = {.keycache = &n->keycache};
    /* the one who offered dials the secret handshake too */
    p->link = shoal_link_new(&n->keys, p->initiator ? p->feed : NULL, &lc);
    if (!p->link || shoal_basics_register(shoal_link_rpc(p->link), &n->basics) != SHOAL_OK) {
        shoal_rtc_peer_close(p->rtc);
        return;
    }
    shoal_link_on_output(p->link, on_output, p);
    pump(p);
}

static bool follows(const shoal_node *n, const uint8_t feed[32])
{
    for (size_t i = 0; i < n->nfollows; i++)
        if (memcmp(n->follows[i], feed, 32) == 0)
            return true;
    return false;
}

static gboolean on_hold(gpointer ud)
{
    shoal_node_peer *p = ud;
    p->timer = 0;
    shoal_link_release(p->link);
    pump(p);
    return G_SOURCE_REMOVE;
}

static void established(shoal_node_peer *p)
{
    shoal_node *n = p->node;
    if (memcmp(shoal_link_remote(p->link), p->feed, 32) != 0) {
        say(n, "%.8s… answered with another key: closed", p->channel);
        shoal_rtc_peer_close(p->rtc);
        return;
    }
    connection_up(p);
    if (!p->initiator)
        p->timer = g_timeout_add(SHOAL_LINK_HOLD_MS, on_hold, p);
    if (n->repl) {
        shoal_rpc *rpc = shoal_link_rpc(p->link);
        if (shoal_node_replicate(n, rpc, p->feed) != SHOAL_OK)
            say(n, "replication with %.8s… could not start", p->channel);
        pump(p);
    }
    if (n->cb.connected && !p->ended)
        n->cb.connected(n, p, n->ud);
}

static void on_message(shoal_rtc_peer *r, const uint8_t *data, size_t len, bool binary, void *ud)
{
    (void)r, (void)binary;
    shoal_node_peer *p = ud;
    if (p->plain) {
        if (p->node->cb.plain_message)
            p->node->cb.plain_message(p->node, p, data, len, p->node->ud);
        return;
    }
    if (!p->link)
        return;
    size_t used = 0;
    while (used < len) {
        bool was = shoal_link_established(p->link);
        long k = shoal_link_input(p->link, data + used, len - used);
        if (k < 0) {
            say(p->node, "the link to %.8s… failed: %s", p->channel, shoal_strerror((int)k));
            pump(p);
            shoal_rtc_peer_close(p->rtc);
            return;
        }
        used += (size_t)k;
        if (!was && shoal_link_established(p->link)) {
            established(p);
            if (p->ended || !p->rtc)
                return;
        }
    }
    pump(p);
}

static void on_writable(shoal_rtc_peer *r, void *ud)
{
    (void)r;
    pump(ud);
}

static void on_closed(shoal_rtc_peer *r, int err, void *ud)
{
    (void)r;
    shoal_node_peer *p = ud;
    shoal_node *n = p->node;
    p->rtc = NULL;
    p->ended = true;
    if (n->repl && p->link)
        shoal_repl_forget(n->repl, shoal_link_rpc(p->link));
    g_clear_handle_id(&p->timer, g_source_remove);
    if (p->replaced) {
        n->retired = g_list_remove(n->retired, p);
        peer_unref(p);
        return;
    }
    if (p->predecessor) { /* a returning peer's negotiation that failed: the old one stands */
        p->predecessor->successor = NULL;
        say(n, "the new negotiation with %.8s… failed: %s", p->channel, shoal_strerror(err));
        peer_unref(p);
        return;
    }
    g_hash_table_remove(n->peers, p->channel);
    if (p->successor) { /* the old connection died first: the new one goes on as any other */
        p->successor->predecessor = NULL;
        g_hash_table_insert(n->peers, p->successor->channel, p->successor);
        p->successor = NULL;
    }
    shoal_conn_action a = {.transport = SHOAL_TRANSPORT_RTC};
    memcpy(a.feed, p->feed, 32);
    if (p->established)
        a.type = SHOAL_ACT_REMOTE_PEER_DID_DISCONNECT;
    else
        a.type = p->dialled ? SHOAL_ACT_REMOTE_PEER_CONNECTION_FAILED
                            : SHOAL_ACT_REMOTE_PEER_DID_DISCONNECT;
    if (!p->established && !n->stopping && !p->busy) {
        n->stats.negotiations_failed++;
        say(n, "the negotiation with %.8s… failed: %s", p->channel, shoal_strerror(err));
    }
    if (!n->stopping && !p->busy) /* a busy peer's record was settled when it said so */
        apply(n, &a);
    if (p->established && n->cb.disconnected)
        n->cb.disconnected(n, p->feed, err, n->ud);
    peer_unref(p); /* the table's reference */
    if (n->stopping && g_hash_table_size(n->peers) == 0 && n->stopped) {
        void (*done)(void *) = n->stopped;
        n->stopped = NULL;
        done(n->stopped_ud);
    }
}

static const shoal_rtc_callbacks rtc_callbacks = {on_description, on_candidate, on_open,
                                                  on_message,     on_writable,  on_closed};

/* A record and its channel's negotiation, not yet in the table. */
static shoal_node_peer *peer_create(shoal_node *n, const char *channel, const uint8_t feed[32],
                                    size_t hub_index, bool initiator, const char *session)
{
    shoal_node_peer *p = g_new0(shoal_node_peer, 1);
    p->refs = 1; /* the table's */
    p->node = n;
    g_strlcpy(p->channel, channel, sizeof p->channel);
    memcpy(p->feed, feed, 32);
    p->hub_index = hub_index;
    p->initiator = initiator;
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, feed, 32);
    p->plain = g_hash_table_contains(n->plain_ids, hex);
    if (p->plain)
        p->session[0] = '\0'; /* plain peers know no sessions */
    else if (session)
        g_strlcpy(p->session, session, sizeof p->session);
    else
        g_snprintf(p->session, sizeof p->session, "%08x%08x", g_random_int(), g_random_int());
    g_queue_init(&p->outbox);
    p->rtc = shoal_rtc_peer_new(n->rtc, initiator, "shoal", &rtc_callbacks, p);
    if (!p->rtc) {
        peer_unref(p);
        return NULL;
    }
    p->timer = g_timeout_add(n->negotiation_ms, on_deadline, p);
    return p;
}

static shoal_node_peer *peer_new(shoal_node *n, const char *channel, const uint8_t feed[32],
                                 size_t hub_index, bool initiator, const char *session)
{
    shoal_node_peer *p = peer_create(n, channel, feed, hub_index, initiator, session);
    if (p)
        g_hash_table_insert(n->peers, p->channel, p);
    return p;
}

/* Gives up a returning peer's new negotiation, if there is one. */
static void drop_successor(shoal_node_peer *p)
{
    shoal_node_peer *s = p->successor;
    if (!s)
        return;
    p->successor = NULL;
    s->predecessor = NULL;
    retire(s);
}

/* Closes a record that no one is to hear of again: its goodbyes go out first when linked. */
static void retire(shoal_node_peer *p)
{
    shoal_node *n = p->node;
    p->replaced = true;
    n->retired = g_list_prepend(n->retired, p);
    g_clear_handle_id(&p->timer, g_source_remove);
    drop_successor(p);
    if (p->link && shoal_link_established(p->link)) {
        shoal_link_close(p->link);
        pump(p);
    } else if (p->rtc) {
        shoal_rtc_peer_close(p->rtc);
    }
}

/* A connected peer offers a new negotiation: it came back (restarted, or it lost our connection
 * before we noticed). The new one runs beside the old and replaces it once its handshake
 * proves the key, so a forged offer costs only a negotiation that fails at its deadline. */
static void take_return(shoal_node *n, hub *h, shoal_node_peer *p, shoal_swarm_msg *m,
                        const char *sdp)
{
    if (p->successor && strcmp(p->successor->session, m->session) == 0)
        return; /* the same offer again */
    drop_successor(p);
    say(n, "%.8s… dials us again: negotiating beside the connection we hold", m->from);
    shoal_node_peer *s = peer_create(n, m->from, m->feed, h->index, false, m->session);
    if (!s)
        return;
    p->successor = s;
    s->predecessor = p;
    if (shoal_rtc_peer_set_remote(s->rtc, true, sdp, strlen(sdp)) != SHOAL_OK) {
        n->stats.signals_refused++;
        say(n, "the offer of %.8s… could not be read", m->from);
        shoal_rtc_peer_close(s->rtc);
    }
}

/* ---- the state manager's effects ------------------------------------------------------------ */

static gboolean on_tick(gpointer ud)
{
    shoal_node *n = ud;
    n->tick = 0;
    shoal_conn_action a = {.type = SHOAL_ACT_PEER_CONNECTION_TIMER_TICKED};
    apply(n, &a);
    return G_SOURCE_REMOVE;
}

/* A peer's channel: its key's name, or a plain peer's own id. */
static void channel_of(shoal_node *n, const uint8_t feed[32], char out[SHOAL_SWARM_MAX_FROM + 1])
{
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, feed, 32);
    const char *plain = g_hash_table_lookup(n->plain_ids, hex);
    if (plain)
        g_strlcpy(out, plain, SHOAL_SWARM_MAX_FROM + 1);
    else
        shoal_swarm_channel(feed, out);
}

static void dial(shoal_node *n, const uint8_t feed[32], uint32_t hub_id)
{
    char channel[SHOAL_SWARM_MAX_FROM + 1];
    channel_of(n, feed, channel);
    hub *h = hub_by_id(n, hub_id);
    if (!h || g_hash_table_contains(n->peers, channel))
        return;
    say(n, "dialling %.8s… through hub %zu", channel, h->index);
    shoal_node_peer *p = peer_new(n, channel, feed, h->index, true, NULL);
    if (p)
        p->dialled = true;
    else {
        say(n, "cannot dial %.8s…: no WebRTC negotiation could start (no usable interface?)",
            channel);
        shoal_conn_action a = {.type = SHOAL_ACT_REMOTE_PEER_CONNECTION_FAILED};
        memcpy(a.feed, feed, 32);
        apply(n, &a);
    }
}

static net_peer *net_of_feed(shoal_node *n, const uint8_t feed[32])
{
    for (guint i = 0; i < n->nets->len; i++)
        if (memcmp(g_array_index(n->nets, net_peer, i).feed, feed, 32) == 0)
            return &g_array_index(n->nets, net_peer, i);
    return NULL;
}

static net_peer *net_of_conn(shoal_node *n, const void *conn, guint *at)
{
    for (guint i = 0; i < n->nets->len; i++)
        if (g_array_index(n->nets, net_peer, i).conn == conn) {
            *at = i;
            return &g_array_index(n->nets, net_peer, i);
        }
    return NULL;
}

static void close_peer(shoal_node *n, const uint8_t feed[32], shoal_close_reason reason)
{
    char channel[SHOAL_SWARM_MAX_FROM + 1];
    channel_of(n, feed, channel);
    shoal_node_peer *p = g_hash_table_lookup(n->peers, channel);
    net_peer *np = net_of_feed(n, feed);
    if ((!p || !p->rtc) && np) {
        say(n, "closing %.8s… over net: (%s)", channel, shoal_close_reason_name(reason));
        if (n->cb.close_net)
            n->cb.close_net(n, np->conn, reason, n->ud);
        return;
    }
    if (!p || !p->rtc)
        return;
    say(n, "closing %.8s… (%s)", channel, shoal_close_reason_name(reason));
    if (reason == SHOAL_CLOSE_NETWORK_RESET) {
        /* the path it used may be gone: no goodbyes to wait for, and room to dial anew */
        drop_successor(p);
        shoal_rtc_peer *r = p->rtc;
        shoal_rtc_peer_abandon(r);
        on_closed(r, SHOAL_E_NETWORK_RESET, p);
        return;
    }
    if (p->link) {
        shoal_link_close(p->link); /* goodbyes first; the channel closes once they are out */
        pump(p);
    } else {
        shoal_rtc_peer_close(p->rtc);
    }
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

static void carry_out(shoal_node *n, const shoal_conn_fx *fx, size_t count);

/* Carries out the effects, then the actions they gave rise to, in order. */
static void effects(shoal_node *n, const shoal_conn_fx *fx, size_t count)
{
    bool outer = !n->in_effects;
    n->in_effects = true;
    carry_out(n, fx, count);
    if (!outer)
        return;
    for (guint i = 0; i < n->deferred->len; i++) {
        shoal_conn_action a = g_array_index(n->deferred, shoal_conn_action, i);
        size_t more;
        if (shoal_conn_reduce(n->conn, &a, now_ms(), &fx, &more) == SHOAL_OK)
            carry_out(n, fx, more);
    }
    g_array_set_size(n->deferred, 0);
    n->in_effects = false;
}

static void carry_out(shoal_node *n, const shoal_conn_fx *fx, size_t count)
{
    learn_hub_ids(n, fx, count);
    for (size_t i = 0; i < count; i++) {
        hub *h = hub_by_id(n, fx[i].hub);
        switch (fx[i].type) {
        case SHOAL_FX_CONNECT_TO_HUB:
            if (h)
                shoal_hub_client_connect(n->client, h->index);
            break;
        case SHOAL_FX_DISCONNECT_HUB:
            if (h)
                shoal_hub_client_disconnect(n->client, h->index);
            break;
        case SHOAL_FX_ANNOUNCE_TO_HUB:
            if (h)
                announce(n, h);
            break;
        case SHOAL_FX_DIAL_PEER:
            dial(n, fx[i].feed, fx[i].hub);
            break;
        case SHOAL_FX_CLOSE_PEER:
            close_peer(n, fx[i].feed, fx[i].reason);
            break;
        case SHOAL_FX_SCHEDULE_TICK: {
            g_clear_handle_id(&n->tick, g_source_remove);
            shoal_time wait = fx[i].at > now_ms() ? fx[i].at - now_ms() : 0;
            n->tick = g_timeout_add((guint)(wait < 60000 ? wait : 60000), on_tick, n);
            break;
        }
        case SHOAL_FX_HUB_CHANGED:
        case SHOAL_FX_HUB_REMOVED:
        case SHOAL_FX_PEER_CHANGED:
        case SHOAL_FX_PEER_FORGOTTEN:
            if (n->cb.changed)
                n->cb.changed(n, &fx[i], n->ud);
            break;
        }
    }
}

static void apply(shoal_node *n, shoal_conn_action *a)
{
    if (n->in_effects) {
        g_array_append_val(n->deferred, *a);
        return;
    }
    const shoal_conn_fx *fx;
    size_t count;
    if (shoal_conn_reduce(n->conn, a, now_ms(), &fx, &count) == SHOAL_OK)
        effects(n, fx, count);
}

/* ---- what the hubs bring --------------------------------------------------------------------- */

static void on_hub_state(size_t index, shoal_hub_stream_state st, void *ud)
{
    shoal_node *n = ud;
    hub *h = hub_by_index(n, index);
    if (!h || !h->known)
        return;
    say(n, "hub %zu: %s", index,
        st == SHOAL_HUB_STREAM_CONNECTED ? "joined"
        : st == SHOAL_HUB_STREAM_FAILED  ? "unreachable"
                                         : "gone");
    shoal_conn_action a = {.hub = h->id};
    a.type = st == SHOAL_HUB_STREAM_CONNECTED ? SHOAL_ACT_HUB_CONNECTION_SUCCEEDED
             : st == SHOAL_HUB_STREAM_FAILED  ? SHOAL_ACT_HUB_CONNECTION_FAILED
                                              : SHOAL_ACT_HUB_DID_DISCONNECT;
    apply(n, &a);
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

/* Every slot is taken: the dialler hears so at once (a signal {"type":"busy"} for its
 * negotiation) rather than waiting out its negotiation's deadline and counting a failure. A plain
 * webrtc-swarm peer would not understand it, and is left to time out as webrtc-swarm does. */
static void refuse_busy(shoal_node *n, const hub *h, const shoal_swarm_msg *m)
{
    if (!m->has_feed)
        return;
    json_t *busy = json_pack("{s:s}", "type", "busy");
    shoal_buf text = SHOAL_BUF_INIT;
    shoal_swarm_write_signal(n->channel, m->session, busy, &text);
    json_decref(busy);
    if (shoal_buf_status(&text) == SHOAL_OK)
        shoal_hub_client_broadcast(n->client, h->index, m->from, text.data, text.len, NULL, NULL);
    shoal_buf_free(&text);
}

static void take_signal(shoal_node *n, hub *h, shoal_swarm_msg *m)
{
    shoal_node_peer *p = g_hash_table_lookup(n->peers, m->from);
    const char *type = json_string_value(json_object_get(m->signal, "type"));
    const char *sdp = json_string_value(json_object_get(m->signal, "sdp"));
    if (type && strcmp(type, "busy") == 0) {
        /* only for the negotiation we began, and only once */
        if (p && p->initiator && !p->established && !p->busy && p->rtc &&
            strcmp(p->session, m->session) == 0) {
            say(n, "%.8s… has every slot taken: another candidate gets ours", m->from);
            p->busy = true;
            if (p->dialled) {
                shoal_conn_action a = {.type = SHOAL_ACT_REMOTE_PEER_BUSY};
                memcpy(a.feed, p->feed, 32);
                apply(n, &a);
            }
            shoal_rtc_peer_close(p->rtc);
        }
        return;
    }
    if (type && sdp && strcmp(type, "offer") == 0) {
        if (p && strcmp(p->session, m->session) == 0)
            return; /* the same offer again */
        if (p && p->initiator && !p->established && !p->plain &&
            shoal_swarm_we_lead(n->channel, m->from))
            return; /* glare: both offered; ours stands, they will answer it (a plain peer never
                       yields, so we always do) */
        if (p && p->established) {
            if (!p->plain)
                take_return(n, h, p, m, sdp);
            return;
        }
        if (p) {
            /* glare, and theirs stands; or they gave up the negotiation we were answering and
             * began another: drop ours quietly and answer the new one */
            say(n,
                p->initiator ? "%.8s… and we dialled each other at once: answering theirs"
                             : "%.8s… began a new negotiation: answering that one",
                m->from);
            g_hash_table_remove(n->peers, p->channel);
            bool dialled = p->dialled;
            retire(p); /* its record goes with it, unreported */
            p = peer_new(n, m->from, m->feed, h->index, false, m->session);
            if (p)
                p->dialled = dialled;
        } else if (net_of_feed(n, m->feed)) {
            say(n, "%.8s… dialled us, but is connected over net: already", m->from);
            refuse_busy(n, h, m);
            return;
        } else {
            shoal_conn_action a = {.type = SHOAL_ACT_REMOTE_PEER_CONNECTING,
                                   .hub = h->id,
                                   .transport = SHOAL_TRANSPORT_RTC};
            memcpy(a.feed, m->feed, 32);
            const shoal_conn_fx *fx;
            size_t count;
            if (shoal_conn_reduce(n->conn, &a, now_ms(), &fx, &count) != SHOAL_OK)
                return;
            bool refused = false;
            for (size_t i = 0; i < count; i++)
                refused |=
                    fx[i].type == SHOAL_FX_CLOSE_PEER && memcmp(fx[i].feed, m->feed, 32) == 0;
            if (refused) {
                n->stats.offers_turned_away++;
                say(n, "%.8s… dialled us, but every slot is taken", m->from);
                effects(n, fx, count);
                refuse_busy(n, h, m);
                return;
            }
            say(n, "%.8s… dials us", m->from);
            p = peer_new(n, m->from, m->feed, h->index, false, m->session);
            effects(n, fx, count);
        }
        if (p && p->rtc && shoal_rtc_peer_set_remote(p->rtc, true, sdp, strlen(sdp)) != SHOAL_OK) {
            n->stats.signals_refused++;
            say(n, "the offer of %.8s… could not be read", m->from);
            shoal_rtc_peer_close(p->rtc);
        }
        return;
    }
    if (p && p->successor && strcmp(p->successor->session, m->session) == 0)
        p = p->successor;
    if (!p || !p->rtc || strcmp(p->session, m->session) != 0) {
        n->stats.signals_dropped++; /* a signal for a negotiation we do not have */
        return;
    }
    if (type && sdp && strcmp(type, "answer") == 0) {
        if (shoal_rtc_peer_set_remote(p->rtc, false, sdp, strlen(sdp)) != SHOAL_OK) {
            n->stats.signals_refused++;
            say(n, "the answer of %.8s… could not be read", m->from);
            shoal_rtc_peer_close(p->rtc);
        }
        return;
    }
    const char *cand =
        json_string_value(json_object_get(json_object_get(m->signal, "candidate"), "candidate"));
    if (cand && shoal_rtc_peer_add_candidate(p->rtc, cand) != SHOAL_OK) {
        n->stats.signals_refused++;
        say(n, "a candidate from %.8s… could not be read", m->from);
    }
}

static void on_hub_message(size_t index, const char *data, size_t len, void *ud)
{
    shoal_node *n = ud;
    hub *h = hub_by_index(n, index);
    shoal_swarm_msg m;
    if (!h || !h->known || n->stopping)
        return;
    int rc = shoal_swarm_parse(n->app, data, len, g_get_real_time() / 1000, n->compat, &m);
    if (rc != SHOAL_OK) {
        n->stats.messages_refused++; /* forged, stale, unsigned or malformed: dropped */
        say(n, "a hub message was refused: %s", shoal_strerror(rc));
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
                say(n, "%.8s… left", m.from);
            a.type = m.kind == SHOAL_SWARM_LEAVE ? SHOAL_ACT_REMOTE_PEER_DID_LEAVE
                                                 : SHOAL_ACT_REMOTE_PEER_DID_ANNOUNCE;
            apply(n, &a);
            break;
        case SHOAL_SWARM_SIGNAL:
            take_signal(n, h, &m);
            break;
        }
    }
    shoal_swarm_msg_clear(&m);
}

/* ---- replication ------------------------------------------------------------------------------
 */

static shoal_node_peer *peer_of_rpc(shoal_node *n, shoal_rpc *rpc)
{
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, n->peers);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        shoal_node_peer *p = value;
        if (p->link && shoal_link_rpc(p->link) == rpc)
            return p;
    }
    return NULL;
}

/* Messages came from a peer: the state manager must not rotate it out while they do. */
static void on_progress(shoal_repl *r, shoal_rpc *from, const uint8_t feed[32], int64_t head,
                        void *ud)
{
    (void)r;
    shoal_node *n = ud;
    shoal_node_peer *p = peer_of_rpc(n, from); /* NULL: a net: session, or none of ours */
    const uint8_t *remote = p ? p->feed : NULL;
    for (guint i = 0; !remote && i < n->nets->len; i++)
        if (g_array_index(n->nets, net_peer, i).rpc == from)
            remote = g_array_index(n->nets, net_peer, i).feed;
    if (remote) {
        shoal_conn_action a = {.type = SHOAL_ACT_DOWNLOAD_PROGRESS};
        memcpy(a.feed, remote, 32);
        apply(n, &a);
    }
    if (n->cb.progress)
        n->cb.progress(n, p, feed, head, n->ud);
}

static void on_head_known(shoal_repl *r, shoal_rpc *from, const uint8_t feed[32], int64_t head,
                          void *ud)
{
    (void)r, (void)from;
    shoal_node *n = ud;
    if (n->cb.head_known)
        n->cb.head_known(n, feed, head, n->ud);
}

static void on_refused(shoal_repl *r, shoal_rpc *from, const uint8_t feed[32], const char *reason,
                       void *ud)
{
    (void)r, (void)feed;
    shoal_node *n = ud;
    shoal_node_peer *p = peer_of_rpc(n, from);
    say(n, "a message from %.8s… was refused: %s", p ? p->channel : "?", reason);
}

int shoal_node_publish(shoal_node *n, const char *content, size_t len, shoal_msg_info *info,
                       const char **reason)
{
    if (!n->repl)
        return SHOAL_E_INVAL;
    return shoal_repl_publish(n->repl, &n->keys, (double)(g_get_real_time() / 1000), content, len,
                              info, reason); /* live streams fed by it write on their own */
}

/* ---- life cycle ------------------------------------------------------------------------------ */

int shoal_node_new(const shoal_node_config *cfg, const shoal_node_callbacks *cb, void *ud,
                   shoal_node **out)
{
    shoal_node *n = g_new0(shoal_node, 1);
    n->keys = *cfg->keys;
    n->app = g_strdup(cfg->app ? cfg->app : SHOAL_NODE_APP);
    n->compat = cfg->compat;
    if (cfg->store) {
        shoal_repl_callbacks rcb = {.progress = on_progress,
                                    .refused = on_refused,
                                    .head_known = cb->head_known ? on_head_known : NULL,
                                    .clock = wall_clock};
        n->repl = shoal_repl_new(cfg->store, NULL, &rcb, n);
        n->nfollows = cfg->nfollows;
        n->replicate_peers = cfg->replicate_peers;
        n->follows = n->nfollows ? g_memdup2(cfg->follows, n->nfollows * 32) : NULL;
    }
    n->plain_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    n->nets = g_array_new(FALSE, FALSE, sizeof(net_peer));
    n->deferred = g_array_new(FALSE, FALSE, sizeof(shoal_conn_action));
    n->cb = *cb;
    n->ud = ud;
    shoal_swarm_channel(n->keys.pub, n->channel);
    shoal_identity_feed_id(n->keys.pub, n->basics.id);
    n->basics.clock = wall_clock;
    n->hubs = g_array_new(FALSE, TRUE, sizeof(hub));
    n->peers = g_hash_table_new(g_str_hash, g_str_equal);
    n->last_seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    shoal_rtc_config rc = {0};
    shoal_conn_config cc;
    if (cfg->conn)
        cc = *cfg->conn;
    else
        shoal_conn_config_default(&cc);
    /* the state manager's deadline, for negotiations it does not see (a returning peer's) too */
    n->negotiation_ms = cc.timeout_rtc < UINT32_MAX ? (uint32_t)cc.timeout_rtc : UINT32_MAX;
    shoal_hub_client_config hc;
    shoal_hub_client_config_default(&hc);
    hc.app = n->app;
    hc.auto_reconnect = false; /* the state manager decides when to come back */
    shoal_hub_client_callbacks hcb = {on_hub_state, on_hub_message, n};
    const char *channels[] = {"all", n->channel};
    int rc_ = shoal_rtc_new(cfg->rtc ? cfg->rtc : &rc, &n->rtc);
    if (rc_ == SHOAL_OK)
        rc_ = shoal_conn_new(&n->conn, &cc, n->keys.pub, randombytes_random());
    if (rc_ == SHOAL_OK)
        rc_ = shoal_hub_client_new(&n->client, &hc, &hcb);
    if (rc_ == SHOAL_OK)
        rc_ = shoal_hub_client_subscribe(n->client, channels, 2);
    if (rc_ != SHOAL_OK) {
        shoal_node_free(n);
        return rc_;
    }
    *out = n;
    return SHOAL_OK;
}

/* A hub into the hub client and the state manager: by its address, or as an earlier run saved
 * it (`restored`, a HUB_RESTORED action). One the node holds already is left as it is. */
static int take_hub(shoal_node *n, const shoal_hub_addr *addr, const shoal_conn_action *restored)
{
    for (guint i = 0; i < n->hubs->len; i++)
        if (shoal_hub_addr_equal(&g_array_index(n->hubs, hub, i).addr, addr))
            return SHOAL_OK;
    hub h = {.addr = *addr, .index = shoal_hub_client_add_hub(n->client, addr)};
    g_array_append_val(n->hubs, h);
    shoal_conn_action a =
        restored ? *restored
                 : (shoal_conn_action){.type = SHOAL_ACT_HUB_ADDRESS_ADDED, .addr = addr};
    apply(n, &a);
    if (hub_by_index(n, h.index)->known)
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
    if (a->type != SHOAL_ACT_PEER_RESTORED || !a->peer_record)
        return SHOAL_E_INVAL;
    shoal_conn_action copy = *a;
    apply(n, &copy);
    return SHOAL_OK;
}

void shoal_node_stop(shoal_node *n, void (*done)(void *ud), void *ud)
{
    n->stopping = true;
    n->stopped = done;
    n->stopped_ud = ud;
    g_clear_handle_id(&n->tick, g_source_remove);
    shoal_buf text = SHOAL_BUF_INIT;
    shoal_swarm_write_presence(&n->keys, n->app, true, g_get_real_time() / 1000, &text);
    for (guint i = 0; i < n->hubs->len && shoal_buf_status(&text) == SHOAL_OK; i++)
        shoal_hub_client_broadcast(n->client, g_array_index(n->hubs, hub, i).index, "all",
                                   text.data, text.len, NULL, NULL);
    shoal_buf_free(&text);
    GList *peers = g_hash_table_get_values(n->peers);
    for (GList *l = peers; l; l = l->next) {
        shoal_node_peer *p = l->data;
        drop_successor(p);
        close_peer(n, p->feed, SHOAL_CLOSE_REQUESTED);
    }
    g_list_free(peers);
    if (g_hash_table_size(n->peers) == 0 && done) {
        n->stopped = NULL;
        done(ud);
    }
}

void shoal_node_free(shoal_node *n)
{
    if (!n)
        return;
    g_clear_handle_id(&n->tick, g_source_remove);
    shoal_hub_client_free(n->client); /* no POST calls back after this */
    if (n->peers) {
        /* peers still there (a node freed without stopping): dropped without a word */
        GHashTableIter it;
        gpointer key, value;
        g_hash_table_iter_init(&it, n->peers);
        while (g_hash_table_iter_next(&it, &key, &value)) {
            shoal_node_peer *p = value;
            if (p->successor) { /* retired: the list below frees it */
                p->successor->predecessor = NULL;
                p->successor->replaced = true;
                n->retired = g_list_prepend(n->retired, p->successor);
                g_clear_handle_id(&p->successor->timer, g_source_remove);
                g_clear_handle_id(&p->successor->kick, g_source_remove);
            }
            g_clear_handle_id(&p->timer, g_source_remove);
            g_clear_handle_id(&p->kick, g_source_remove);
            if (p->rtc)
                shoal_rtc_peer_abandon(p->rtc);
            p->refs = 1; /* the POSTs that held the others will never call back */
            peer_unref(p);
        }
        g_hash_table_destroy(n->peers);
    }
    for (GList *l = n->retired; l; l = l->next) {
        shoal_node_peer *p = l->data;
        g_clear_handle_id(&p->kick, g_source_remove);
        if (p->rtc)
            shoal_rtc_peer_abandon(p->rtc);
        p->refs = 1;
        peer_unref(p);
    }
    g_list_free(n->retired);
    if (n->plain_ids)
        g_hash_table_destroy(n->plain_ids);
    if (n->nets)
        g_array_free(n->nets, TRUE);
    if (n->deferred)
        g_array_free(n->deferred, TRUE);
    if (n->last_seen)
        g_hash_table_destroy(n->last_seen);
    if (n->hubs)
        g_array_free(n->hubs, TRUE);
    shoal_conn_free(n->conn);
    shoal_rtc_free(n->rtc);
    shoal_repl_free(n->repl);
    g_free(n->follows);
    g_free(n->app);
    sodium_memzero(&n->keys, sizeof n->keys);
    g_free(n);
}

const shoal_node_stats *shoal_node_get_stats(const shoal_node *n)
{
    return &n->stats;
}

int shoal_node_remove_hub(shoal_node *n, const shoal_hub_addr *addr)
{
    for (guint i = 0; i < n->hubs->len; i++) {
        hub *h = &g_array_index(n->hubs, hub, i);
        if (!h->known || !shoal_hub_addr_equal(&h->addr, addr))
            continue;
        say(n, "hub %zu: left", h->index);
        shoal_conn_action a = {.type = SHOAL_ACT_HUB_ADDRESS_REMOVED, .hub = h->id};
        apply(n, &a); /* the manager disconnects it, while the node still knows it */
        g_array_remove_index(n->hubs, i); /* the hub client's slot stays, silent */
        return SHOAL_OK;
    }
    return SHOAL_E_CONN_UNKNOWN_HUB;
}

int shoal_node_replicate(shoal_node *n, shoal_rpc *rpc, const uint8_t remote[32])
{
    if (!n->repl)
        return SHOAL_E_INVAL;
    /* what we follow, our own feed (a peer may hold what we lost), and, if we replicate peers,
     * the peer's own */
    int rc = shoal_repl_serve(n->repl, rpc);
    for (size_t i = 0; rc == SHOAL_OK && i < n->nfollows; i++)
        rc = shoal_repl_request(n->repl, rpc, n->follows[i], true);
    if (rc == SHOAL_OK && !follows(n, n->keys.pub))
        rc = shoal_repl_request(n->repl, rpc, n->keys.pub, true);
    if (rc == SHOAL_OK && n->replicate_peers && !follows(n, remote))
        rc = shoal_repl_request(n->repl, rpc, remote, true);
    return rc;
}

int shoal_node_follow(shoal_node *n, const uint8_t feed[32], bool following)
{
    if (!n->repl)
        return SHOAL_E_INVAL;
    for (size_t i = 0; i < n->nfollows; i++)
        if (memcmp(n->follows[i], feed, 32) == 0) {
            if (!following)
                memmove(n->follows[i], n->follows[--n->nfollows], 32);
            return SHOAL_OK;
        }
    if (!following)
        return SHOAL_OK;
    n->follows = g_realloc_n(n->follows, n->nfollows + 1, 32);
    memcpy(n->follows[n->nfollows++], feed, 32);
    return shoal_repl_request_everywhere(n->repl, feed);
}

const uint8_t (*shoal_node_follows(const shoal_node *n, size_t *count))[32]
{
    *count = n->nfollows;
    return (const uint8_t(*)[32])n->follows;
}

void shoal_node_network_changed(shoal_node *n, bool woke)
{
    say(n, woke ? "the system woke: every connection is renewed"
                : "the network changed: every connection is renewed");
    shoal_conn_action a = {.type =
                               woke ? SHOAL_ACT_SYSTEM_DID_WAKE : SHOAL_ACT_NETWORK_DID_RECONNECT};
    apply(n, &a);
}

shoal_repl *shoal_node_repl(shoal_node *n)
{
    return n->repl;
}

shoal_time shoal_node_now(const shoal_node *n)
{
    (void)n;
    return now_ms();
}

const shoal_conn *shoal_node_conn(const shoal_node *n)
{
    return n->conn;
}

const uint8_t *shoal_node_peer_feed(const shoal_node_peer *p)
{
    return p->feed;
}

shoal_rpc *shoal_node_peer_rpc(shoal_node_peer *p)
{
    return p->link ? shoal_link_rpc(p->link) : NULL;
}

int shoal_node_peer_send_plain(shoal_node_peer *p, const uint8_t *data, size_t len, bool binary)
{
    if (!p->plain || !p->rtc || !p->established)
        return SHOAL_E_RTC_STATE;
    return shoal_rtc_peer_send(p->rtc, data, len, binary);
}

/* ---- net: connections ------------------------------------------------------------------------ */

int shoal_node_net_dial(shoal_node *n, const uint8_t feed[32], void *conn)
{
    const shoal_conn_peer *known = shoal_conn_peer_find(n->conn, feed);
    if (n->stopping)
        return SHOAL_E_CONN_FULL;
    if (known && (known->state == SHOAL_PEER_CONNECTING || known->state == SHOAL_PEER_CONNECTED))
        return SHOAL_E_CONN_ALREADY;
    shoal_conn_action a = {
        .type = SHOAL_ACT_PEER_DIAL, .hub = SHOAL_CONN_NO_HUB, .transport = SHOAL_TRANSPORT_NET};
    memcpy(a.feed, feed, 32);
    apply(n, &a);
    known = shoal_conn_peer_find(n->conn, feed);
    if (!known || known->state != SHOAL_PEER_CONNECTING)
        return SHOAL_E_CONN_FULL;
    net_peer np = {.conn = conn, .dialled = true};
    memcpy(np.feed, feed, 32);
    g_array_append_val(n->nets, np);
    return SHOAL_OK;
}

bool shoal_node_net_up(shoal_node *n, void *conn, shoal_rpc *rpc, const uint8_t feed[32])
{
    guint at;
    net_peer *np = net_of_conn(n, conn, &at);
    char channel[SHOAL_SWARM_MAX_FROM + 1];
    shoal_swarm_channel(feed, channel);
    if (n->stopping)
        return false;
    if (!np) { /* it dialled us: admitted as any peer that dials us, unless we hold it already */
        const shoal_conn_peer *known = shoal_conn_peer_find(n->conn, feed);
        if (known &&
            (known->state == SHOAL_PEER_CONNECTING || known->state == SHOAL_PEER_CONNECTED)) {
            say(n, "%.8s… dialled us over net:, but is connected already", channel);
            return false;
        }
        shoal_conn_action a = {.type = SHOAL_ACT_REMOTE_PEER_CLIENT_DID_CONNECT,
                               .hub = SHOAL_CONN_NO_HUB,
                               .transport = SHOAL_TRANSPORT_NET};
        memcpy(a.feed, feed, 32);
        apply(n, &a);
        known = shoal_conn_peer_find(n->conn, feed);
        if (!known || known->state != SHOAL_PEER_CONNECTED) {
            n->stats.offers_turned_away++;
            say(n, "%.8s… dialled us over net:, but every slot is taken", channel);
            return false;
        }
        net_peer fresh = {.conn = conn};
        memcpy(fresh.feed, feed, 32);
        g_array_append_val(n->nets, fresh);
        np = &g_array_index(n->nets, net_peer, n->nets->len - 1);
        say(n, "%.8s… dialled us over net:", channel);
    } else {
        shoal_conn_action a = {.type = SHOAL_ACT_REMOTE_PEER_CONNECTION_SUCCEEDED};
        memcpy(a.feed, feed, 32);
        apply(n, &a);
        np = net_of_conn(n, conn, &at); /* apply may have closed it (a deadline passed) */
        if (!np)
            return false;
    }
    np->rpc = rpc;
    n->stats.connections++;
    if (shoal_basics_register(rpc, &n->basics) != SHOAL_OK ||
        (n->repl && shoal_node_replicate(n, rpc, feed) != SHOAL_OK)) {
        say(n, "replication with %.8s… could not start", channel);
        return false; /* the shell closes it: shoal_node_net_down follows */
    }
    return true;
}

void shoal_node_net_down(shoal_node *n, void *conn, int err)
{
    guint at;
    net_peer *np = net_of_conn(n, conn, &at);
    if (!np)
        return;
    net_peer gone = *np;
    g_array_remove_index_fast(n->nets, at);
    if (n->repl && gone.rpc)
        shoal_repl_forget(n->repl, gone.rpc);
    if (n->stopping)
        return;
    shoal_conn_action a = {.type = gone.rpc || !gone.dialled
                                       ? SHOAL_ACT_REMOTE_PEER_DID_DISCONNECT
                                       : SHOAL_ACT_REMOTE_PEER_CONNECTION_FAILED};
    memcpy(a.feed, gone.feed, 32);
    apply(n, &a);
    if (gone.rpc && n->cb.disconnected)
        n->cb.disconnected(n, gone.feed, err, n->ud);
}

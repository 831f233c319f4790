/* The WebRTC shell of the node: what the negotiation core decides, carried out on shoal/rtc.h's
 * peers and the links over their data channels; what they do, told back to the core (see
 * node_internal.h). */
#include "node_internal.h"

#include "shoal/link_driver.h"

#include <string.h>

#define CHUNK 16384 /* link bytes per data-channel message */

static shoal_node_peer *peer_of(shoal_node *n, uint32_t id)
{
    return g_hash_table_lookup(n->peers, GUINT_TO_POINTER(id));
}

static void peer_unref(shoal_node_peer *p)
{
    if (--p->refs > 0)
        return;
    shoal_link_driver_free(p->driver);
    g_free(p);
}

/* The record is gone: the table lets the peer go, with whatever it holds. */
static void forget(shoal_node_peer *p)
{
    shoal_node *n = p->node;
    if (n->repl && p->driver) {
        shoal_repl_forget(n->repl, shoal_link_rpc(shoal_link_driver_link(p->driver)));
        node_reask_forget(n, shoal_link_rpc(shoal_link_driver_link(p->driver)));
    }
    g_hash_table_remove(n->peers, GUINT_TO_POINTER(p->id));
    peer_unref(p);
}

static void tell(shoal_node *n, shoal_negotiate_ev_type type, uint32_t id)
{
    shoal_negotiate_event ev = {.type = type, .id = id};
    node_negotiate(n, &ev);
}

/* The driver's transport: the link's bytes in data-channel messages of CHUNK at most. */
static long on_send(const uint8_t *data, size_t len, void *ud)
{
    shoal_node_peer *p = ud;
    if (!p->rtc)
        return SHOAL_E_RTC_STATE;
    size_t k = len < CHUNK ? len : CHUNK;
    int rc = shoal_rtc_peer_send(p->rtc, data, k, true);
    return rc == SHOAL_E_RTC_BUFFER_FULL ? 0
           : rc != SHOAL_OK              ? rc
                                         : (long)k; /* `writable` resumes */
}

static void on_established(void *ud)
{
    shoal_node_peer *p = ud;
    shoal_negotiate_event ev = {.type = SHOAL_NEG_EV_LINK_ESTABLISHED, .id = p->id};
    memcpy(ev.feed, shoal_link_remote(shoal_link_driver_link(p->driver)), 32);
    node_negotiate(p->node, &ev);
}

/* The link said goodbye, or failed: the channel closes. */
static void on_link_finished(int status, void *ud)
{
    shoal_node_peer *p = ud;
    if (status != SHOAL_OK)
        node_say(p->node, "the link with peer #%u failed: %s", p->id, shoal_strerror(status));
    if (p->rtc)
        shoal_rtc_peer_close(p->rtc);
}

static const shoal_link_transport transport = {on_send, on_established, on_link_finished};

/* ---- what the WebRTC peer does --------------------------------------------------------------- */

static void on_description(shoal_rtc_peer *r, bool offer, const char *sdp, void *ud)
{
    (void)r;
    shoal_node_peer *p = ud;
    shoal_negotiate_event ev = {.type = SHOAL_NEG_EV_LOCAL_SIGNAL,
                                .id = p->id,
                                .sig = offer ? SHOAL_NEG_SIG_OFFER : SHOAL_NEG_SIG_ANSWER,
                                .text = sdp};
    node_negotiate(p->node, &ev);
}

static void on_candidate(shoal_rtc_peer *r, const char *candidate, void *ud)
{
    (void)r;
    shoal_node_peer *p = ud;
    shoal_negotiate_event ev = {.type = SHOAL_NEG_EV_LOCAL_SIGNAL,
                                .id = p->id,
                                .sig = SHOAL_NEG_SIG_CANDIDATE,
                                .text = candidate};
    node_negotiate(p->node, &ev);
}

static void on_open(shoal_rtc_peer *r, void *ud)
{
    (void)r;
    shoal_node_peer *p = ud;
    tell(p->node, SHOAL_NEG_EV_RTC_OPEN, p->id);
}

static void on_message(shoal_rtc_peer *r, const uint8_t *data, size_t len, bool binary, void *ud)
{
    (void)r, (void)binary;
    shoal_node_peer *p = ud;
    shoal_node *n = p->node;
    if (p->plain) {
        if (n->cb.plain_message)
            n->cb.plain_message(n, p, data, len, n->ud);
        return;
    }
    if (!p->driver)
        return;
    p->refs++; /* what the core does with the handshake may let the peer go */
    shoal_link_driver_input(p->driver, data, len);
    peer_unref(p);
}

static void on_writable(shoal_rtc_peer *r, void *ud)
{
    (void)r;
    shoal_node_peer *p = ud;
    if (p->driver)
        shoal_link_driver_writable(p->driver);
}

static void on_closed(shoal_rtc_peer *r, int err, void *ud)
{
    (void)r;
    shoal_node_peer *p = ud;
    shoal_node *n = p->node;
    p->rtc = NULL;
    uint32_t id = p->id;
    forget(p);
    shoal_negotiate_event ev = {.type = SHOAL_NEG_EV_RTC_CLOSED, .id = id, .err = err};
    node_negotiate(n, &ev);
}

static void on_restarted(shoal_rtc_peer *r, void *ud)
{
    (void)r;
    shoal_node_peer *p = ud;
    tell(p->node, SHOAL_NEG_EV_RTC_RESTARTED, p->id);
}

static const shoal_rtc_callbacks rtc_callbacks = {
    on_description, on_candidate, on_open, on_message, on_writable, on_closed, on_restarted};

/* ---- the core's effects ---------------------------------------------------------------------- */

static void on_posted(size_t hub_index, unsigned status, long recipients, void *ud)
{
    (void)hub_index, (void)recipients;
    posting *x = ud;
    shoal_node *n = x->node;
    shoal_negotiate_event ev = {.type = SHOAL_NEG_EV_POSTED, .id = x->id, .status = status};
    g_hash_table_remove(n->posts, x); /* frees it */
    node_negotiate(n, &ev);
}

static void post_signal(shoal_node *n, const shoal_negotiate_fx *fx)
{
    hub *h = node_hub_by_id(n, fx->hub);
    if (!h) { /* the hub was left: not sent */
        pending later = {.kind = PENDING_NEGOTIATE,
                         .event = {.type = SHOAL_NEG_EV_POSTED, .id = fx->id, .status = 0}};
        g_array_append_val(n->queue, later);
        return;
    }
    /* sealed to the recipient, unless it is a plain webrtc-swarm peer */
    const shoal_negotiate_record *rec = shoal_negotiate_get(n->negotiate, fx->id);
    shoal_buf sealed = SHOAL_BUF_INIT;
    const char *text = fx->text;
    size_t len = strlen(text);
    if (!(rec && rec->plain)) {
        if (shoal_swarm_seal(&n->keys, fx->channel, g_get_real_time() / 1000, text, len, &sealed) !=
            SHOAL_OK) {
            shoal_buf_free(&sealed);
            pending later = {.kind = PENDING_NEGOTIATE,
                             .event = {.type = SHOAL_NEG_EV_POSTED, .id = fx->id, .status = 0}};
            g_array_append_val(n->queue, later);
            return;
        }
        text = sealed.data;
        len = sealed.len;
    }
    posting *x = g_new(posting, 1);
    *x = (posting){n, fx->id};
    g_hash_table_add(n->posts, x);
    shoal_hub_client_broadcast(n->client, h->index, fx->channel, text, len, on_posted, x);
    shoal_buf_free(&sealed);
}

static void create_rtc(shoal_node *n, const shoal_negotiate_fx *fx)
{
    const shoal_negotiate_record *rec = shoal_negotiate_get(n->negotiate, fx->id);
    shoal_node_peer *p = g_new0(shoal_node_peer, 1);
    p->refs = 1;
    p->node = n;
    p->id = fx->id;
    p->initiator = fx->initiator;
    p->plain = rec && rec->plain;
    if (rec)
        memcpy(p->feed, rec->feed, 32);
    shoal_ice_servers ice;
    p->rtc = shoal_rtc_peer_new(n->rtc, fx->initiator, "shoal",
                                node_ice_for(n, rec ? rec->hub : fx->hub, &ice), &rtc_callbacks, p);
    if (!p->rtc) {
        g_free(p);
        node_say(n, "no WebRTC negotiation could start (no usable interface?)");
        pending later = {
            .kind = PENDING_NEGOTIATE,
            .event = {.type = SHOAL_NEG_EV_RTC_CLOSED, .id = fx->id, .err = SHOAL_E_RTC_INIT}};
        g_array_append_val(n->queue, later);
        return;
    }
    if (p->plain) /* a webrtc-swarm peer may answer our offer with a channel of its own */
        shoal_rtc_peer_follow_their_channel(p->rtc);
    g_hash_table_insert(n->peers, GUINT_TO_POINTER(p->id), p);
}

/* What the stack cannot take (a description, a candidate, a restart), the core hears of. */
static void refused(shoal_node *n, shoal_node_peer *p, const shoal_negotiate_fx *fx)
{
    pending later = {.kind = PENDING_NEGOTIATE,
                     .event = {.type = SHOAL_NEG_EV_REFUSED,
                               .id = p->id,
                               .sig = fx->type == SHOAL_NEG_FX_ADD_CANDIDATE
                                          ? SHOAL_NEG_SIG_CANDIDATE
                                      : fx->offer || fx->type == SHOAL_NEG_FX_RESTART_RTC
                                          ? SHOAL_NEG_SIG_OFFER
                                          : SHOAL_NEG_SIG_ANSWER}};
    g_array_append_val(n->queue, later);
}

/* The servers a restart's agent takes are the hub's as they are now (its TURN credentials
 * expire): set before our restart, and before a description that may be theirs. */
static void fresh_ice(shoal_node *n, shoal_node_peer *p, const shoal_negotiate_fx *fx)
{
    shoal_ice_servers ice;
    shoal_rtc_peer_set_ice(p->rtc, node_ice_for(n, fx->hub, &ice));
}

/* The other side's description or candidate. */
static void take_remote(shoal_node *n, shoal_node_peer *p, const shoal_negotiate_fx *fx)
{
    if (fx->type == SHOAL_NEG_FX_SET_REMOTE && fx->offer)
        fresh_ice(n, p, fx);
    int rc = fx->type == SHOAL_NEG_FX_SET_REMOTE
                 ? shoal_rtc_peer_set_remote(p->rtc, fx->offer, fx->text, strlen(fx->text))
                 : shoal_rtc_peer_add_candidate(p->rtc, fx->text);
    if (rc != SHOAL_OK)
        refused(n, p, fx);
}

/* Our ICE restart; one that cannot start is told as refused (our restart is then over). */
static void restart_rtc(shoal_node *n, shoal_node_peer *p, const shoal_negotiate_fx *fx)
{
    fresh_ice(n, p, fx);
    int rc = shoal_rtc_peer_restart(p->rtc);
    if (rc == SHOAL_OK)
        return;
    node_say(n, "no ICE restart with peer #%u: %s", p->id, shoal_strerror(rc));
    refused(n, p, fx);
}

static void start_link(shoal_node *n, shoal_node_peer *p, const shoal_negotiate_fx *fx)
{
    shoal_link_config lc = {.keycache = &n->keycache};
    shoal_link *link = shoal_link_new(&n->keys, fx->initiator ? fx->feed : NULL, &lc);
    if (!link || shoal_basics_register(shoal_link_rpc(link), &n->basics) != SHOAL_OK) {
        shoal_link_free(link);
        shoal_rtc_peer_close(p->rtc);
        return;
    }
    p->driver = shoal_link_driver_new(link, &transport, &n->limits, p);
    shoal_link_driver_writable(p->driver); /* the client's first handshake message */
}

static void close_rtc(shoal_node_peer *p, shoal_negotiate_close how)
{
    switch (how) {
    case SHOAL_NEG_CLOSE_GOODBYE:
        if (p->driver) { /* the channel closes once the goodbyes are said */
            shoal_link_driver_close(p->driver);
            return;
        }
        shoal_rtc_peer_close(p->rtc);
        return;
    case SHOAL_NEG_CLOSE_NOW:
        shoal_rtc_peer_close(p->rtc);
        return;
    case SHOAL_NEG_CLOSE_ABANDON:
        shoal_rtc_peer_abandon(p->rtc);
        p->rtc = NULL;
        forget(p);
        return;
    }
}

static void connected(shoal_node *n, shoal_node_peer *p, const shoal_negotiate_fx *fx)
{
    n->stats.connections++;
    if (fx->plain) {
        if (n->cb.plain_open)
            n->cb.plain_open(n, p, n->ud);
        return;
    }
    shoal_rpc *rpc = shoal_link_rpc(shoal_link_driver_link(p->driver));
    if (n->repl && shoal_node_replicate(n, rpc, p->feed, p->initiator) != SHOAL_OK)
        node_say(n, "replication with peer #%u could not start", p->id);
    if (n->cb.connected)
        n->cb.connected(n, p, n->ud);
}

void channels_carry_out(shoal_node *n, const shoal_negotiate_fx *fx, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        shoal_node_peer *p = peer_of(n, fx[i].id); /* NULL for an id without a WebRTC peer */
        switch (fx[i].type) {
        case SHOAL_NEG_FX_CREATE_RTC:
            create_rtc(n, &fx[i]);
            break;
        case SHOAL_NEG_FX_SET_REMOTE:
        case SHOAL_NEG_FX_ADD_CANDIDATE:
            if (p && p->rtc)
                take_remote(n, p, &fx[i]);
            break;
        case SHOAL_NEG_FX_POST_SIGNAL:
            post_signal(n, &fx[i]);
            break;
        case SHOAL_NEG_FX_START_LINK:
            if (p && p->rtc)
                start_link(n, p, &fx[i]);
            break;
        case SHOAL_NEG_FX_CLOSE_RTC:
            if (p && p->rtc)
                close_rtc(p, fx[i].close);
            break;
        case SHOAL_NEG_FX_RESTART_RTC:
            if (p && p->rtc)
                restart_rtc(n, p, &fx[i]);
            break;
        case SHOAL_NEG_FX_ADMIT:
            node_admit(n, fx[i].id, &fx[i].report);
            break;
        case SHOAL_NEG_FX_REPORT: {
            pending later = {.kind = PENDING_CONN, .action = fx[i].report};
            g_array_append_val(n->queue, later);
            break;
        }
        case SHOAL_NEG_FX_CONNECTED:
            if (p)
                connected(n, p, &fx[i]);
            break;
        case SHOAL_NEG_FX_DISCONNECTED:
            if (n->cb.disconnected)
                n->cb.disconnected(n, fx[i].feed, fx[i].err, n->ud);
            break;
        case SHOAL_NEG_FX_STOPPED:
            if (n->stopped) {
                void (*done)(void *) = n->stopped;
                n->stopped = NULL;
                done(n->stopped_ud);
            }
            break;
        case SHOAL_NEG_FX_SCHEDULE_TICK:
            node_schedule_negotiate_tick(n, fx[i].at);
            break;
        case SHOAL_NEG_FX_LOG:
            node_say(n, "%s", fx[i].line);
            break;
        }
    }
}

void channels_abandon_all(shoal_node *n)
{
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, n->peers);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        shoal_node_peer *p = value;
        if (p->rtc)
            shoal_rtc_peer_abandon(p->rtc);
        p->refs = 1;
        peer_unref(p);
        g_hash_table_iter_remove(&it);
    }
}

/* ---- the peer, to the node's users ----------------------------------------------------------- */

const uint8_t *shoal_node_peer_feed(const shoal_node_peer *p)
{
    return p->feed;
}

shoal_rpc *shoal_node_peer_rpc(shoal_node_peer *p)
{
    return p->driver ? shoal_link_rpc(shoal_link_driver_link(p->driver)) : NULL;
}

int shoal_node_peer_send_plain(shoal_node_peer *p, const uint8_t *data, size_t len, bool binary)
{
    if (!p->plain || !p->rtc)
        return SHOAL_E_RTC_STATE;
    return shoal_rtc_peer_send(p->rtc, data, len, binary);
}

bool shoal_node_peer_path(shoal_node *n, const uint8_t feed[32], shoal_rtc_path *out)
{
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, n->peers);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        shoal_node_peer *p = value;
        const shoal_negotiate_record *rec = shoal_negotiate_get(n->negotiate, p->id);
        if (p->rtc && memcmp(p->feed, feed, 32) == 0 && rec &&
            rec->phase == SHOAL_NEG_ESTABLISHED && shoal_rtc_peer_path(p->rtc, out))
            return true;
    }
    return false;
}

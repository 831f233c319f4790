/* The broadcasts a hub shares with the other hubs of its group, through Redis pub/sub (hiredis,
 * asynchronous, on the hub's main loop).
 *
 * Two connections to Redis: one publishes what this hub's clients POST, framed as shoal/hub.h
 * says, on one Redis channel; the other is subscribed to that channel and hands what the other
 * hubs published to this hub's subscribers (our own frames, which Redis hands back too, are
 * skipped by their origin). While Redis is away the hub serves its own clients alone and tries
 * again, waiting longer each time (250 ms doubling to 10 s); what is posted meanwhile reaches
 * only its own subscribers, as signalling is best-effort. A publisher that Redis does not keep up
 * with is not buffered without bound: past MAX_BACKLOG unsent bytes frames are dropped (and
 * counted). */
#include "hub_server_internal.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_FIRST_MS 250
#define RETRY_MAX_MS   10000
#define MAX_BACKLOG    (8u << 20) /* unsent bytes to Redis before frames are dropped */

/* hiredis's events on a GSource of its socket. (hiredis ships a GLib adapter, but its dispatch
 * reads from a context that the write half may have just freed; this one checks.) */
typedef struct redis_source {
    GSource base;
    redisAsyncContext *ac; /* NULL once hiredis let it go */
    gpointer tag;
    GIOCondition want;
} redis_source;

typedef struct redis_side {
    redisAsyncContext *ac;
    bool up;
} redis_side;

struct hub_relay {
    shoal_hub_server *srv;
    char *host, *path; /* TCP host and port, or a Unix socket's path */
    int port;
    char *channel;
    uint8_t origin[SHOAL_HUB_RELAY_ORIGIN];
    redis_side pub, sub;
    guint retry_id, lost_id;
    uint32_t retry_ms;
    struct {
        uint64_t out, in, dropped, malformed, reconnects;
    } stats;
};

static gboolean source_dispatch(GSource *src, GSourceFunc cb, gpointer ud)
{
    (void)cb, (void)ud;
    redis_source *s = (redis_source *)src;
    GIOCondition got = g_source_query_unix_fd(src, s->tag);
    if (s->ac && (got & (G_IO_OUT | G_IO_ERR | G_IO_HUP)) && (s->want & G_IO_OUT))
        redisAsyncHandleWrite(s->ac);
    if (s->ac && (got & (G_IO_IN | G_IO_ERR | G_IO_HUP)))
        redisAsyncHandleRead(s->ac);
    return G_SOURCE_CONTINUE;
}

static void source_want(redis_source *s, GIOCondition cond, bool on)
{
    s->want = on ? s->want | cond : s->want & ~cond;
    if (s->ac)
        g_source_modify_unix_fd(&s->base, s->tag, s->want);
}

static void add_read(void *d)
{
    source_want(d, G_IO_IN, true);
}

static void del_read(void *d)
{
    source_want(d, G_IO_IN, false);
}

static void add_write(void *d)
{
    source_want(d, G_IO_OUT, true);
}

static void del_write(void *d)
{
    source_want(d, G_IO_OUT, false);
}

/* hiredis is done with the context (freed, or about to be): the source goes with it. */
static void cleanup(void *d)
{
    redis_source *s = d;
    s->ac = NULL;
    g_source_destroy(&s->base);
}

static void attach(redisAsyncContext *ac)
{
    static GSourceFuncs funcs = {.dispatch = source_dispatch};
    redis_source *s = (redis_source *)g_source_new(&funcs, sizeof *s);
    s->ac = ac;
    s->tag = g_source_add_unix_fd(&s->base, ac->c.fd, 0);
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    ac->ev.data = s;
    g_source_attach(&s->base, NULL);
    g_source_unref(&s->base); /* the main context holds it until cleanup destroys it */
}

static void connect_both(hub_relay *r);

static gboolean retry(gpointer ud)
{
    hub_relay *r = ud;
    r->retry_id = 0;
    r->stats.reconnects++;
    connect_both(r);
    return G_SOURCE_REMOVE;
}

/* Frees both connections (their callbacks, told nothing, return at once). */
static void release(hub_relay *r)
{
    redis_side *sides[2] = {&r->pub, &r->sub};
    for (int i = 0; i < 2; i++)
        if (sides[i]->ac) {
            redisAsyncContext *ac = sides[i]->ac;
            sides[i]->ac = NULL;
            ac->data = NULL;
            redisAsyncFree(ac);
        }
}

/* Lets both sides go and schedules the next try. From the main loop, never from inside one of
 * hiredis's callbacks (a context may not be freed there). */
static gboolean let_go(gpointer ud)
{
    hub_relay *r = ud;
    r->lost_id = 0;
    release(r);
    r->retry_id = g_timeout_add(r->retry_ms, retry, r);
    r->retry_ms = r->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : r->retry_ms * 2;
    return G_SOURCE_REMOVE;
}

/* One side is gone (or never came): the other is let go too, and both are tried again later. */
static void lost(hub_relay *r, const char *why)
{
    if (r->lost_id || r->retry_id)
        return;
    shoal_log(SHOAL_LOG_WARN, "hub",
              "relay: Redis %s: %s; serving alone until it is back (next try in %u ms)",
              r->path ? r->path : r->host, why ? why : "disconnected", r->retry_ms);
    r->pub.up = r->sub.up = false;
    r->lost_id = g_idle_add(let_go, r);
}

static redis_side *side_of(hub_relay *r, const redisAsyncContext *ac)
{
    return r->pub.ac == ac ? &r->pub : r->sub.ac == ac ? &r->sub : NULL;
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    (void)status;
    hub_relay *r = ac->data;
    redis_side *side = r ? side_of(r, ac) : NULL;
    if (!side)
        return;      /* let go on purpose */
    side->ac = NULL; /* hiredis frees it */
    side->up = false;
    lost(r, ac->errstr[0] ? ac->errstr : NULL);
}

/* A frame from the bus: another hub's broadcast, for our subscribers of its channel. */
static void on_message(redisAsyncContext *ac, void *reply_, void *ud)
{
    (void)ac;
    hub_relay *r = ud;
    const redisReply *reply = reply_;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        strcmp(reply->element[0]->str, "message") != 0 ||
        reply->element[2]->type != REDIS_REPLY_STRING)
        return; /* the answer to SUBSCRIBE, or nothing (the connection is going) */
    shoal_hub_relayed m;
    if (shoal_hub_relay_decode(reply->element[2]->str, reply->element[2]->len, &m) != SHOAL_OK) {
        r->stats.malformed++;
        return;
    }
    if (memcmp(m.origin, r->origin, sizeof r->origin) == 0)
        return; /* ours, back from the bus: our subscribers have it */
    r->stats.in++;
    shoal_hub_route route = {.kind = SHOAL_HUB_BROADCAST, .app = m.app, .nchannels = 1};
    route.channels[0] = m.channel;
    (void)shoal__hub_deliver(r->srv, &route, m.body, m.len);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    hub_relay *r = ac->data;
    redis_side *side = r ? side_of(r, ac) : NULL;
    if (!side)
        return;
    if (status != REDIS_OK) {
        side->ac = NULL; /* hiredis frees it after this call */
        lost(r, ac->errstr);
        return;
    }
    side->up = true;
    if (side == &r->sub &&
        redisAsyncCommand(side->ac, on_message, r, "SUBSCRIBE %s", r->channel) != REDIS_OK) {
        lost(r, "cannot subscribe");
        return;
    }
    if (r->pub.up && r->sub.up) {
        shoal_log(SHOAL_LOG_INFO, "hub", "relay: sharing broadcasts through Redis %s, channel %s",
                  r->path ? r->path : r->host, r->channel);
        r->retry_ms = RETRY_FIRST_MS;
    }
}

static bool connect_side(hub_relay *r, redis_side *side)
{
    redisAsyncContext *ac =
        r->path ? redisAsyncConnectUnix(r->path) : redisAsyncConnect(r->host, r->port);
    if (!ac)
        return false;
    if (ac->err) {
        redisAsyncFree(ac);
        return false;
    }
    ac->data = r;
    side->ac = ac;
    attach(ac);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    return true;
}

static void connect_both(hub_relay *r)
{
    if (!connect_side(r, &r->pub) || !connect_side(r, &r->sub))
        lost(r, "cannot connect");
}

int shoal__hub_relay_start(shoal_hub_server *srv, const char *address, const char *channel,
                           hub_relay **out, char **why)
{
    hub_relay *r = g_new0(hub_relay, 1);
    if (g_str_has_prefix(address, "unix:") && address[5]) {
        r->path = g_strdup(address + 5);
    } else {
        const char *colon = strrchr(address, ':');
        char *end = NULL;
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        if (!colon || colon == address || !end || *end || colon[1] < '0' || colon[1] > '9' ||
            port < 1 || port > 65535) {
            if (why)
                *why = g_strdup_printf("'%s' is not a Redis address (HOST:PORT or unix:PATH)",
                                       address);
            g_free(r);
            return SHOAL_E_INVAL;
        }
        bool bracketed = address[0] == '[' && colon[-1] == ']';
        r->host = bracketed ? g_strndup(address + 1, (size_t)(colon - address - 2))
                            : g_strndup(address, (size_t)(colon - address));
        r->port = (int)port;
    }
    r->srv = srv;
    r->channel = g_strdup(channel);
    r->retry_ms = RETRY_FIRST_MS;
    randombytes_buf(r->origin, sizeof r->origin);
    connect_both(r);
    *out = r;
    return SHOAL_OK;
}

void shoal__hub_relay_publish(hub_relay *r, const shoal_hub_route *route, const void *body,
                              size_t len)
{
    if (!r || !r->pub.up) {
        if (r)
            r->stats.dropped++;
        return;
    }
    if (sdslen(r->pub.ac->c.obuf) > MAX_BACKLOG) {
        r->stats.dropped++;
        return;
    }
    shoal_buf frame = SHOAL_BUF_INIT;
    shoal_hub_relay_encode(r->origin, &route->app, &route->channels[0], body, len, &frame);
    if (shoal_buf_status(&frame) == SHOAL_OK &&
        redisAsyncCommand(r->pub.ac, NULL, NULL, "PUBLISH %s %b", r->channel, frame.data,
                          frame.len) == REDIS_OK)
        r->stats.out++;
    else
        r->stats.dropped++;
    shoal_buf_free(&frame);
}

void shoal__hub_relay_metrics(const hub_relay *r, GString *m)
{
    if (!r)
        return;
    g_string_append_printf(
        m,
        "# HELP shoal_hub_relay_up 1 while broadcasts are shared through Redis.\n"
        "# TYPE shoal_hub_relay_up gauge\nshoal_hub_relay_up %d\n"
        "# HELP shoal_hub_relay_out_total Broadcasts published to the other hubs.\n"
        "# TYPE shoal_hub_relay_out_total counter\nshoal_hub_relay_out_total %" G_GUINT64_FORMAT
        "\n# HELP shoal_hub_relay_in_total Broadcasts of other hubs handed to our subscribers.\n"
        "# TYPE shoal_hub_relay_in_total counter\nshoal_hub_relay_in_total %" G_GUINT64_FORMAT
        "\n# HELP shoal_hub_relay_dropped_total Broadcasts not shared: Redis away or behind.\n"
        "# TYPE shoal_hub_relay_dropped_total counter\nshoal_hub_relay_dropped_total "
        "%" G_GUINT64_FORMAT "\n# HELP shoal_hub_relay_malformed_total Frames from the bus that "
        "were not shoal's.\n# TYPE shoal_hub_relay_malformed_total counter\n"
        "shoal_hub_relay_malformed_total %" G_GUINT64_FORMAT "\n"
        "# HELP shoal_hub_relay_reconnects_total Attempts to reach Redis again.\n"
        "# TYPE shoal_hub_relay_reconnects_total counter\nshoal_hub_relay_reconnects_total "
        "%" G_GUINT64_FORMAT "\n",
        r->pub.up && r->sub.up, r->stats.out, r->stats.in, r->stats.dropped, r->stats.malformed,
        r->stats.reconnects);
}

void shoal__hub_relay_free(hub_relay *r)
{
    if (!r)
        return;
    if (r->retry_id)
        g_source_remove(r->retry_id);
    if (r->lost_id)
        g_source_remove(r->lost_id);
    release(r);
    g_free(r->host);
    g_free(r->path);
    g_free(r->channel);
    g_free(r);
}

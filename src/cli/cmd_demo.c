/* `shoal demo`: an embedded hub on 127.0.0.1 and a few peers with fresh identities. Each peer
 * runs the peer state manager and the hub client: the hub is dialled, the peers announce
 * (webrtc-swarm's message, with the SSB feed id), hear each other, dial each other, and prove
 * the signalling path with a hello sent to the dialled peer's channel and answered. The story is
 * printed as it happens. WebRTC, the secret handshake and replication are not there yet: the
 * demo ends when every pair of peers has found each other through the hub. */
#include "cli.h"

#include "shoal/conn.h"
#include "shoal/hub_client.h"
#include "shoal/hub_server.h"

#include <glib.h>
#include <jansson.h>
#include <sodium.h>
#include <string.h>

#define MAX_PEERS 8

static const char *const names[MAX_PEERS] = {"alice", "bob",   "carol", "dave",
                                             "erin",  "frank", "grace", "heidi"};

typedef struct peer {
    int index;
    uint8_t feed[32];
    char id[SHOAL_REF_STRSIZE];
    char channel[48]; /* URL-safe base64 of the key */
    shoal_conn *conn;
    shoal_hub_client *client;
    guint tick_id;
} peer;

static struct {
    peer peers[MAX_PEERS];
    int n;
    gint64 start;
    bool found[MAX_PEERS][MAX_PEERS]; /* a hello from i to j was answered */
    bool heard[MAX_PEERS][MAX_PEERS]; /* i has heard j announce */
    int pairs_found;
    GMainLoop *loop;
    bool failed;
} demo;

static double elapsed(void)
{
    return (double)(g_get_monotonic_time() - demo.start) / 1e6;
}

static void say(const char *fmt, ...) SHOAL_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("[%6.3f s] ", elapsed());
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
}

static peer *peer_by_feed(const uint8_t feed[32])
{
    for (int i = 0; i < demo.n; i++)
        if (memcmp(demo.peers[i].feed, feed, 32) == 0)
            return &demo.peers[i];
    return NULL;
}

static peer *peer_by_channel(const char *channel)
{
    for (int i = 0; i < demo.n; i++)
        if (strcmp(demo.peers[i].channel, channel) == 0)
            return &demo.peers[i];
    return NULL;
}

static void apply(peer *p, shoal_conn_action a);

static gboolean on_tick(gpointer data)
{
    peer *p = data;
    p->tick_id = 0;
    shoal_conn_action a = {.type = SHOAL_ACT_PEER_CONNECTION_TIMER_TICKED};
    apply(p, a);
    return G_SOURCE_REMOVE;
}

static void send_json(peer *p, const char *channel, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    if (text)
        shoal_hub_client_broadcast(p->client, 0, channel, text, strlen(text), NULL, NULL);
    free(text);
    json_decref(msg);
}

static void effects(peer *p, const shoal_conn_fx *fx, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (fx[i].type) {
        case SHOAL_FX_CONNECT_TO_HUB:
            shoal_hub_client_connect(p->client, 0);
            break;
        case SHOAL_FX_DISCONNECT_HUB:
            shoal_hub_client_disconnect(p->client, 0);
            break;
        case SHOAL_FX_ANNOUNCE_TO_HUB:
            send_json(
                p, "all",
                json_pack("{s:s, s:s, s:s}", "type", "connect", "from", p->channel, "feed", p->id));
            break;
        case SHOAL_FX_DIAL_PEER: {
            peer *q = peer_by_feed(fx[i].feed);
            if (!q)
                break;
            say("%s dials %s through the hub", names[p->index], names[q->index]);
            send_json(p, q->channel,
                      json_pack("{s:s, s:{s:s}}", "from", p->channel, "signal", "type", "hello"));
            break;
        }
        case SHOAL_FX_CLOSE_PEER: {
            peer *q = peer_by_feed(fx[i].feed);
            if (q)
                say("%s closes %s (%s)", names[p->index], names[q->index],
                    shoal_close_reason_name(fx[i].reason));
            break;
        }
        case SHOAL_FX_SCHEDULE_TICK: {
            g_clear_handle_id(&p->tick_id, g_source_remove);
            shoal_time now = g_get_monotonic_time() / 1000;
            shoal_time wait = fx[i].at > now ? fx[i].at - now : 0;
            p->tick_id = g_timeout_add((guint)(wait < 60000 ? wait : 60000), on_tick, p);
            break;
        }
        case SHOAL_FX_HUB_CHANGED:
        case SHOAL_FX_PEER_CHANGED:
        case SHOAL_FX_HUB_REMOVED:
        case SHOAL_FX_PEER_FORGOTTEN:
            break;
        }
    }
}

static void apply(peer *p, shoal_conn_action a)
{
    const shoal_conn_fx *fx;
    size_t n;
    int rc = shoal_conn_reduce(p->conn, &a, g_get_monotonic_time() / 1000, &fx, &n);
    if (rc != SHOAL_OK) {
        say("%s: %s", names[p->index], shoal_strerror(rc));
        return;
    }
    effects(p, fx, n);
}

static void on_hub_state(size_t hub, shoal_hub_stream_state st, void *ud)
{
    peer *p = ud;
    say("%s: the stream from the hub is %s", names[p->index],
        st == SHOAL_HUB_STREAM_CONNECTED ? "open"
        : st == SHOAL_HUB_STREAM_FAILED  ? "failing"
                                         : "gone");
    shoal_conn_action a = {.hub = (uint32_t)hub};
    a.type = st == SHOAL_HUB_STREAM_CONNECTED ? SHOAL_ACT_HUB_CONNECTION_SUCCEEDED
             : st == SHOAL_HUB_STREAM_FAILED  ? SHOAL_ACT_HUB_CONNECTION_FAILED
                                              : SHOAL_ACT_HUB_DID_DISCONNECT;
    apply(p, a);
}

static void finish_if_done(void)
{
    if (demo.pairs_found == demo.n * (demo.n - 1) / 2)
        g_main_loop_quit(demo.loop);
}

static void on_message(size_t hub, const char *data, size_t len, void *ud)
{
    peer *p = ud;
    json_t *msg = json_loadb(data, len, 0, NULL);
    const char *type = json_string_value(json_object_get(msg, "type"));
    const char *from = json_string_value(json_object_get(msg, "from"));
    peer *q = from ? peer_by_channel(from) : NULL;
    if (q && q != p && type && strcmp(type, "connect") == 0) {
        shoal_ref ref;
        const char *feed = json_string_value(json_object_get(msg, "feed"));
        if (feed && shoal_ref_parse(&ref, feed, strlen(feed), NULL) == SHOAL_OK &&
            ref.kind == SHOAL_REF_FEED) {
            if (!demo.heard[p->index][q->index]) {
                demo.heard[p->index][q->index] = true;
                say("%s hears %s announce %s", names[p->index], names[q->index], feed);
            }
            shoal_conn_action a = {.type = SHOAL_ACT_REMOTE_PEER_DID_ANNOUNCE,
                                   .hub = (uint32_t)hub};
            memcpy(a.feed, ref.key, 32);
            apply(p, a);
        }
    }
    const char *signal = json_string_value(json_object_get(json_object_get(msg, "signal"), "type"));
    if (q && signal && strcmp(signal, "hello") == 0) {
        say("%s hears a hello from %s on its own channel, and answers", names[p->index],
            names[q->index]);
        send_json(p, q->channel,
                  json_pack("{s:s, s:{s:s}}", "from", p->channel, "signal", "type", "hello-back"));
    } else if (q && signal && strcmp(signal, "hello-back") == 0) {
        int a = p->index < q->index ? p->index : q->index, b = p->index ^ q->index ^ a;
        say("%s and %s have found each other through the hub", names[p->index], names[q->index]);
        if (!demo.found[a][b]) {
            demo.found[a][b] = true;
            demo.pairs_found++;
            finish_if_done();
        }
    }
    json_decref(msg);
}

static gboolean on_timeout(gpointer data)
{
    (void)data;
    demo.failed = true;
    g_main_loop_quit(demo.loop);
    return G_SOURCE_REMOVE;
}

static const char help[] =
    "usage: shoal demo [--peers N]\n"
    "\n"
    "Starts a signal hub on 127.0.0.1 and N peers (2-8, default 3) with fresh identities. Each\n"
    "runs the peer state manager and the hub client: they subscribe, announce, hear and dial\n"
    "each other, and prove the signalling path with a hello through the hub. The story is told\n"
    "as it happens; the demo ends with a summary once every pair has found each other.\n"
    "(WebRTC data channels, the secret handshake and replication are still to come.)\n"
    "\n"
    "exit status: 0 every pair found each other, 1 not within 30 s, 2 usage error, 3 failure\n";

int shoal_cmd_demo(int argc, char **argv)
{
    demo.n = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(help, stdout);
            return SHOAL_EXIT_OK;
        }
        if (strcmp(argv[i], "--peers") == 0 && i + 1 < argc) {
            demo.n = atoi(argv[++i]);
            if (demo.n >= 2 && demo.n <= MAX_PEERS)
                continue;
        }
        fprintf(stderr, "shoal demo: bad option '%s'\n%s", argv[i], help);
        return SHOAL_EXIT_USAGE;
    }
    if (sodium_init() < 0)
        return SHOAL_EXIT_FAILURE;
    demo.start = g_get_monotonic_time();
    demo.loop = g_main_loop_new(NULL, FALSE);

    shoal_hub_server_config hcfg;
    shoal_hub_server_config_default(&hcfg);
    hcfg.port = 0;
    shoal_hub_server *hub = NULL;
    char *why = NULL;
    if (shoal_hub_server_start(&hub, &hcfg, &why) != SHOAL_OK) {
        fprintf(stderr, "shoal demo: cannot start the hub: %s\n", why ? why : "");
        g_free(why);
        return SHOAL_EXIT_FAILURE;
    }
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", shoal_hub_server_port(hub));
    say("a signal hub listens on %s", url);
    shoal_hub_addr addr;
    if (shoal_hub_addr_parse(&addr, url, strlen(url), NULL) != SHOAL_OK)
        return SHOAL_EXIT_FAILURE;

    shoal_conn_config ccfg;
    shoal_conn_config_default(&ccfg);
    shoal_hub_client_config kcfg;
    shoal_hub_client_config_default(&kcfg);
    kcfg.app = "shoal-demo";
    kcfg.auto_reconnect = false; /* the state manager decides when to come back */
    for (int i = 0; i < demo.n; i++) {
        peer *p = &demo.peers[i];
        p->index = i;
        uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
        crypto_sign_keypair(pk, sk);
        sodium_memzero(sk, sizeof sk);
        memcpy(p->feed, pk, 32);
        shoal_ref ref = {.kind = SHOAL_REF_FEED};
        memcpy(ref.key, pk, 32);
        shoal_ref_format(&ref, p->id);
        sodium_bin2base64(p->channel, sizeof p->channel, pk, 32,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        shoal_hub_client_callbacks cb = {on_hub_state, on_message, p};
        if (shoal_conn_new(&p->conn, &ccfg, p->feed, randombytes_random()) != SHOAL_OK ||
            shoal_hub_client_new(&p->client, &kcfg, &cb) != SHOAL_OK)
            return SHOAL_EXIT_FAILURE;
        shoal_hub_client_add_hub(p->client, &addr);
        const char *channels[] = {"all", p->channel};
        if (shoal_hub_client_subscribe(p->client, channels, 2) != SHOAL_OK)
            return SHOAL_EXIT_FAILURE;
        say("%s is %s", names[i], p->id);
    }
    for (int i = 0; i < demo.n; i++) {
        shoal_conn_action a = {.type = SHOAL_ACT_HUB_ADDRESS_ADDED, .addr = &addr};
        apply(&demo.peers[i], a);
    }
    guint timeout = g_timeout_add_seconds(30, on_timeout, NULL);
    g_main_loop_run(demo.loop);
    g_source_remove(timeout);

    printf("\nsummary after %.2f s:\n", elapsed());
    for (int i = 0; i < demo.n; i++)
        for (int j = i + 1; j < demo.n; j++)
            printf("  %-5s and %-5s %s\n", names[i], names[j],
                   demo.found[i][j] ? "found each other through the hub" : "did not meet");
    for (int i = 0; i < demo.n; i++) {
        const shoal_conn_stats *st = shoal_conn_get_stats(demo.peers[i].conn);
        printf("  %-5s knows %zu peers, dialled %llu times\n", names[i],
               shoal_conn_peer_count(demo.peers[i].conn), (unsigned long long)st->dials);
    }
    printf("  (WebRTC data channels, the secret handshake and replication land with later "
           "issues)\n");
    for (int i = 0; i < demo.n; i++) {
        g_clear_handle_id(&demo.peers[i].tick_id, g_source_remove);
        shoal_hub_client_free(demo.peers[i].client);
        shoal_conn_free(demo.peers[i].conn);
    }
    shoal_hub_server_free(hub);
    g_main_loop_unref(demo.loop);
    return demo.failed ? SHOAL_EXIT_INVALID : SHOAL_EXIT_OK;
}

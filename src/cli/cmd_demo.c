/* `shoal demo`: an embedded hub on 127.0.0.1 and a few peers with fresh identities. Each peer is
 * a whole shoal node: the peer state manager joins the hub and announces, the peers hear and dial
 * each other, open WebRTC data channels, run the secret handshake over them and ask each other
 * `whoami`. The story is printed as it happens; the demo ends when every pair is connected and
 * has answered. Replication arrives with a later issue. */
#include "cli.h"

#include "shoal/hub_server.h"
#include "shoal/identity.h"
#include "shoal/node.h"

#include <glib.h>
#include <jansson.h>
#include <string.h>

#define MAX_PEERS 8

static const char *const names[MAX_PEERS] = {"alice", "bob",   "carol", "dave",
                                             "erin",  "frank", "grace", "heidi"};

#define MESSAGES 5 /* each peer publishes these, and replicates everyone else's */

typedef struct peer {
    int index;
    shoal_keypair keys;
    char id[SHOAL_REF_STRSIZE];
    shoal_node *node;
    shoal_feed_store *store;  /* in memory: the demo leaves nothing behind */
    int64_t holds[MAX_PEERS]; /* the head held of each peer's feed */
} peer;

static struct {
    peer peers[MAX_PEERS];
    int n;
    gint64 start;
    double met_at[MAX_PEERS][MAX_PEERS]; /* when i heard j's whoami; 0 not yet */
    int answers, stopped;
    int complete; /* (peer, other peer) pairs with the other's whole feed held */
    double synced_at;
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

static int index_of(const char *id)
{
    for (int i = 0; i < demo.n; i++)
        if (strcmp(demo.peers[i].id, id) == 0)
            return i;
    return -1;
}

static int index_of_key(const uint8_t feed[32])
{
    for (int i = 0; i < demo.n; i++)
        if (memcmp(demo.peers[i].keys.pub, feed, 32) == 0)
            return i;
    return -1;
}

static void on_log(shoal_node *node, const char *line, void *ud)
{
    (void)node;
    say("%-5s %s", names[((peer *)ud)->index], line);
}

static void on_whoami(shoal_rpc *rpc, int32_t id, shoal_rpc_event ev, const shoal_rpc_body *body,
                      void *ud)
{
    (void)rpc, (void)id;
    peer *p = ud;
    if (ev != SHOAL_RPC_DATA)
        return;
    json_t *j = json_loadb((const char *)body->data, body->len, 0, NULL);
    const char *who = json_string_value(json_object_get(j, "id"));
    int q = who ? index_of(who) : -1;
    if (q >= 0 && demo.met_at[p->index][q] == 0) {
        demo.met_at[p->index][q] = elapsed();
        say("%-5s asked whoami over the channel: %s answers, proven by the handshake",
            names[p->index], names[q]);
        if (++demo.answers == demo.n * (demo.n - 1) && demo.complete == demo.n * (demo.n - 1))
            g_main_loop_quit(demo.loop);
    }
    json_decref(j);
}

static void on_connected(shoal_node *node, shoal_node_peer *np, void *ud)
{
    (void)node;
    peer *p = ud;
    int q = index_of_key(shoal_node_peer_feed(np));
    say("%-5s is connected to %s: WebRTC data channel, secret handshake, box stream, muxrpc",
        names[p->index], q >= 0 ? names[q] : "a stranger");
    json_t *args = json_array();
    int32_t id;
    if (shoal_rpc_call(shoal_node_peer_rpc(np), SHOAL_RPC_ASYNC, "whoami", args, on_whoami, p,
                       &id) != SHOAL_OK)
        say("%-5s cannot ask whoami", names[p->index]);
    json_decref(args);
}

static void on_progress(shoal_node *node, shoal_node_peer *np, const uint8_t feed[32], int64_t head,
                        void *ud)
{
    (void)node, (void)np;
    peer *p = ud;
    int q = index_of_key(feed);
    if (q < 0 || q == p->index || head <= p->holds[q])
        return;
    p->holds[q] = head;
    if (head < MESSAGES)
        return;
    say("%-5s holds all %d of %s's messages, each one verified", names[p->index], MESSAGES,
        names[q]);
    if (++demo.complete == demo.n * (demo.n - 1)) {
        demo.synced_at = elapsed();
        if (demo.answers == demo.n * (demo.n - 1))
            g_main_loop_quit(demo.loop);
    }
}

static void on_disconnected(shoal_node *node, const uint8_t feed[32], int err, void *ud)
{
    (void)node;
    peer *p = ud;
    int q = index_of_key(feed);
    say("%-5s and %s are disconnected (%s)", names[p->index], q >= 0 ? names[q] : "a stranger",
        shoal_strerror(err));
}

static void on_stopped(void *ud)
{
    (void)ud;
    if (++demo.stopped == demo.n)
        g_main_loop_quit(demo.loop);
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
    "Starts a signal hub on 127.0.0.1 and N peers (2-8, default 3) with fresh identities, each\n"
    "with a feed of 5 messages of its own. Each is a whole shoal node: it joins the hub,\n"
    "announces itself, hears the others, dials them, opens a WebRTC data channel to each, runs\n"
    "SSB's secret handshake over it, asks whoami, and replicates every other peer's feed,\n"
    "verifying each message. The story is told as it happens; the demo ends with a summary once\n"
    "every pair is connected and every feed is everywhere.\n"
    "\n"
    "exit status: 0 every pair connected and replicated, 1 not within 30 s, 2 usage error,\n"
    "3 failure\n";

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

    /* candidates on loopback only: the demo never leaves this machine */
    static const char *const loopback[] = {"127.0.0.1", NULL};
    shoal_rtc_config rtc = {.local_addresses = loopback};
    shoal_node_callbacks cb = {.connected = on_connected,
                               .disconnected = on_disconnected,
                               .log = on_log,
                               .progress = on_progress};
    for (int i = 0; i < demo.n; i++) {
        peer *p = &demo.peers[i];
        p->index = i;
        shoal_keypair_generate(&p->keys);
        shoal_identity_feed_id(p->keys.pub, p->id);
        if (shoal_feed_store_open(":memory:", &p->store) != SHOAL_OK)
            return SHOAL_EXIT_FAILURE;
        shoal_node_config cfg = {
            .keys = &p->keys, .rtc = &rtc, .store = p->store, .replicate_peers = true};
        if (shoal_node_new(&cfg, &cb, p, &p->node) != SHOAL_OK) {
            fprintf(stderr, "shoal demo: cannot start a peer (WebRTC stack)\n");
            return SHOAL_EXIT_FAILURE;
        }
        for (int m = 1; m <= MESSAGES; m++) {
            char content[96];
            int len = snprintf(content, sizeof content,
                               "{\"type\":\"post\",\"text\":\"%s's message %d\"}", names[i], m);
            shoal_msg_info info;
            if (shoal_node_publish(p->node, content, (size_t)len, &info, NULL) != SHOAL_OK)
                return SHOAL_EXIT_FAILURE;
        }
        say("%-5s is %s, with %d messages of its own", names[i], p->id, MESSAGES);
    }
    for (int i = 0; i < demo.n; i++)
        if (shoal_node_add_hub(demo.peers[i].node, &addr) != SHOAL_OK)
            return SHOAL_EXIT_FAILURE;
    guint timeout = g_timeout_add_seconds(30, on_timeout, NULL);
    g_main_loop_run(demo.loop);
    g_source_remove(timeout);
    double took = elapsed();

    printf("\nsummary after %.3f s:\n", took);
    for (int i = 0; i < demo.n; i++)
        for (int j = i + 1; j < demo.n; j++) {
            double t =
                demo.met_at[i][j] > demo.met_at[j][i] ? demo.met_at[i][j] : demo.met_at[j][i];
            if (demo.met_at[i][j] > 0 && demo.met_at[j][i] > 0)
                printf("  %-5s and %-5s connected over WebRTC, identities proven, at %.3f s\n",
                       names[i], names[j], t);
            else
                printf("  %-5s and %-5s did not connect\n", names[i], names[j]);
        }
    for (int i = 0; i < demo.n; i++) {
        const shoal_conn_stats *st = shoal_conn_get_stats(shoal_node_conn(demo.peers[i].node));
        printf("  %-5s dialled %llu times, %llu connections\n", names[i],
               (unsigned long long)st->dials, (unsigned long long)st->successes);
    }
    if (demo.complete == demo.n * (demo.n - 1))
        printf("  every peer holds every other's %d messages (%d replicated, verified), at "
               "%.3f s\n",
               MESSAGES, demo.n * (demo.n - 1) * MESSAGES, demo.synced_at);
    else
        printf("  %d of %d feeds replicated whole\n", demo.complete, demo.n * (demo.n - 1));

    for (int i = 0; i < demo.n; i++)
        shoal_node_stop(demo.peers[i].node, on_stopped, NULL);
    guint stop_timeout = g_timeout_add_seconds(10, on_timeout, NULL);
    if (demo.stopped < demo.n)
        g_main_loop_run(demo.loop);
    g_source_remove(stop_timeout);
    for (int i = 0; i < demo.n; i++) {
        shoal_node_free(demo.peers[i].node);
        shoal_feed_store_close(demo.peers[i].store);
    }
    shoal_hub_server_free(hub);
    g_main_loop_unref(demo.loop);
    return demo.failed ? SHOAL_EXIT_INVALID : SHOAL_EXIT_OK;
}

/* A replicating shoal peer over net:, for the interop tests with ssb-server. It keeps a feed
 * store, publishes --publish N messages of its own (up to N in all), and then either listens
 * (--listen: serving createHistoryStream, whoami, gossip.ping to whoever dials) or fetches one
 * feed from a peer (--fetch ADDRESS FEED_ID: from our head on, validating every message). It
 * tells what happens as JSON lines: {"event":"listening","address","id"}, {"event":"call",...},
 * {"event":"fetched","head":N} (then exits 0), {"event":"refused","reason"}. Listening, it asks
 * each peer that connects for the feeds named with --follow, live, as SSB peers do (and the
 * reference only starts its own replication of a peer once the peer has asked it for a feed).
 * Usage: repl-peer --secret FILE --db FILE [--publish N]
 *                  (--listen [--follow FEED_ID]... | --fetch ADDRESS FEED_ID) */
#include "say.h"
#include "shoal/identity.h"
#include "shoal/net.h"
#include "shoal/ref.h"
#include "shoal/repl.h"

#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static GMainLoop *loop;
static shoal_repl *repl;
static shoal_basics basics;
static uint8_t fetch_feed[32];
static uint8_t follows[8][32];
static int nfollows;
static bool fetching;
static int exit_code;

static int64_t wall_clock(void *ud)
{
    (void)ud;
    return g_get_real_time() / 1000;
}

static void observe(shoal_rpc *rpc, const char *name, const char *type, bool handled, void *ud)
{
    (void)rpc, (void)ud;
    say(json_pack("{s:s, s:s, s:s, s:b}", "event", "call", "name", name, "type", type, "handled",
                  handled));
}

static void on_progress(shoal_repl *r, shoal_rpc *from, const uint8_t feed[32], int64_t head,
                        void *ud)
{
    (void)r, (void)from, (void)ud;
    char id[SHOAL_REF_STRSIZE];
    shoal_identity_feed_id(feed, id);
    say(json_pack("{s:s, s:s, s:I}", "event", "progress", "feed", id, "head", (json_int_t)head));
}

static void on_refused(shoal_repl *r, shoal_rpc *from, const uint8_t feed[32], const char *reason,
                       void *ud)
{
    (void)r, (void)from, (void)feed, (void)ud;
    say(json_pack("{s:s, s:s}", "event", "refused", "reason", reason));
    exit_code = 1;
}

static shoal_feed_store *store;
static shoal_net_conn *fetch_conn;

static void on_ended(shoal_repl *r, shoal_rpc *from, const uint8_t feed[32], void *ud)
{
    (void)r, (void)from, (void)ud;
    shoal_feed_state head;
    if (shoal_feed_store_head(store, feed, &head) == SHOAL_OK)
        say(json_pack("{s:s, s:I}", "event", "fetched", "head", (json_int_t)head.sequence));
    if (fetch_conn)
        shoal_net_conn_close(fetch_conn);
}

static void on_established(shoal_net_conn *conn, void *ud)
{
    (void)ud;
    shoal_rpc *rpc = shoal_net_conn_rpc(conn);
    shoal_rpc_observe(rpc, observe, NULL);
    if (shoal_basics_register(rpc, &basics) != SHOAL_OK || shoal_repl_serve(repl, rpc) != SHOAL_OK)
        abort();
    for (int i = 0; i < nfollows; i++)
        if (shoal_repl_request(repl, rpc, follows[i], true) != SHOAL_OK)
            abort();
    if (fetching) {
        fetch_conn = conn;
        if (shoal_repl_request(repl, rpc, fetch_feed, false) != SHOAL_OK)
            abort();
    }
}

static void on_closed(shoal_net_conn *conn, int err, void *ud)
{
    (void)ud, (void)err;
    if (conn == fetch_conn)
        fetch_conn = NULL;
    shoal_repl_forget(repl, shoal_net_conn_rpc(conn));
    if (fetching)
        g_main_loop_quit(loop);
}

static gboolean on_term(gpointer ud)
{
    (void)ud;
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
    const char *secret = NULL, *db = NULL, *address = NULL, *feed = NULL;
    long publish = 0;
    bool listen = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--secret") == 0 && i + 1 < argc)
            secret = argv[++i];
        else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            db = argv[++i];
        else if (strcmp(argv[i], "--publish") == 0 && i + 1 < argc)
            publish = atol(argv[++i]);
        else if (strcmp(argv[i], "--listen") == 0)
            listen = true;
        else if (strcmp(argv[i], "--fetch") == 0 && i + 2 < argc)
            address = argv[++i], feed = argv[++i];
        else if (strcmp(argv[i], "--follow") == 0 && i + 1 < argc && nfollows < 8) {
            shoal_ref f;
            const char *id = argv[++i];
            if (shoal_ref_parse(&f, id, strlen(id), NULL) != SHOAL_OK || f.kind != SHOAL_REF_FEED)
                return 2;
            memcpy(follows[nfollows++], f.key, 32);
        } else
            return 2;
    }
    shoal_keypair keys;
    bool created;
    shoal_ref ref;
    if (!secret || !db || (!listen && !address) ||
        shoal_identity_load_or_create(secret, &keys, &created) != SHOAL_OK ||
        shoal_feed_store_open(db, &store) != SHOAL_OK ||
        (feed && (shoal_ref_parse(&ref, feed, strlen(feed), NULL) != SHOAL_OK ||
                  ref.kind != SHOAL_REF_FEED)))
        return 2;
    shoal_repl_callbacks cb = {
        .progress = on_progress, .refused = on_refused, .ended = on_ended, .clock = wall_clock};
    repl = shoal_repl_new(store, NULL, &cb, NULL);
    shoal_identity_feed_id(keys.pub, basics.id);
    basics.clock = wall_clock;
    shoal_feed_state head;
    if (shoal_feed_store_head(store, keys.pub, &head) != SHOAL_OK)
        return 3;
    for (long i = head.sequence; i < publish; i++) {
        char content[64];
        int len =
            snprintf(content, sizeof content, "{\"type\":\"post\",\"text\":\"shoal %ld\"}", i + 1);
        shoal_msg_info info;
        if (shoal_repl_publish(repl, &keys, (double)(g_get_real_time() / 1000), content,
                               (size_t)len, &info, NULL) != SHOAL_OK)
            return 3;
    }
    loop = g_main_loop_new(NULL, FALSE);
    shoal_net_config cfg = {.keys = &keys};
    shoal_net_callbacks ncb = {on_established, on_closed};
    shoal_net_server *server = NULL;
    if (listen) {
        if (shoal_net_listen(&cfg, "127.0.0.1", 0, &ncb, NULL, &server) != SHOAL_OK)
            return 3;
        char key[SHOAL_KEY_B64SIZE], addr[128];
        shoal_key_to_b64(keys.pub, key);
        snprintf(addr, sizeof addr, "net:127.0.0.1:%u~shs:%s", shoal_net_server_port(server), key);
        say(json_pack("{s:s, s:s, s:s}", "event", "listening", "address", addr, "id", basics.id));
    } else {
        shoal_ms *ms;
        shoal_ms_info net, shs;
        if (shoal_ms_parse(&ms, address, strlen(address), NULL) != SHOAL_OK ||
            shoal_ms_proto_decode(&ms->addrs[0].protos[0], &net, NULL) != SHOAL_OK ||
            ms->addrs[0].nprotos < 2 ||
            shoal_ms_proto_decode(&ms->addrs[0].protos[1], &shs, NULL) != SHOAL_OK)
            return 2;
        fetching = true;
        memcpy(fetch_feed, ref.key, 32);
        if (!shoal_net_dial(&cfg, net.host.name, net.port, shs.key, &ncb, NULL))
            return 3;
        shoal_ms_free(ms);
    }
    g_unix_signal_add(SIGTERM, on_term, NULL);
    g_main_loop_run(loop);
    shoal_net_server_free(server);
    shoal_repl_free(repl);
    shoal_feed_store_close(store);
    g_main_loop_unref(loop);
    return exit_code;
}

/* A shoal peer that listens on net: and tells, as JSON lines on standard output, what happens:
 * {"event":"listening","address":...}, then per connection "connected" (with the remote's id),
 * "call" (each call made to it: name, type, and whether a handler took it) and "closed" (with
 * the reason). It answers whoami and gossip.ping; everything else gets the unknown-method error.
 * For the interop tests: the reference ssb-server dials it. SIGTERM stops it.
 * Usage: net-peer [--secret FILE] [--port N] */
#include "say.h"
#include "shoal/identity.h"
#include "shoal/net.h"

#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static shoal_basics basics;

static int64_t wall_clock(void *ud)
{
    (void)ud;
    return g_get_real_time() / 1000;
}

static const char *id_of(shoal_net_conn *conn, char out[SHOAL_REF_STRSIZE])
{
    shoal_identity_feed_id(shoal_net_conn_remote(conn), out);
    return out;
}

static void observe(shoal_rpc *rpc, const char *name, const char *type, bool handled, void *ud)
{
    (void)rpc;
    char id[SHOAL_REF_STRSIZE];
    say(json_pack("{s:s, s:s, s:s, s:s, s:b}", "event", "call", "from", id_of(ud, id), "name", name,
                  "type", type, "handled", handled));
}

static void on_established(shoal_net_conn *conn, void *ud)
{
    (void)ud;
    char id[SHOAL_REF_STRSIZE];
    say(json_pack("{s:s, s:s}", "event", "connected", "id", id_of(conn, id)));
    shoal_rpc *rpc = shoal_net_conn_rpc(conn);
    if (shoal_basics_register(rpc, &basics) != SHOAL_OK)
        abort();
    shoal_rpc_observe(rpc, observe, conn);
}

static void on_closed(shoal_net_conn *conn, int err, void *ud)
{
    (void)ud;
    char id[SHOAL_REF_STRSIZE];
    say(json_pack("{s:s, s:s, s:s}", "event", "closed", "id", id_of(conn, id), "error",
                  shoal_errname(err)));
}

static gboolean on_term(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
    shoal_keypair keys;
    const char *secret = NULL;
    unsigned port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--secret") == 0)
            secret = argv[i + 1];
        else if (strcmp(argv[i], "--port") == 0)
            port = (unsigned)atoi(argv[i + 1]);
    }
    if (secret ? shoal_identity_load(secret, &keys) != SHOAL_OK
               : (shoal_keypair_generate(&keys), 0))
        return 2;
    shoal_identity_feed_id(keys.pub, basics.id);
    basics.clock = wall_clock;
    static shoal_shs_keycache keycache;
    shoal_net_config cfg = {.keys = &keys, .keycache = &keycache};
    shoal_net_callbacks cb = {on_established, on_closed};
    shoal_net_server *server;
    if (shoal_net_listen(&cfg, "127.0.0.1", (uint16_t)port, &cb, NULL, &server) != SHOAL_OK)
        return 3;
    char key[SHOAL_KEY_B64SIZE], address[128];
    shoal_key_to_b64(keys.pub, key);
    snprintf(address, sizeof address, "net:127.0.0.1:%u~shs:%s", shoal_net_server_port(server),
             key);
    say(json_pack("{s:s, s:s, s:s}", "event", "listening", "address", address, "id", basics.id));
    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    g_unix_signal_add(SIGTERM, on_term, loop);
    g_main_loop_run(loop);
    shoal_net_server_free(server);
    g_main_loop_unref(loop);
    return 0;
}

/* Two shoal peers over TCP on 127.0.0.1: the server knows who dialled before any call, a
 * 32 MiB stream arrives whole through reads and writes of every size, both sides close with a
 * clean goodbye, a dial to a silent listener gives up at the handshake's deadline, and a server
 * takes a bounded number of handshakes at a time. */
#include "harness.h"
#include "shoal/net.h"

#include <gio/gio.h>
#include <string.h>

#define ITEMS 8192
#define ITEM  4096 /* 32 MiB in all */

static shoal_keypair alice, bob;
static GMainLoop *loop;
static int closed_count, client_err = 1, server_err = 1;
static size_t received;
static bool server_knew_client, stream_ended;

static void blocks(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req, void *ud)
{
    (void)req, (void)ud;
    static uint8_t item[ITEM];
    for (int i = 0; i < ITEMS; i++) {
        memset(item, (uint8_t)i, sizeof item);
        CHECK_EQ_ERR(shoal_rpc_send(rpc, id, &(shoal_rpc_body){SHOAL_RPC_BINARY, item, ITEM}),
                     SHOAL_OK);
    }
    CHECK_EQ_ERR(shoal_rpc_end(rpc, id), SHOAL_OK);
}

static void server_established(shoal_net_conn *conn, void *ud)
{
    (void)ud;
    server_knew_client = memcmp(shoal_net_conn_remote(conn), alice.pub, 32) == 0;
    CHECK_EQ_ERR(
        shoal_rpc_register(shoal_net_conn_rpc(conn), "blocks", SHOAL_RPC_SOURCE, blocks, NULL),
        SHOAL_OK);
}

static void server_closed(shoal_net_conn *conn, int err, void *ud)
{
    (void)conn, (void)ud;
    server_err = err;
    if (++closed_count == 2)
        g_main_loop_quit(loop);
}

static void on_item(shoal_rpc *rpc, int32_t id, shoal_rpc_event ev, const shoal_rpc_body *body,
                    void *ud)
{
    (void)rpc, (void)id;
    if (ev == SHOAL_RPC_DATA) {
        size_t index = received / ITEM;
        CHECK_EQ_INT(body->len, ITEM);
        CHECK_EQ_INT(body->data[0], (uint8_t)index);
        CHECK_EQ_INT(body->data[ITEM - 1], (uint8_t)index);
        received += body->len;
    } else if (ev == SHOAL_RPC_END) {
        stream_ended = true;
        shoal_net_conn_close(ud);
    }
}

static void client_established(shoal_net_conn *conn, void *ud)
{
    (void)ud;
    json_t *args = json_array();
    int32_t id;
    CHECK_EQ_ERR(shoal_rpc_call(shoal_net_conn_rpc(conn), SHOAL_RPC_SOURCE, "blocks", args, on_item,
                                conn, &id),
                 SHOAL_OK);
    json_decref(args);
}

static void client_closed(shoal_net_conn *conn, int err, void *ud)
{
    (void)conn, (void)ud;
    client_err = err;
    if (++closed_count == 2)
        g_main_loop_quit(loop);
}

static gboolean too_long(gpointer ud)
{
    (void)ud;
    CHECK(!"the exchange took more than 60 s");
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

static void a_large_stream_crosses_and_both_sides_say_goodbye(void)
{
    /* `blocks` sends its 32 MiB at once, not as it is read: the server's bound on what waits
     * (16 MiB by default) is raised past it */
    shoal_net_config server_cfg = {.keys = &bob, .limits = {.max_backlog = 64u << 20}};
    shoal_net_config client_cfg = {.keys = &alice};
    shoal_net_callbacks scb = {server_established, server_closed};
    shoal_net_callbacks ccb = {client_established, client_closed};
    shoal_net_server *server;
    CHECK_EQ_ERR(shoal_net_listen(&server_cfg, "127.0.0.1", 0, &scb, NULL, &server), SHOAL_OK);
    CHECK(shoal_net_dial(&client_cfg, "127.0.0.1", shoal_net_server_port(server), bob.pub, &ccb,
                         NULL) != NULL);
    guint guard = g_timeout_add_seconds(60, too_long, NULL);
    g_main_loop_run(loop);
    g_source_remove(guard);
    CHECK(server_knew_client);
    CHECK_EQ_INT(received, (size_t)ITEMS * ITEM);
    CHECK(stream_ended);
    CHECK_EQ_ERR(client_err, SHOAL_OK);
    CHECK_EQ_ERR(server_err, SHOAL_OK);
    shoal_net_server_free(server);
}

static void silent_closed(shoal_net_conn *conn, int err, void *ud)
{
    (void)conn;
    *(int *)ud = err;
    g_main_loop_quit(loop);
}

static void a_silent_listener_fails_the_handshake_at_its_deadline(void)
{
    GSocketListener *listener = g_socket_listener_new();
    GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *any_port = g_inet_socket_address_new(lo, 0), *bound = NULL;
    CHECK(g_socket_listener_add_address(listener, any_port, G_SOCKET_TYPE_STREAM,
                                        G_SOCKET_PROTOCOL_TCP, NULL, &bound, NULL));
    guint16 port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    g_object_unref(bound), g_object_unref(any_port), g_object_unref(lo);
    shoal_net_config cfg = {.keys = &alice, .handshake_ms = 300};
    shoal_net_callbacks cb = {NULL, silent_closed};
    int err = SHOAL_OK;
    CHECK(shoal_net_dial(&cfg, "127.0.0.1", port, bob.pub, &cb, &err) != NULL);
    g_main_loop_run(loop);
    CHECK_EQ_ERR(err, SHOAL_E_NET_TIMEOUT);
    g_socket_listener_close(listener);
    g_object_unref(listener);
}

static int crowd_closed;
static gint64 crowd_last_ms;

static void crowd_closed_one(shoal_net_conn *conn, int err, void *ud)
{
    (void)conn, (void)ud;
    CHECK_EQ_ERR(err, SHOAL_E_NET_TIMEOUT);
    crowd_last_ms = g_get_monotonic_time() / 1000;
    if (++crowd_closed == 5)
        g_main_loop_quit(loop);
}

/* Five dialers that never say a word, against a server that takes two handshakes at a time:
 * the others wait in the kernel's backlog, not in our descriptors, so the last is timed out only
 * after three rounds of the handshake's deadline (without the bound, all five in one); the
 * server counts them. */
static void a_crowd_of_silent_dialers_waits_its_turn(void)
{
    shoal_net_config cfg = {.keys = &bob, .handshake_ms = 300, .max_pending = 2};
    shoal_net_callbacks cb = {NULL, crowd_closed_one};
    shoal_net_server *server;
    CHECK_EQ_ERR(shoal_net_listen(&cfg, "127.0.0.1", 0, &cb, NULL, &server), SHOAL_OK);
    GSocketClient *client = g_socket_client_new();
    g_socket_client_set_enable_proxy(client, FALSE); /* libproxy is not wanted here */
    GSocketConnection *silent[5];
    GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *addr = g_inet_socket_address_new(lo, shoal_net_server_port(server));
    gint64 began_ms = g_get_monotonic_time() / 1000;
    for (int i = 0; i < 5; i++) /* connected by the kernel at once, accepted two at a time */
        silent[i] = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, NULL);
    guint guard = g_timeout_add_seconds(20, too_long, NULL);
    g_main_loop_run(loop);
    g_source_remove(guard);
    CHECK_EQ_INT(crowd_closed, 5);
    CHECK(crowd_last_ms - began_ms >= 850);
    const shoal_net_stats *st = shoal_net_server_stats(server); /* what status tells */
    CHECK_EQ_INT(st->accepted, 5);
    CHECK_EQ_INT(st->handshakes_failed, 5);
    CHECK(st->accept_paused >= 2); /* full after the first two, and again after each pass */
    for (int i = 0; i < 5; i++)
        if (silent[i])
            g_object_unref(silent[i]);
    g_object_unref(addr), g_object_unref(lo), g_object_unref(client);
    shoal_net_server_free(server);
}

static void listening_on_a_bad_address_is_refused(void)
{
    shoal_net_config cfg = {.keys = &bob};
    shoal_net_callbacks cb = {NULL, NULL};
    shoal_net_server *server;
    CHECK_EQ_ERR(shoal_net_listen(&cfg, "not-an-ip", 0, &cb, NULL, &server), SHOAL_E_NET_LISTEN);
    CHECK_EQ_ERR(shoal_net_listen(&cfg, "192.0.2.123", 0, &cb, NULL, &server),
                 SHOAL_E_NET_LISTEN); /* not an address of this machine */
}

int main(void)
{
    uint8_t seed[32] = {1};
    shoal_keypair_from_seed(&alice, seed);
    seed[0] = 2;
    shoal_keypair_from_seed(&bob, seed);
    loop = g_main_loop_new(NULL, FALSE);
    RUN(a_large_stream_crosses_and_both_sides_say_goodbye);
    RUN(a_silent_listener_fails_the_handshake_at_its_deadline);
    RUN(a_crowd_of_silent_dialers_waits_its_turn);
    RUN(listening_on_a_bad_address_is_refused);
    g_main_loop_unref(loop);
    return harness_finish();
}

/* A TCP peer that completes the handshake, asks for a stream, then never reads again (its
 * receive window full, our write never completes): once the output waiting passes max_backlog,
 * the connection is over (SHOAL_E_LINK_BACKLOG), rather than held, with its descriptor and its
 * output, until the peer goes away. Found by review: the link's end waited for a write that
 * could not complete. */
#include "harness.h"
#include "shoal/net.h"
#include "shoal/link.h"

#include <arpa/inet.h>
#include <gio/gio.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static shoal_keypair alice, bob;
static GMainLoop *loop;
static uint16_t port;
static shoal_rpc *flood_rpc;
static int32_t flood_id;
static int closed_err = SHOAL_OK;

static void flood(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req, void *ud)
{
    (void)req, (void)ud;
    flood_rpc = rpc;
    flood_id = id;
}

static gboolean flood_tick(gpointer ud)
{
    (void)ud;
    static uint8_t item[65536];
    if (flood_rpc &&
        shoal_rpc_send(flood_rpc, flood_id,
                       &(shoal_rpc_body){SHOAL_RPC_BINARY, item, sizeof item}) != SHOAL_OK)
        flood_rpc = NULL;
    return G_SOURCE_CONTINUE;
}

static void established(shoal_net_conn *conn, void *ud)
{
    (void)ud;
    (void)!shoal_rpc_register(shoal_net_conn_rpc(conn), "flood", SHOAL_RPC_SOURCE, flood, NULL);
}

static void closed(shoal_net_conn *conn, int err, void *ud)
{
    (void)conn, (void)ud;
    closed_err = err;
    g_main_loop_quit(loop);
}

static void write_all(int fd, shoal_link *l)
{
    size_t len;
    const uint8_t *out;
    while ((out = shoal_link_output(l, &len)) && len) {
        ssize_t k = write(fd, out, len);
        if (k <= 0)
            return;
        shoal_link_drain(l, (size_t)k);
    }
}

static gpointer client(gpointer ud)
{
    (void)ud;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        return NULL;
    shoal_link *l = shoal_link_new(&alice, bob.pub, NULL);
    write_all(fd, l);
    uint8_t buf[4096];
    while (!shoal_link_established(l)) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            return NULL;
        size_t used = 0;
        while (used < (size_t)n) {
            long k = shoal_link_input(l, buf + used, (size_t)n - used);
            if (k < 0)
                return NULL;
            used += (size_t)k;
            if (k == 0)
                break;
        }
        write_all(fd, l);
    }
    json_t *args = json_array();
    int32_t id;
    (void)!shoal_rpc_call(shoal_link_rpc(l), SHOAL_RPC_SOURCE, "flood", args, NULL, NULL, &id);
    json_decref(args);
    write_all(fd, l);
    for (;;) /* never reads again, never closes (the process's end takes the thread) */
        sleep(1000);
}

static gboolean give_up(gpointer ud)
{
    (void)ud;
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

static void a_peer_that_never_reads_is_let_go(void)
{
    shoal_net_config cfg = {.keys = &bob, .limits = {.max_backlog = 1 << 20, .idle_ms = 2000}};
    shoal_net_callbacks cb = {established, closed};
    shoal_net_server *server;
    CHECK_EQ_ERR(shoal_net_listen(&cfg, "127.0.0.1", 0, &cb, NULL, &server), SHOAL_OK);
    port = shoal_net_server_port(server);
    g_thread_unref(g_thread_new("client", client, NULL));
    guint tick = g_timeout_add(2, flood_tick, NULL);
    guint guard = g_timeout_add_seconds(20, give_up, NULL);
    g_main_loop_run(loop);
    g_source_remove(tick);
    g_source_remove(guard);
    CHECK_EQ_ERR(closed_err, SHOAL_E_LINK_BACKLOG);
    shoal_net_server_free(server);
}

int main(void)
{
    uint8_t seed[32] = {1};
    shoal_keypair_from_seed(&alice, seed);
    seed[0] = 2;
    shoal_keypair_from_seed(&bob, seed);
    loop = g_main_loop_new(NULL, FALSE);
    RUN(a_peer_that_never_reads_is_let_go);
    return harness_finish();
}

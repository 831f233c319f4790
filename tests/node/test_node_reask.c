/* A stream that ends while the connection goes on is asked for again. Peer A answers B's first
 * createHistoryStream of A's feed with an error end (as a source whose store cannot be read
 * does), then serves as usual; the connection stays up. B, which replicates the peers it meets,
 * must still end with A's whole feed: it asks for the feed again from its head, on the same
 * connection, rather than leaving it where the error found it until the connection is renewed. */
#include "harness.h"
#include "shoal/hub_server.h"
#include "shoal/node.h"
#include "shoal/ref.h"
#include "shoal/repl.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MESSAGES 1000

static GMainLoop *loop;
static int64_t b_head;
static int errors_sent, disconnects, stopped;
static bool reasked;
static shoal_keypair alice, bob;
static shoal_node *a_node, *b_node;

static void on_progress(shoal_node *node, shoal_node_peer *peer, const uint8_t feed[32],
                        int64_t head, void *ud)
{
    (void)peer, (void)ud;
    if (node != b_node || memcmp(feed, alice.pub, 32) != 0)
        return;
    b_head = head;
    if (head == MESSAGES)
        g_main_loop_quit(loop);
}

/* A's createHistoryStream, once: every request fails until one for A's own feed has; then the
 * replicator's own handler is back. */
static void flaky(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req, void *ud)
{
    (void)ud;
    const char *feed = json_string_value(json_object_get(json_array_get(req->args, 0), "id"));
    shoal_ref ref;
    bool ours = feed && shoal_ref_parse(&ref, feed, strlen(feed), NULL) == SHOAL_OK &&
                memcmp(ref.key, alice.pub, 32) == 0;
    CHECK_EQ_ERR(shoal_rpc_error(rpc, id, "Error", "cannot read the store"), SHOAL_OK);
    errors_sent++;
    if (ours) {
        shoal_repl_forget(shoal_node_repl(a_node), rpc);
        CHECK_EQ_ERR(shoal_repl_serve(shoal_node_repl(a_node), rpc), SHOAL_OK);
    }
}

static void on_connected(shoal_node *node, shoal_node_peer *peer, void *ud)
{
    (void)ud;
    if (node == a_node && errors_sent == 0)
        CHECK_EQ_ERR(shoal_rpc_register(shoal_node_peer_rpc(peer), "createHistoryStream",
                                        SHOAL_RPC_SOURCE, flaky, NULL),
                     SHOAL_OK);
}

static void on_log(shoal_node *node, const char *line, void *ud)
{
    (void)ud;
    if (node == b_node && strstr(line, "asked for again"))
        reasked = true;
    printf("# %s: %s\n", node == a_node ? "A" : "B", line);
}

static void on_disconnected(shoal_node *node, const uint8_t feed[32], int err, void *ud)
{
    (void)node, (void)feed, (void)err, (void)ud;
    disconnects++;
}

static void on_stopped(void *ud)
{
    (void)ud;
    if (++stopped == 2)
        g_main_loop_quit(loop);
}

static gboolean give_up(gpointer ud)
{
    (void)ud;
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

static void a_stream_that_errs_is_asked_for_again(void)
{
    shoal_hub_server_config hcfg;
    shoal_hub_server_config_default(&hcfg);
    hcfg.port = 0;
    shoal_hub_server *hub;
    char *why = NULL;
    CHECK_EQ_ERR(shoal_hub_server_start(&hub, &hcfg, &why), SHOAL_OK);
    char url[64], a_path[64], b_path[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", shoal_hub_server_port(hub));
    shoal_hub_addr addr;
    CHECK_EQ_ERR(shoal_hub_addr_parse(&addr, url, strlen(url), NULL), SHOAL_OK);
    snprintf(a_path, sizeof a_path, "/tmp/shoal-reask-a-%d.db", (int)getpid());
    snprintf(b_path, sizeof b_path, "/tmp/shoal-reask-b-%d.db", (int)getpid());
    shoal_feed_store *a_store, *b_store;
    CHECK_EQ_ERR(shoal_feed_store_open(a_path, &a_store), SHOAL_OK);
    CHECK_EQ_ERR(shoal_feed_store_open(b_path, &b_store), SHOAL_OK);

    static const char *const loopback[] = {"127.0.0.1", NULL};
    shoal_rtc_config rtc = {.local_addresses = loopback};
    shoal_node_callbacks cb = {.connected = on_connected,
                               .disconnected = on_disconnected,
                               .progress = on_progress,
                               .log = on_log};
    /* the old way: EBT has no stream to end (its own test is test_node_sync_ebt) */
    shoal_node_config a_cfg = {.keys = &alice, .rtc = &rtc, .store = a_store, .no_ebt = true};
    shoal_node_config b_cfg = {
        .keys = &bob, .rtc = &rtc, .store = b_store, .replicate_peers = true, .no_ebt = true};
    CHECK_EQ_ERR(shoal_node_new(&a_cfg, &cb, NULL, &a_node), SHOAL_OK);
    CHECK_EQ_ERR(shoal_node_new(&b_cfg, &cb, NULL, &b_node), SHOAL_OK);
    for (int i = 0; i < MESSAGES; i++) {
        char content[64];
        int len = snprintf(content, sizeof content, "{\"type\":\"post\",\"text\":\"%d\"}", i);
        shoal_msg_info info;
        CHECK_EQ_ERR(shoal_node_publish(a_node, content, (size_t)len, &info, NULL), SHOAL_OK);
    }
    CHECK_EQ_ERR(shoal_node_add_hub(a_node, &addr), SHOAL_OK);
    CHECK_EQ_ERR(shoal_node_add_hub(b_node, &addr), SHOAL_OK);
    guint guard = g_timeout_add_seconds(40, give_up, NULL);
    g_main_loop_run(loop);
    g_source_remove(guard);
    CHECK(errors_sent >= 1);
    CHECK(reasked);
    CHECK_EQ_INT(b_head, MESSAGES);
    CHECK_EQ_INT(disconnects, 0); /* on the same connection */

    shoal_node_stop(a_node, on_stopped, NULL);
    shoal_node_stop(b_node, on_stopped, NULL);
    if (stopped < 2)
        g_main_loop_run(loop);
    shoal_node_free(a_node);
    shoal_node_free(b_node);
    shoal_hub_server_free(hub);
    shoal_feed_store_close(a_store);
    shoal_feed_store_close(b_store);
    const char *paths[] = {a_path, b_path};
    for (int i = 0; i < 2; i++) {
        char f[80];
        unlink(paths[i]);
        snprintf(f, sizeof f, "%s-wal", paths[i]);
        unlink(f);
        snprintf(f, sizeof f, "%s-shm", paths[i]);
        unlink(f);
    }
    for (int i = 0; i < 20; i++)
        g_main_context_iteration(NULL, FALSE);
}

int main(void)
{
    uint8_t seed[32] = {41};
    shoal_keypair_from_seed(&alice, seed);
    seed[0] = 42;
    shoal_keypair_from_seed(&bob, seed);
    loop = g_main_loop_new(NULL, FALSE);
    RUN(a_stream_that_errs_is_asked_for_again);
    g_main_loop_unref(loop);
    return harness_finish();
}

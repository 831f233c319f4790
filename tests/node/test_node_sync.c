/* Initial sync over WebRTC: peer A holds a feed of 10,000 messages, fresh peer B knows only the
 * same hub and replicates the peers it meets (it follows no one). B ends with A's whole feed, every
 * message validated and stored, then gets A's next message live; while it downloads, B's state
 * manager knows it (A is marked as being downloaded from) and the connection is never cut. Then A
 * loses its store and comes back: it gets its own feed back from B. */
#include "harness.h"
#include "shoal/hub_server.h"
#include "shoal/node.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MESSAGES 10000

static GMainLoop *loop;
static int64_t b_head, a_head;
static bool marked_downloading;
static int disconnects, stopped;
static shoal_keypair alice, bob;
static shoal_node *a_node, *b_node;

static void on_progress(shoal_node *node, shoal_node_peer *peer, const uint8_t feed[32],
                        int64_t head, void *ud)
{
    (void)peer, (void)ud;
    if (node == a_node && memcmp(feed, alice.pub, 32) == 0 && (a_head = head) == MESSAGES + 1)
        g_main_loop_quit(loop); /* A's own feed, back from B */
    if (node != b_node || memcmp(feed, alice.pub, 32) != 0)
        return;
    b_head = head;
    const shoal_conn_peer *rec = shoal_conn_peer_find(shoal_node_conn(node), alice.pub);
    marked_downloading |= rec && rec->downloading_until > 0;
    if (head == MESSAGES || head == MESSAGES + 1)
        g_main_loop_quit(loop);
}

static void on_disconnected(shoal_node *node, const uint8_t feed[32], int err, void *ud)
{
    (void)feed, (void)ud;
    printf("# %s lost its connection: %s\n", node == a_node ? "A" : "B", shoal_strerror(err));
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

static void a_fresh_peer_syncs_a_whole_feed_over_webrtc(void)
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
    snprintf(a_path, sizeof a_path, "/tmp/shoal-sync-a-%d.db", (int)getpid());
    snprintf(b_path, sizeof b_path, "/tmp/shoal-sync-b-%d.db", (int)getpid());
    shoal_feed_store *a_store, *b_store;
    CHECK_EQ_ERR(shoal_feed_store_open(a_path, &a_store), SHOAL_OK);
    CHECK_EQ_ERR(shoal_feed_store_open(b_path, &b_store), SHOAL_OK);

    static const char *const loopback[] = {"127.0.0.1", NULL};
    shoal_rtc_config rtc = {.local_addresses = loopback};
    shoal_node_callbacks cb = {.disconnected = on_disconnected, .progress = on_progress};
    shoal_node_config a_cfg = {.keys = &alice, .rtc = &rtc, .store = a_store};
    shoal_node_config b_cfg = {
        .keys = &bob, .rtc = &rtc, .store = b_store, .replicate_peers = true};
    CHECK_EQ_ERR(shoal_node_new(&a_cfg, &cb, NULL, &a_node), SHOAL_OK);
    CHECK_EQ_ERR(shoal_node_new(&b_cfg, &cb, NULL, &b_node), SHOAL_OK);
    for (int i = 0; i < MESSAGES; i++) {
        char content[64];
        int len = snprintf(content, sizeof content, "{\"type\":\"post\",\"text\":\"%d\"}", i);
        shoal_msg_info info;
        CHECK_EQ_ERR(shoal_node_publish(a_node, content, (size_t)len, &info, NULL), SHOAL_OK);
    }
    gint64 t0 = g_get_monotonic_time();
    CHECK_EQ_ERR(shoal_node_add_hub(a_node, &addr), SHOAL_OK);
    CHECK_EQ_ERR(shoal_node_add_hub(b_node, &addr), SHOAL_OK);
    guint guard = g_timeout_add_seconds(60, give_up, NULL);
    g_main_loop_run(loop);
    printf("# %d messages synced over WebRTC in %.2f s (under ASan)\n", MESSAGES,
           (double)(g_get_monotonic_time() - t0) / 1e6);
    CHECK_EQ_INT(b_head, MESSAGES);
    CHECK(marked_downloading);
    shoal_msg_info info;
    static const char live[] = "{\"type\":\"post\",\"text\":\"live\"}";
    CHECK_EQ_ERR(shoal_node_publish(a_node, live, strlen(live), &info, NULL), SHOAL_OK);
    g_main_loop_run(loop);
    g_source_remove(guard);
    CHECK_EQ_INT(b_head, MESSAGES + 1);
    CHECK_EQ_INT(disconnects, 0);

    /* A loses its store and returns: every peer is asked for our own feed too */
    shoal_node_stop(a_node, on_stopped, NULL);
    while (stopped < 1)
        g_main_context_iteration(NULL, TRUE);
    shoal_node_free(a_node);
    stopped = 0;
    shoal_feed_store_close(a_store);
    char a2_path[64];
    snprintf(a2_path, sizeof a2_path, "/tmp/shoal-sync-a2-%d.db", (int)getpid());
    CHECK_EQ_ERR(shoal_feed_store_open(a2_path, &a_store), SHOAL_OK);
    a_cfg.store = a_store;
    CHECK_EQ_ERR(shoal_node_new(&a_cfg, &cb, NULL, &a_node), SHOAL_OK);
    CHECK_EQ_ERR(shoal_node_add_hub(a_node, &addr), SHOAL_OK);
    guard = g_timeout_add_seconds(60, give_up, NULL);
    g_main_loop_run(loop);
    g_source_remove(guard);
    CHECK_EQ_INT(a_head, MESSAGES + 1);
    shoal_node_stop(a_node, on_stopped, NULL);
    shoal_node_stop(b_node, on_stopped, NULL);
    if (stopped < 2)
        g_main_loop_run(loop);
    shoal_node_free(a_node);
    shoal_node_free(b_node);
    shoal_hub_server_free(hub);
    shoal_feed_store_close(a_store);
    shoal_feed_store_close(b_store);
    const char *paths[] = {a_path, b_path, a2_path};
    for (int i = 0; i < 3; i++) {
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
    uint8_t seed[32] = {31};
    shoal_keypair_from_seed(&alice, seed);
    seed[0] = 32;
    shoal_keypair_from_seed(&bob, seed);
    loop = g_main_loop_new(NULL, FALSE);
    RUN(a_fresh_peer_syncs_a_whole_feed_over_webrtc);
    g_main_loop_unref(loop);
    return harness_finish();
}

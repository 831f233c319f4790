/* ICE servers from the hub: two nodes that know only a hub (in this process, on 127.0.0.1) which
 * offers TURN on Debian's coturn, and no STUN or TURN of their own, gather relayed candidates only
 * (as behind symmetric NATs): each asks the hub (GET /v1/ice, signed), gets credentials made for
 * its feed, and the channel opens through the relay, over UDP, or over TCP when that is all the
 * hub offers; each side's path says so. Told to use no TURN at all, they cannot connect, and the
 * state manager keeps why. */
#include "coturn.h"
#include "harness.h"
#include "shoal/hub_server.h"
#include "shoal/node.h"

#include <glib.h>
#include <string.h>

static GMainLoop *loop;
static test_coturn turn;
static const char secret[] = "the-hub-and-coturn-share-it";
static shoal_keypair alice, bob;
static shoal_node *a_node, *b_node;
static int connected, stopped;

static void on_connected(shoal_node *node, shoal_node_peer *peer, void *ud)
{
    (void)node, (void)peer, (void)ud;
    if (++connected == 2)
        g_main_loop_quit(loop);
}

static void on_stopped(void *ud)
{
    (void)ud;
    if (++stopped == 2)
        g_main_loop_quit(loop);
}

static gboolean give_up(gpointer ud)
{
    *(guint *)ud = 0;
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

/* A hub offering `url` (TURN on coturn), two nodes relayed only (no_turn: told to use none),
 * for up to `seconds`; each side's path when connected, in a_path and b_path. */
static bool meet(const char *url_fmt, bool no_turn, int seconds, shoal_rtc_path *a_path,
                 shoal_rtc_path *b_path)
{
    shoal_ice_servers ice = {.n = 1};
    char *url = g_strdup_printf(url_fmt, turn.port);
    CHECK_EQ_ERR(shoal_ice_url_parse(&ice.s[0], url, strlen(url)), SHOAL_OK);
    g_free(url);
    shoal_hub_server_config hcfg;
    shoal_hub_server_config_default(&hcfg);
    hcfg.port = 0;
    hcfg.ice = &ice;
    hcfg.turn_secret = (const uint8_t *)secret;
    hcfg.turn_secret_len = strlen(secret);
    shoal_hub_server *hub;
    char *why = NULL;
    CHECK_EQ_ERR(shoal_hub_server_start(&hub, &hcfg, &why), SHOAL_OK);
    g_free(why);
    char hub_url[64];
    snprintf(hub_url, sizeof hub_url, "http://127.0.0.1:%u", shoal_hub_server_port(hub));
    shoal_hub_addr addr;
    CHECK_EQ_ERR(shoal_hub_addr_parse(&addr, hub_url, strlen(hub_url), NULL), SHOAL_OK);

    static const char *const loopback[] = {"127.0.0.1", NULL};
    shoal_rtc_config rtc = {.local_addresses = loopback, .relay_only = true};
    shoal_conn_config conn;
    shoal_conn_config_default(&conn);
    conn.timeout_rtc = 8000;
    shoal_node_callbacks cb = {.connected = on_connected};
    shoal_node_config a_cfg = {.keys = &alice, .rtc = &rtc, .conn = &conn, .no_turn = no_turn};
    shoal_node_config b_cfg = a_cfg;
    b_cfg.keys = &bob;
    CHECK_EQ_ERR(shoal_node_new(&a_cfg, &cb, NULL, &a_node), SHOAL_OK);
    CHECK_EQ_ERR(shoal_node_new(&b_cfg, &cb, NULL, &b_node), SHOAL_OK);
    CHECK_EQ_ERR(shoal_node_add_hub(a_node, &addr), SHOAL_OK);
    CHECK_EQ_ERR(shoal_node_add_hub(b_node, &addr), SHOAL_OK);
    connected = 0;
    guint guard = g_timeout_add_seconds((guint)seconds, give_up, &guard);
    g_main_loop_run(loop);
    if (guard)
        g_source_remove(guard);
    bool met = connected == 2 && shoal_node_peer_path(a_node, bob.pub, a_path) &&
               shoal_node_peer_path(b_node, alice.pub, b_path);
    if (!met && no_turn) { /* why, as the state manager keeps it */
        const shoal_conn_peer *p = shoal_conn_peer_find(shoal_node_conn(a_node), bob.pub);
        const shoal_conn_peer *q = shoal_conn_peer_find(shoal_node_conn(b_node), alice.pub);
        CHECK((p && p->last_error != SHOAL_OK) || (q && q->last_error != SHOAL_OK));
        CHECK((p && p->failures > 0) || (q && q->failures > 0));
    }
    stopped = 0;
    shoal_node_stop(a_node, on_stopped, NULL);
    shoal_node_stop(b_node, on_stopped, NULL);
    if (stopped < 2)
        g_main_loop_run(loop);
    shoal_node_free(a_node);
    shoal_node_free(b_node);
    shoal_hub_server_free(hub);
    return met;
}

static void check_relayed(const shoal_rtc_path *p, const char *transport)
{
    CHECK_EQ_STR(p->local_type, "relay");
    CHECK_EQ_STR(p->relay, transport);
    CHECK(strncmp(p->remote, "127.0.0.1:", 10) == 0);
    CHECK(p->bytes_in > 0 && p->bytes_out > 0);
}

static void the_hubs_turn_server_carries_the_channel(void)
{
    shoal_rtc_path a, b;
    if (!CHECK(meet("turn:127.0.0.1:%u", false, 30, &a, &b)))
        return;
    check_relayed(&a, "udp");
    check_relayed(&b, "udp");
}

static void the_hubs_turn_server_over_tcp(void)
{
    shoal_rtc_path a, b;
    if (!CHECK(meet("turn:127.0.0.1:%u?transport=tcp", false, 30, &a, &b)))
        return;
    check_relayed(&a, "tcp");
    check_relayed(&b, "tcp");
}

/* libnice 0.1.21 takes servers by address only: a name the hub gives is looked up first. */
static void a_turn_server_named_by_a_name(void)
{
    shoal_rtc_path a, b;
    if (!CHECK(meet("turn:localhost:%u", false, 30, &a, &b)))
        return;
    check_relayed(&a, "udp");
}

static void told_to_use_no_turn_they_cannot_meet_and_say_why(void)
{
    shoal_rtc_path a, b;
    CHECK(!meet("turn:127.0.0.1:%u", true, 12, &a, &b));
}

int main(void)
{
    loop = g_main_loop_new(NULL, FALSE);
    uint8_t seed[32] = {1};
    shoal_keypair_from_seed(&alice, seed);
    seed[0] = 2;
    shoal_keypair_from_seed(&bob, seed);
    if (CHECK(test_coturn_start(&turn, secret))) {
        RUN(the_hubs_turn_server_carries_the_channel);
        RUN(the_hubs_turn_server_over_tcp);
        RUN(a_turn_server_named_by_a_name);
        RUN(told_to_use_no_turn_they_cannot_meet_and_say_why);
        test_coturn_stop(&turn);
    }
    g_main_loop_unref(loop);
    return harness_finish();
}

/* Dialling: up to max_peers connections, the best candidates first, one dial per feed id at a
 * time whichever hubs announce it, only through connected hubs, never ourselves. */
#include "script.h"

static shoal_conn_config with_max_peers(uint32_t n)
{
    shoal_conn_config cfg;
    shoal_conn_config_default(&cfg);
    cfg.max_peers = n;
    return cfg;
}

static void an_announced_peer_is_dialled_through_its_hub(void)
{
    script s;
    script_init(&s, NULL);
    script_connect_hub(&s, 0, 0);
    EXPECT_STEP(&s, 10, ANNOUNCE('B', 0),
                "DIAL_PEER B via h0; HUB h0 connected; PEER B connecting");
    const shoal_conn_peer *b = peer_of(&s, 'B');
    CHECK_EQ_INT(b->route, 0);
    CHECK_EQ_INT(b->transport, SHOAL_TRANSPORT_RTC);
    CHECK_EQ_INT(b->last_attempt, 10);
    CHECK_EQ_INT(b->deadline, 10 + 30000);
    EXPECT_STEP(&s, 20, PEER_ACT(REMOTE_PEER_CONNECTION_SUCCEEDED, 'B'), "PEER B connected");
    CHECK_EQ_INT(peer_of(&s, 'B')->connected_since, 20);
    CHECK_EQ_INT(shoal_conn_slots_used(s.c), 1);
    script_free(&s);
}

static void at_most_max_peers_are_held(void)
{
    script s;
    script_init(&s, NULL);
    script_connect_hub(&s, 0, 0);
    const char *letters = "BCDE";
    for (int i = 0; i < 4; i++)
        script_step(&s, 10, ANNOUNCE(letters[i], 0));
    CHECK_EQ_INT(shoal_conn_slots_used(s.c), 4);
    EXPECT_STEP(&s, 20, ANNOUNCE('F', 0), "PEER F disconnected");
    CHECK_EQ_INT(shoal_conn_get_stats(s.c)->dials, 4);
    /* A failure frees a slot, and the waiting candidate takes it. */
    EXPECT_STEP(&s, 30, PEER_ACT(REMOTE_PEER_CONNECTION_FAILED, 'C'),
                "DIAL_PEER F via h0; PEER C disconnected; PEER F connecting");
    script_free(&s);
}

/* A peer that answers "busy" frees its slot at once for the waiting candidate, with no
 * failure counted; it is dialled again only after an announce period. */
static void a_busy_peer_frees_its_slot_without_a_failure(void)
{
    script s;
    script_init(&s, NULL);
    script_connect_hub(&s, 0, 0);
    const char *letters = "BCDE";
    for (int i = 0; i < 4; i++)
        script_step(&s, 10, ANNOUNCE(letters[i], 0));
    script_step(&s, 20, ANNOUNCE('F', 0));
    EXPECT_STEP(&s, 30, PEER_ACT(REMOTE_PEER_BUSY, 'C'),
                "DIAL_PEER F via h0; PEER C disconnected; PEER F connecting");
    const shoal_conn_peer *c = peer_of(&s, 'C');
    CHECK_EQ_INT(c->failures, 0);
    CHECK_EQ_INT(c->backoff_until, 30 + shoal_conn_get_config(s.c)->announce_peered);
    CHECK_EQ_INT(shoal_conn_get_stats(s.c)->busy, 1);
    CHECK_EQ_INT(shoal_conn_get_stats(s.c)->failures, 0);
    /* "busy" for a peer not being dialled, or dialling us, changes nothing */
    EXPECT_STEP(&s, 40, PEER_ACT(REMOTE_PEER_BUSY, 'C'), "");
    script_free(&s);
}

static void one_feed_is_dialled_once_across_hubs(void)
{
    script s;
    script_init(&s, NULL);
    script_connect_hub(&s, 0, 0);
    script_connect_hub(&s, 0, 1);
    EXPECT_STEP(&s, 10, ANNOUNCE('B', 0),
                "DIAL_PEER B via h0; HUB h0 connected; PEER B connecting");
    EXPECT_STEP(&s, 11, ANNOUNCE('B', 1), "HUB h1 connected; PEER B connecting");
    /* Within a second of its last message, the hub's record does not change. */
    EXPECT_STEP(&s, 12, ANNOUNCE('B', 0), "PEER B connecting");
    CHECK_EQ_INT(shoal_conn_get_stats(s.c)->dials, 1);
    CHECK_EQ_INT(peer_of(&s, 'B')->nroutes, 2);
    /* Their dial reaching us meanwhile (glare) changes nothing. */
    EXPECT_STEP(&s, 13, act_peer(SHOAL_ACT_REMOTE_PEER_CONNECTING, 'B', 1), "");
    script_free(&s);
}

static void peers_wait_for_their_hub_to_connect(void)
{
    script s;
    script_init(&s, NULL);
    script_step(&s, 0, act_add_hub(0));
    EXPECT_STEP(&s, 10, ANNOUNCE('B', 0), "HUB h0 connecting; PEER B disconnected");
    EXPECT_STEP(&s, 20, act_hub(SHOAL_ACT_HUB_CONNECTION_SUCCEEDED, 0),
                "ANNOUNCE_TO_HUB h0; DIAL_PEER B via h0; HUB h0 connected; PEER B connecting");
    script_free(&s);
}

static void fewest_failures_are_dialled_first(void)
{
    shoal_conn_config cfg = with_max_peers(1);
    cfg.inbound_when_full = true; /* so that B can fail while D holds the slot */
    script s;
    script_init(&s, &cfg);
    script_connect_hub(&s, 0, 0);
    script_connect_peer(&s, 10, 'D', 0); /* holds the only slot */
    /* B failed once (it dialled us and that failed); C never did. */
    script_step(&s, 20, act_peer(SHOAL_ACT_REMOTE_PEER_CONNECTING, 'B', 0));
    script_step(&s, 30, PEER_ACT(REMOTE_PEER_CONNECTION_FAILED, 'B'));
    CHECK_EQ_INT(peer_of(&s, 'B')->failures, 1);
    script_step(&s, 10000, ANNOUNCE('C', 0));
    script_step(&s, 10001, ANNOUNCE('B', 0)); /* fresher, but it failed */
    EXPECT_STEP(&s, 10002, PEER_ACT(REMOTE_PEER_DID_DISCONNECT, 'D'),
                "DIAL_PEER C via h0; PEER D disconnected; PEER C connecting");
    script_free(&s);
}

static void fresher_announces_are_dialled_first(void)
{
    shoal_conn_config cfg = with_max_peers(1);
    script s;
    script_init(&s, &cfg);
    script_connect_hub(&s, 0, 0);
    script_connect_peer(&s, 10, 'D', 0);
    script_step(&s, 20, ANNOUNCE('B', 0));
    script_step(&s, 30, ANNOUNCE('C', 0));
    EXPECT_STEP(&s, 40, PEER_ACT(REMOTE_PEER_DID_DISCONNECT, 'D'),
                "DIAL_PEER C via h0; PEER D disconnected; PEER C connecting");
    script_free(&s);
}

static void the_healthiest_hub_carries_the_dial(void)
{
    shoal_conn_config cfg = with_max_peers(1);
    script s;
    script_init(&s, &cfg);
    script_step(&s, 0, act_add_hub(0));
    script_step(&s, 0, act_hub(SHOAL_ACT_HUB_CONNECTION_FAILED, 0));
    script_connect_hub(&s, 0, 1);
    shoal_time retry = shoal_conn_hub_get(s.c, 0)->next_attempt;
    script_step(&s, retry, TICK);
    script_step(&s, retry, act_hub(SHOAL_ACT_HUB_CONNECTION_SUCCEEDED, 0));
    CHECK(shoal_conn_hub_get(s.c, 0)->score < shoal_conn_hub_get(s.c, 1)->score);
    script_connect_peer(&s, retry + 1, 'Z', 0); /* fills the slot */
    /* B is announced on h0, then on h1: h1 is healthier, so it carries the dial. */
    script_step(&s, retry + 2, ANNOUNCE('B', 0));
    script_step(&s, retry + 3, ANNOUNCE('B', 1));
    EXPECT_STEP(&s, retry + 4, PEER_ACT(REMOTE_PEER_DID_DISCONNECT, 'Z'),
                "DIAL_PEER B via h1; PEER Z disconnected; PEER B connecting");
    script_free(&s);
}

static void stale_routes_are_not_dialled(void)
{
    shoal_conn_config cfg = with_max_peers(1);
    script s;
    script_init(&s, &cfg);
    script_connect_hub(&s, 0, 0);
    script_connect_peer(&s, 10, 'D', 0);
    script_step(&s, 20, act_peer(SHOAL_ACT_PEER_PROTECT, 'B', SHOAL_CONN_NO_HUB));
    script_step(&s, 20, ANNOUNCE('B', 0));
    /* 60 s later B's only announce is too old to dial on. */
    script_step(&s, 60020, PEER_ACT(REMOTE_PEER_DID_DISCONNECT, 'D'));
    CHECK_HAS(&s, "PEER D disconnected");
    CHECK_LACKS(&s, "DIAL_PEER");
    script_free(&s);
}

int main(void)
{
    RUN(an_announced_peer_is_dialled_through_its_hub);
    RUN(at_most_max_peers_are_held);
    RUN(a_busy_peer_frees_its_slot_without_a_failure);
    RUN(one_feed_is_dialled_once_across_hubs);
    RUN(peers_wait_for_their_hub_to_connect);
    RUN(fewest_failures_are_dialled_first);
    RUN(fresher_announces_are_dialled_first);
    RUN(the_healthiest_hub_carries_the_dial);
    RUN(stale_routes_are_not_dialled);
    return harness_finish();
}

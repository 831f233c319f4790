/* Forgetting: a peer that is not connected is dropped once it has been silent for forget_after
 * (found by a scan that runs at most every forget_after / 8), once it has failed forget_failures
 * times in a row and been silent for an announce period, or once it leaves its last hub.
 * Connected and protected peers are kept. */
#include "script.h"

/* One hub, and a protected peer Z holding the only slot, so other peers stay undialled. */
static void setup(script *s)
{
    shoal_conn_config cfg;
    shoal_conn_config_default(&cfg);
    cfg.max_peers = 1;
    cfg.inbound_when_full = true; /* so that peers can fail to dial us */
    script_init(s, &cfg);
    script_connect_hub(s, 0, 0);
    script_step(s, 0, PEER_ACT(PEER_PROTECT, 'Z'));
    script_connect_peer(s, 0, 'Z', 0);
}

static void a_silent_peer_is_forgotten(void)
{
    script s;
    setup(&s);
    script_step(&s, 10, ANNOUNCE('B', 0));
    script_step(&s, 60010, TICK);
    CHECK_HAS(&s, "PEER_FORGOTTEN B disconnected");
    CHECK(peer_of(&s, 'B') == NULL);
    CHECK_EQ_INT(shoal_conn_get_stats(s.c)->forgotten, 1);
    /* Z is connected and silent as long: kept. */
    CHECK(peer_of(&s, 'Z') != NULL);
    script_free(&s);
}

static void forgetting_scans_at_most_every_eighth_of_forget_after(void)
{
    script s;
    setup(&s);
    script_step(&s, 10, ANNOUNCE('B', 0));
    /* This scan finds B not silent long enough, and sets the next no sooner than 7.5 s on. */
    script_step(&s, 60009, TICK);
    CHECK_LACKS(&s, "PEER_FORGOTTEN");
    script_step(&s, 67508, TICK);
    CHECK_LACKS(&s, "PEER_FORGOTTEN");
    script_step(&s, 67509, TICK);
    CHECK_HAS(&s, "PEER_FORGOTTEN B disconnected");
    script_free(&s);
}

static void an_announce_keeps_a_peer(void)
{
    script s;
    setup(&s);
    script_step(&s, 10, ANNOUNCE('B', 0));
    script_step(&s, 50000, ANNOUNCE('B', 0));
    script_step(&s, 60010, TICK);
    CHECK_LACKS(&s, "PEER_FORGOTTEN");
    script_free(&s);
}

static void a_hopeless_peer_is_forgotten(void)
{
    script s;
    setup(&s);
    script_step(&s, 10, ANNOUNCE('B', 0));
    for (int i = 0; i < 5; i++) {
        script_step(&s, 20 + i, act_peer(SHOAL_ACT_REMOTE_PEER_CONNECTING, 'B', 0));
        script_step(&s, 20 + i, PEER_ACT(REMOTE_PEER_CONNECTION_FAILED, 'B'));
    }
    CHECK_EQ_INT(peer_of(&s, 'B')->failures, 5);
    /* Failing, and silent for one announce period (13 s + 2 s of jitter). */
    script_step(&s, 100, TICK);
    CHECK_LACKS(&s, "PEER_FORGOTTEN");
    script_step(&s, 15010, TICK);
    CHECK_HAS(&s, "PEER_FORGOTTEN B disconnected");
    script_free(&s);
}

static void a_fresh_announce_after_failures_keeps_a_peer(void)
{
    script s;
    setup(&s);
    for (int i = 0; i < 5; i++) {
        script_step(&s, 20 + i, act_peer(SHOAL_ACT_REMOTE_PEER_CONNECTING, 'B', 0));
        script_step(&s, 20 + i, PEER_ACT(REMOTE_PEER_CONNECTION_FAILED, 'B'));
    }
    script_step(&s, 50, ANNOUNCE('B', 0));
    script_step(&s, 15010, TICK);
    CHECK_LACKS(&s, "PEER_FORGOTTEN");
    CHECK_EQ_INT(peer_of(&s, 'B')->failures, 5);
    script_free(&s);
}

static void leaving_the_last_hub_forgets_at_once(void)
{
    script s;
    setup(&s);
    script_connect_hub(&s, 0, 1);
    script_step(&s, 10, ANNOUNCE('B', 0));
    script_step(&s, 11, ANNOUNCE('B', 1));
    EXPECT_STEP(&s, 20, act_peer(SHOAL_ACT_REMOTE_PEER_DID_LEAVE, 'B', 0), "PEER B disconnected");
    EXPECT_STEP(&s, 30, act_peer(SHOAL_ACT_REMOTE_PEER_DID_LEAVE, 'B', 1),
                "PEER_FORGOTTEN B disconnected");
    CHECK(peer_of(&s, 'B') == NULL);
    /* Leaving is a no-op for strangers. */
    EXPECT_STEP(&s, 40, act_peer(SHOAL_ACT_REMOTE_PEER_DID_LEAVE, 'Q', 0), "");
    script_free(&s);
}

static void protected_peers_are_never_forgotten(void)
{
    script s;
    setup(&s);
    script_step(&s, 10, ANNOUNCE('B', 0));
    script_step(&s, 10, PEER_ACT(PEER_PROTECT, 'B'));
    script_step(&s, 100000, TICK);
    CHECK(peer_of(&s, 'B') != NULL);
    EXPECT_STEP(&s, 100001, PEER_ACT(PEER_UNPROTECT, 'B'), "PEER B disconnected");
    script_step(&s, 100002, TICK);
    CHECK_HAS(&s, "PEER_FORGOTTEN B disconnected");
    script_free(&s);
}

static void forgetting_is_bounded_per_tick(void)
{
    script s;
    setup(&s);
    for (int i = 0; i < 300; i++) {
        shoal_conn_action a = ANNOUNCE('B', 0);
        a.feed[0] = (uint8_t)(i & 0xff);
        a.feed[1] = (uint8_t)(i >> 8);
        script_step(&s, 10, a);
    }
    CHECK_EQ_INT(shoal_conn_peer_count(s.c), 301);
    script_step(&s, 70000, TICK);
    CHECK_EQ_INT(shoal_conn_peer_count(s.c), 301 - 256);
    script_step(&s, 70001, TICK);
    CHECK_EQ_INT(shoal_conn_peer_count(s.c), 1);
    script_free(&s);
}

int main(void)
{
    RUN(a_silent_peer_is_forgotten);
    RUN(forgetting_scans_at_most_every_eighth_of_forget_after);
    RUN(an_announce_keeps_a_peer);
    RUN(a_hopeless_peer_is_forgotten);
    RUN(a_fresh_announce_after_failures_keeps_a_peer);
    RUN(leaving_the_last_hub_forgets_at_once);
    RUN(protected_peers_are_never_forgotten);
    RUN(forgetting_is_bounded_per_tick);
    return harness_finish();
}

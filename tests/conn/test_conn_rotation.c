/* Rotation: a connection past its (jittered) lifetime makes room for a waiting candidate, one per
 * tick; never a protected one, never without a candidate, and the rotated peer rests. */
#include "script.h"

static void setup(script *s)
{
    shoal_conn_config cfg;
    shoal_conn_config_default(&cfg);
    cfg.max_peers = 1;
    script_init(s, &cfg);
    script_connect_hub(s, 0, 0);
    script_connect_peer(s, 0, 'B', 0);
}

static void a_long_connection_rotates_out_for_a_waiting_peer(void)
{
    script s;
    setup(&s);
    shoal_time rotate_at = peer_of(&s, 'B')->rotate_at;
    CHECK(rotate_at >= 27 * 60000 && rotate_at < 33 * 60000);
    script_step(&s, rotate_at - 1000, ANNOUNCE('C', 0));
    script_step(&s, rotate_at - 1, TICK);
    CHECK_LACKS(&s, "CLOSE_PEER");
    script_step(&s, rotate_at, TICK);
    CHECK_HAS(&s, "CLOSE_PEER B rotated; DIAL_PEER C via h0");
    CHECK_HAS(&s, "PEER B disconnecting");
    CHECK_HAS(&s, "PEER C connecting");
    CHECK_EQ_INT(peer_of(&s, 'B')->backoff_until, rotate_at + 10 * 60000);
    CHECK_EQ_INT(shoal_conn_get_stats(s.c)->rotations, 1);
    EXPECT_STEP(&s, rotate_at + 5, PEER_ACT(REMOTE_PEER_DID_DISCONNECT, 'B'),
                "PEER B disconnected");
    CHECK_EQ_INT(peer_of(&s, 'B')->backoff_until, rotate_at + 10 * 60000);
    script_free(&s);
}

static void without_a_waiting_peer_nothing_rotates(void)
{
    script s;
    setup(&s);
    shoal_time rotate_at = peer_of(&s, 'B')->rotate_at;
    /* C was announced, but too long ago to be dialled: it is no candidate. */
    script_step(&s, rotate_at - 70000, PEER_ACT(PEER_PROTECT, 'C'));
    script_step(&s, rotate_at - 70000, ANNOUNCE('C', 0));
    script_step(&s, rotate_at + 1, TICK);
    CHECK_LACKS(&s, "CLOSE_PEER");
    CHECK_EQ_INT(shoal_conn_get_stats(s.c)->rotations, 0);
    script_free(&s);
}

static void a_waiting_rotation_happens_when_a_candidate_announces(void)
{
    script s;
    setup(&s);
    s.show_ticks = true;
    shoal_time rotate_at = peer_of(&s, 'B')->rotate_at;
    script_step(&s, rotate_at + 1, TICK);
    CHECK_LACKS(&s, "CLOSE_PEER");
    /* No polling meanwhile: the next tick asked for is the heartbeat or the next announce. */
    CHECK(s.tick_at > rotate_at + 5000);
    script_step(&s, rotate_at + 2, ANNOUNCE('C', 0));
    CHECK_HAS(&s, "CLOSE_PEER B rotated; DIAL_PEER C via h0");
    script_free(&s);
}

static void protected_connections_never_rotate(void)
{
    script s;
    setup(&s);
    script_step(&s, 1, PEER_ACT(PEER_PROTECT, 'B'));
    shoal_time rotate_at = peer_of(&s, 'B')->rotate_at;
    script_step(&s, rotate_at, ANNOUNCE('C', 0));
    script_step(&s, rotate_at + 1, TICK);
    CHECK_LACKS(&s, "CLOSE_PEER");
    script_free(&s);
}

static void one_rotation_per_tick(void)
{
    shoal_conn_config cfg;
    shoal_conn_config_default(&cfg);
    cfg.max_peers = 2;
    script s;
    script_init(&s, &cfg);
    script_connect_hub(&s, 0, 0);
    script_connect_peer(&s, 0, 'B', 0);
    script_connect_peer(&s, 0, 'C', 0);
    shoal_time late = 34 * 60000;
    script_step(&s, late, ANNOUNCE('D', 0));
    script_step(&s, late, ANNOUNCE('E', 0));
    script_step(&s, late + 1, TICK);
    CHECK_EQ_INT(shoal_conn_get_stats(s.c)->rotations, 1);
    script_step(&s, late + 2, TICK);
    CHECK_EQ_INT(shoal_conn_get_stats(s.c)->rotations, 2);
    script_free(&s);
}

static void the_grace_period_protects_new_connections_from_rotation(void)
{
    shoal_conn_config cfg;
    shoal_conn_config_default(&cfg);
    cfg.max_peers = 1;
    cfg.lifetime = 1000; /* shorter than the 60 s grace */
    script s;
    script_init(&s, &cfg);
    script_connect_hub(&s, 0, 0);
    script_connect_peer(&s, 0, 'B', 0);
    script_step(&s, 30000, ANNOUNCE('C', 0));
    script_step(&s, 30001, TICK);
    CHECK_LACKS(&s, "CLOSE_PEER");
    script_step(&s, 59000, ANNOUNCE('C', 0));
    script_step(&s, 60000, TICK);
    CHECK_HAS(&s, "CLOSE_PEER B rotated");
    script_free(&s);
}

int main(void)
{
    RUN(a_long_connection_rotates_out_for_a_waiting_peer);
    RUN(without_a_waiting_peer_nothing_rotates);
    RUN(a_waiting_rotation_happens_when_a_candidate_announces);
    RUN(protected_connections_never_rotate);
    RUN(one_rotation_per_tick);
    RUN(the_grace_period_protects_new_connections_from_rotation);
    return harness_finish();
}

/* Backoff after failures: the three formulas, shoal's jitter and cap, and the reducer waiting
 * it out before it dials again. */
#include "script.h"

static void ssb_conn_formula_is_cubic_and_uncapped(void)
{
    shoal_conn_config cfg;
    shoal_conn_config_default(&cfg);
    cfg.backoff = SHOAL_BACKOFF_SSB_CONN;
    CHECK_EQ_INT(shoal_conn_backoff(&cfg, 0, 0.5), 0);
    CHECK_EQ_INT(shoal_conn_backoff(&cfg, 1, 0.5), 14000);
    CHECK_EQ_INT(shoal_conn_backoff(&cfg, 2, 0.5), 84000);
    CHECK_EQ_INT(shoal_conn_backoff(&cfg, 3, 0.5), 274000);
    CHECK_EQ_INT(shoal_conn_backoff(&cfg, 64, 0.5), 4000 + 262144LL * 10000);
    CHECK_EQ_INT(shoal_conn_backoff(&cfg, 1000, 0.5), 4000 + 262144LL * 10000);
}

static void libp2p_formula_is_quadratic_capped_at_5_min(void)
{
    shoal_conn_config cfg;
    shoal_conn_config_default(&cfg);
    cfg.backoff = SHOAL_BACKOFF_LIBP2P;
    CHECK_EQ_INT(shoal_conn_backoff(&cfg, 1, 0.5), 6000);
    CHECK_EQ_INT(shoal_conn_backoff(&cfg, 2, 0.5), 9000);
    CHECK_EQ_INT(shoal_conn_backoff(&cfg, 17, 0.5), 294000);
    CHECK_EQ_INT(shoal_conn_backoff(&cfg, 18, 0.5), 300000);
    CHECK_EQ_INT(shoal_conn_backoff(&cfg, 4000000000u, 0.5), 300000);
}

static void shoal_formula_doubles_with_equal_jitter_up_to_its_cap(void)
{
    shoal_conn_config cfg;
    shoal_conn_config_default(&cfg);
    CHECK_EQ_INT(shoal_conn_backoff(&cfg, 1, 0.0), 5000);
    CHECK_EQ_INT(shoal_conn_backoff(&cfg, 1, 0.999999), 9999);
    CHECK_EQ_INT(shoal_conn_backoff(&cfg, 2, 0.0), 10000);
    CHECK_EQ_INT(shoal_conn_backoff(&cfg, 3, 0.0), 20000);
    CHECK_EQ_INT(shoal_conn_backoff(&cfg, 6, 0.0), 160000);
    CHECK_EQ_INT(shoal_conn_backoff(&cfg, 7, 0.0), 300000); /* 640 s, capped at 600 s */
    CHECK_EQ_INT(shoal_conn_backoff(&cfg, 4000000000u, 0.5), 450000);
}

static void a_failed_peer_is_not_dialled_before_its_backoff_ends(void)
{
    script s;
    script_init(&s, NULL);
    script_connect_hub(&s, 0, 0);
    script_step(&s, 10, ANNOUNCE('B', 0));
    EXPECT_STEP(&s, 20, PEER_ACT(REMOTE_PEER_CONNECTION_FAILED, 'B'), "PEER B disconnected");
    shoal_time until = peer_of(&s, 'B')->backoff_until;
    CHECK(until >= 20 + 5000 && until < 20 + 10000);
    script_step(&s, until - 1, ANNOUNCE('B', 0));
    CHECK_LACKS(&s, "DIAL_PEER");
    /* The schedule asks for a tick when the backoff ends, and the tick dials. */
    CHECK(s.tick_at <= until);
    script_step(&s, until, TICK);
    CHECK_HAS(&s, "DIAL_PEER B via h0");
    script_free(&s);
}

static void backoff_grows_with_each_failure_and_success_resets_it(void)
{
    script s;
    script_init(&s, NULL);
    script_connect_hub(&s, 0, 0);
    shoal_time now = 10;
    script_step(&s, now, ANNOUNCE('B', 0));
    for (uint32_t f = 1; f <= 4; f++) {
        script_step(&s, now, PEER_ACT(REMOTE_PEER_CONNECTION_FAILED, 'B'));
        const shoal_conn_peer *b = peer_of(&s, 'B');
        shoal_time full = 10000LL << (f - 1);
        CHECK_EQ_INT(b->failures, f);
        CHECK(b->backoff_until - now >= full / 2 && b->backoff_until - now < full);
        now = b->backoff_until;
        script_step(&s, now, ANNOUNCE('B', 0)); /* keeps it fresh; the tick below dials */
        script_step(&s, now, TICK);
        CHECK_EQ_INT(peer_of(&s, 'B')->state, SHOAL_PEER_CONNECTING);
    }
    script_step(&s, now, PEER_ACT(REMOTE_PEER_CONNECTION_SUCCEEDED, 'B'));
    CHECK_EQ_INT(peer_of(&s, 'B')->failures, 0);
    CHECK_EQ_INT(peer_of(&s, 'B')->total_failures, 4);
    CHECK_EQ_INT(peer_of(&s, 'B')->successes, 1);
    script_free(&s);
}

static void a_peer_that_closes_a_working_connection_is_redialled_after_a_pause(void)
{
    script s;
    script_init(&s, NULL);
    script_connect_hub(&s, 0, 0);
    script_connect_peer(&s, 10, 'B', 0);
    EXPECT_STEP(&s, 1000, PEER_ACT(REMOTE_PEER_DID_DISCONNECT, 'B'), "PEER B disconnected");
    CHECK_EQ_INT(peer_of(&s, 'B')->backoff_until, 6000);
    CHECK_EQ_INT(peer_of(&s, 'B')->failures, 0);
    CHECK_EQ_INT(peer_of(&s, 'B')->connected_total, 990);
    script_free(&s);
}

int main(void)
{
    RUN(ssb_conn_formula_is_cubic_and_uncapped);
    RUN(libp2p_formula_is_quadratic_capped_at_5_min);
    RUN(shoal_formula_doubles_with_equal_jitter_up_to_its_cap);
    RUN(a_failed_peer_is_not_dialled_before_its_backoff_ends);
    RUN(backoff_grows_with_each_failure_and_success_resets_it);
    RUN(a_peer_that_closes_a_working_connection_is_redialled_after_a_pause);
    return harness_finish();
}

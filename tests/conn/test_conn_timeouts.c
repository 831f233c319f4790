/* Each attempt has a deadline: 30 s for WebRTC, 10 s for TCP. A stuck attempt ends as a failure. */
#include "script.h"

static void a_stuck_rtc_dial_fails_after_30_s(void)
{
    script s;
    script_init(&s, NULL);
    script_connect_hub(&s, 0, 0);
    script_step(&s, 10, ANNOUNCE('B', 0));
    script_step(&s, 30009, TICK);
    CHECK_LACKS(&s, "PEER B");
    script_step(&s, 30010, TICK);
    CHECK_HAS(&s, "CLOSE_PEER B timeout");
    CHECK_HAS(&s, "PEER B disconnected");
    const shoal_conn_peer *b = peer_of(&s, 'B');
    CHECK_EQ_INT(b->failures, 1);
    CHECK_EQ_ERR(b->last_error, SHOAL_E_CONN_TIMEOUT);
    CHECK(b->backoff_until > 30010);
    CHECK_EQ_INT(shoal_conn_get_stats(s.c)->timeouts, 1);
    script_free(&s);
}

static void a_stuck_inbound_tcp_attempt_fails_after_10_s(void)
{
    script s;
    script_init(&s, NULL);
    shoal_conn_action a = act_peer(SHOAL_ACT_REMOTE_PEER_CONNECTING, 'B', SHOAL_CONN_NO_HUB);
    a.transport = SHOAL_TRANSPORT_NET;
    EXPECT_STEP(&s, 0, a, "PEER B connecting");
    CHECK(peer_of(&s, 'B')->inbound);
    EXPECT_STEP(&s, 10000, TICK, "CLOSE_PEER B timeout; PEER B disconnected");
    script_free(&s);
}

static void the_schedule_wakes_for_the_deadline(void)
{
    script s;
    script_init(&s, NULL);
    shoal_conn_config cfg;
    shoal_conn_config_default(&cfg);
    cfg.timeout_net = 500;
    script_step(&s, 0, act_config(&cfg));
    shoal_conn_action a = act_peer(SHOAL_ACT_REMOTE_PEER_CONNECTING, 'B', SHOAL_CONN_NO_HUB);
    a.transport = SHOAL_TRANSPORT_NET;
    script_step(&s, 0, a);
    CHECK_EQ_INT(s.tick_at, 500);
    script_free(&s);
}

static void success_in_time_clears_the_deadline(void)
{
    script s;
    script_init(&s, NULL);
    script_connect_hub(&s, 0, 0);
    script_connect_peer(&s, 10, 'B', 0);
    script_step(&s, 40000, TICK);
    CHECK_LACKS(&s, "PEER B");
    CHECK_EQ_INT(peer_of(&s, 'B')->state, SHOAL_PEER_CONNECTED);
    script_free(&s);
}

/* Why each attempt failed or each connection broke is kept, until a connection succeeds. */
static void the_last_failure_says_why(void)
{
    script s;
    script_init(&s, NULL);
    script_connect_hub(&s, 0, 0);
    script_step(&s, 10, ANNOUNCE('B', 0));
    shoal_conn_action failed = act_peer(SHOAL_ACT_REMOTE_PEER_CONNECTION_FAILED, 'B', 0);
    failed.err = SHOAL_E_RTC_ICE_FAILED;
    EXPECT_STEP(&s, 20, failed, "PEER B disconnected");
    CHECK_EQ_ERR(peer_of(&s, 'B')->last_error, SHOAL_E_RTC_ICE_FAILED);
    script_connect_peer(&s, 60000, 'B', 0);
    CHECK_EQ_INT(peer_of(&s, 'B')->state, SHOAL_PEER_CONNECTED);
    CHECK_EQ_ERR(peer_of(&s, 'B')->last_error, SHOAL_OK);
    shoal_conn_action gone = act_peer(SHOAL_ACT_REMOTE_PEER_DID_DISCONNECT, 'B', 0);
    gone.err = SHOAL_E_RTC_GONE;
    script_step(&s, 70000, gone);
    CHECK_EQ_INT(peer_of(&s, 'B')->state, SHOAL_PEER_DISCONNECTED);
    CHECK_EQ_ERR(peer_of(&s, 'B')->last_error, SHOAL_E_RTC_GONE);
    CHECK_EQ_INT(peer_of(&s, 'B')->failures, 0); /* a broken connection is no failed attempt */
    script_free(&s);
}

int main(void)
{
    RUN(a_stuck_rtc_dial_fails_after_30_s);
    RUN(a_stuck_inbound_tcp_attempt_fails_after_10_s);
    RUN(the_schedule_wakes_for_the_deadline);
    RUN(success_in_time_clears_the_deadline);
    RUN(the_last_failure_says_why);
    return harness_finish();
}

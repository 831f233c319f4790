/* A network change or a wake-up force-closes every connection, forgives the failures of the old
 * network and dials every hub at once. After a network change (not a wake-up) a WebRTC
 * connection is kept for timeout_restart instead: its ICE is restarted through its hub once the
 * hub is back, and it is closed as the change's only if the restart is not done in time. */
#include "script.h"

static void setup(script *s, const shoal_conn_config *cfg)
{
    script_init(s, cfg);
    script_connect_hub(s, 0, 0);
    script_connect_hub(s, 0, 1);
    script_connect_peer(s, 10, 'B', 0);   /* connected */
    script_step(s, 20, ANNOUNCE('C', 1)); /* connecting */
    script_step(s, 30, ANNOUNCE('D', 0)); /* will fail */
    script_step(s, 40, PEER_ACT(REMOTE_PEER_CONNECTION_FAILED, 'D'));
    script_step(s, 50, act_hub(SHOAL_ACT_HUB_DID_DISCONNECT, 1));
}

/* What every reset does, whatever it does with B. */
static void hubs_redialled_and_failures_forgiven(script *s)
{
    CHECK_HAS(s, "CLOSE_PEER C network-reset");
    CHECK_HAS(s, "DISCONNECT_HUB h0");
    CHECK_LACKS(s, "DISCONNECT_HUB h1"); /* it was down already */
    CHECK_HAS(s, "CONNECT_TO_HUB h0");
    CHECK_HAS(s, "CONNECT_TO_HUB h1");
    CHECK_EQ_INT(peer_of(s, 'D')->failures, 0);
    CHECK_EQ_INT(peer_of(s, 'D')->backoff_until, 0);
    CHECK_EQ_INT(shoal_conn_hub_get(s->c, 0)->state, SHOAL_HUB_CONNECTING);
    CHECK_EQ_INT(shoal_conn_get_stats(s->c)->resets, 1);
    CHECK_LACKS(s, "RESTART_PEER"); /* no hub is back yet to signal through */
}

static void everything_is_closed_and_hubs_redialled(shoal_conn_act_type type,
                                                    const shoal_conn_config *cfg)
{
    script s;
    setup(&s, cfg);
    CHECK(peer_of(&s, 'D')->backoff_until > 60);
    script_step(&s, 60, act(type));
    CHECK_HAS(&s, "CLOSE_PEER B network-reset");
    hubs_redialled_and_failures_forgiven(&s);
    CHECK_EQ_INT(shoal_conn_slots_used(s.c), 0);
    CHECK_EQ_INT(peer_of(&s, 'B')->state, SHOAL_PEER_DISCONNECTED);
    CHECK_EQ_INT(peer_of(&s, 'B')->connected_total, 50);
    CHECK_EQ_INT(peer_of(&s, 'B')->restart_by, 0);
    /* A late close report changes nothing; the hubs coming back bring the dials back. */
    EXPECT_STEP(&s, 70, PEER_ACT(REMOTE_PEER_DID_DISCONNECT, 'B'), "");
    script_step(&s, 80, act_hub(SHOAL_ACT_HUB_CONNECTION_SUCCEEDED, 0));
    CHECK_HAS(&s, "DIAL_PEER");
    CHECK_LACKS(&s, "RESTART_PEER");
    script_free(&s);
}

static void system_did_wake(void)
{
    everything_is_closed_and_hubs_redialled(SHOAL_ACT_SYSTEM_DID_WAKE, NULL);
}

static void no_restarts_when_turned_off(void)
{
    shoal_conn_config cfg;
    shoal_conn_config_default(&cfg);
    cfg.timeout_restart = 0;
    everything_is_closed_and_hubs_redialled(SHOAL_ACT_NETWORK_DID_RECONNECT, &cfg);
}

/* B's connection is kept; its restart goes out when its own hub is back (not another), once. */
static void kept_and_restarted_through_its_hub(script *s)
{
    setup(s, NULL);
    script_step(s, 60, act(SHOAL_ACT_NETWORK_DID_RECONNECT));
    CHECK_LACKS(s, "CLOSE_PEER B");
    hubs_redialled_and_failures_forgiven(s);
    CHECK_EQ_INT(shoal_conn_slots_used(s->c), 1);
    CHECK_EQ_INT(peer_of(s, 'B')->state, SHOAL_PEER_CONNECTED);
    CHECK_EQ_INT(peer_of(s, 'B')->restart_by, 60 + SHOAL_SECONDS(15));
    CHECK(!peer_of(s, 'B')->restart_asked);
    CHECK_EQ_INT(s->tick_at, 60 + SHOAL_SECONDS(15));
    script_step(s, 70, act_hub(SHOAL_ACT_HUB_CONNECTION_SUCCEEDED, 1));
    CHECK_LACKS(s, "RESTART_PEER");
    script_step(s, 80, act_hub(SHOAL_ACT_HUB_CONNECTION_SUCCEEDED, 0));
    CHECK_HAS(s, "RESTART_PEER B via h0");
    CHECK(peer_of(s, 'B')->restart_asked);
    script_step(s, 90, act_hub(SHOAL_ACT_HUB_DID_DISCONNECT, 0));
    script_step(s, 100, act_hub(SHOAL_ACT_HUB_CONNECTION_SUCCEEDED, 0));
    CHECK_LACKS(s, "RESTART_PEER");
}

static void a_restart_keeps_the_connection(void)
{
    script s;
    kept_and_restarted_through_its_hub(&s);
    EXPECT_STEP(&s, 500, PEER_ACT(REMOTE_PEER_RESTARTED, 'B'), "PEER B connected");
    CHECK_EQ_INT(peer_of(&s, 'B')->restart_by, 0);
    CHECK_EQ_INT(shoal_conn_get_stats(s.c)->restarts, 1);
    CHECK_EQ_INT(peer_of(&s, 'B')->connected_since, 10); /* one connection all along */
    /* Nothing is closed at the old deadline; a second report changes nothing. */
    script_step(&s, 60 + SHOAL_SECONDS(15), TICK);
    CHECK_LACKS(&s, "CLOSE_PEER");
    EXPECT_STEP(&s, 60 + SHOAL_SECONDS(16), PEER_ACT(REMOTE_PEER_RESTARTED, 'B'), "");
    CHECK_EQ_INT(shoal_conn_get_stats(s.c)->restarts, 1);
    script_free(&s);
}

static void a_restart_not_done_in_time_closes(void)
{
    script s;
    kept_and_restarted_through_its_hub(&s);
    script_step(&s, 60 + SHOAL_SECONDS(15) - 1, TICK);
    CHECK_LACKS(&s, "CLOSE_PEER");
    script_step(&s, 60 + SHOAL_SECONDS(15), TICK);
    CHECK_HAS(&s, "CLOSE_PEER B network-reset");
    CHECK_LACKS(&s, "DIAL_PEER B");
    CHECK_EQ_INT(peer_of(&s, 'B')->state, SHOAL_PEER_DISCONNECTING);
    CHECK_EQ_INT(peer_of(&s, 'B')->failures, 0); /* the network's doing, not the peer's */
    CHECK_EQ_INT(peer_of(&s, 'B')->restart_by, 0);
    CHECK_EQ_INT(shoal_conn_get_stats(s.c)->restarts, 0);
    /* ... and once its close is told, it is dialled again at once, afresh */
    script_step(&s, 60 + SHOAL_SECONDS(15) + 5, PEER_ACT(REMOTE_PEER_DID_DISCONNECT, 'B'));
    CHECK_HAS(&s, "DIAL_PEER B via h0");
    CHECK_EQ_INT(peer_of(&s, 'B')->state, SHOAL_PEER_CONNECTING);
    CHECK_EQ_INT(peer_of(&s, 'B')->failures, 0);
    script_free(&s);
}

/* A restart under way ends with the connection, whoever ends it. */
static void a_connection_that_ends_drops_its_restart(void)
{
    script s;
    kept_and_restarted_through_its_hub(&s);
    script_step(&s, 200, PEER_ACT(REMOTE_PEER_DID_DISCONNECT, 'B'));
    CHECK_EQ_INT(peer_of(&s, 'B')->restart_by, 0);
    CHECK(!peer_of(&s, 'B')->restart_asked);
    EXPECT_STEP(&s, 300, PEER_ACT(REMOTE_PEER_RESTARTED, 'B'), "");
    script_free(&s);
}

/* A connection that cannot restart (a plain webrtc-swarm peer's) is closed by the negotiation
 * core as the network change's: it is dialled again at once, not after reconnect_delay. */
static void a_connection_that_cannot_restart_is_dialled_again(void)
{
    script s;
    kept_and_restarted_through_its_hub(&s);
    shoal_conn_action gone = PEER_ACT(REMOTE_PEER_DID_DISCONNECT, 'B');
    gone.err = SHOAL_E_NETWORK_RESET;
    script_step(&s, 200, gone);
    CHECK_HAS(&s, "DIAL_PEER B via h0");
    CHECK_EQ_INT(peer_of(&s, 'B')->failures, 0);
    script_free(&s);
}

/* A direct TCP connection has no ICE to restart: it is closed as before. */
static void direct_connections_are_closed(void)
{
    script s;
    script_init(&s, NULL);
    script_connect_hub(&s, 0, 0);
    shoal_conn_action dial = PEER_ACT(PEER_DIAL, 'N');
    dial.transport = SHOAL_TRANSPORT_NET;
    script_step(&s, 10, dial);
    script_step(&s, 20, PEER_ACT(REMOTE_PEER_CONNECTION_SUCCEEDED, 'N'));
    CHECK_EQ_INT(peer_of(&s, 'N')->state, SHOAL_PEER_CONNECTED);
    script_step(&s, 30, act(SHOAL_ACT_NETWORK_DID_RECONNECT));
    CHECK_HAS(&s, "CLOSE_PEER N network-reset");
    CHECK_EQ_INT(peer_of(&s, 'N')->restart_by, 0);
    script_free(&s);
}

/* A second change while a restart is under way gives it a new deadline and a new restart. */
static void a_second_change_restarts_again(void)
{
    script s;
    kept_and_restarted_through_its_hub(&s);
    script_step(&s, 1000, act(SHOAL_ACT_NETWORK_DID_RECONNECT));
    CHECK_LACKS(&s, "CLOSE_PEER B");
    CHECK_EQ_INT(peer_of(&s, 'B')->restart_by, 1000 + SHOAL_SECONDS(15));
    script_step(&s, 1100, act_hub(SHOAL_ACT_HUB_CONNECTION_SUCCEEDED, 0));
    CHECK_HAS(&s, "RESTART_PEER B via h0");
    script_free(&s);
}

int main(void)
{
    RUN(system_did_wake);
    RUN(no_restarts_when_turned_off);
    RUN(a_restart_keeps_the_connection);
    RUN(a_restart_not_done_in_time_closes);
    RUN(a_connection_that_ends_drops_its_restart);
    RUN(a_connection_that_cannot_restart_is_dialled_again);
    RUN(direct_connections_are_closed);
    RUN(a_second_change_restarts_again);
    return harness_finish();
}

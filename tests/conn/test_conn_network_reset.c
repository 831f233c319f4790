/* A network change or a wake-up force-closes every connection, forgives the failures of the old
 * network and dials every hub at once. */
#include "script.h"

static void setup(script *s)
{
    script_init(s, NULL);
    script_connect_hub(s, 0, 0);
    script_connect_hub(s, 0, 1);
    script_connect_peer(s, 10, 'B', 0);   /* connected */
    script_step(s, 20, ANNOUNCE('C', 1)); /* connecting */
    script_step(s, 30, ANNOUNCE('D', 0)); /* will fail */
    script_step(s, 40, PEER_ACT(REMOTE_PEER_CONNECTION_FAILED, 'D'));
    script_step(s, 50, act_hub(SHOAL_ACT_HUB_DID_DISCONNECT, 1));
}

static void everything_is_closed_and_hubs_redialled(shoal_conn_act_type type)
{
    script s;
    setup(&s);
    CHECK(peer_of(&s, 'D')->backoff_until > 60);
    script_step(&s, 60, act(type));
    CHECK_HAS(&s, "CLOSE_PEER B network-reset");
    CHECK_HAS(&s, "CLOSE_PEER C network-reset");
    CHECK_HAS(&s, "DISCONNECT_HUB h0");
    CHECK_LACKS(&s, "DISCONNECT_HUB h1"); /* it was down already */
    CHECK_HAS(&s, "CONNECT_TO_HUB h0");
    CHECK_HAS(&s, "CONNECT_TO_HUB h1");
    CHECK_EQ_INT(shoal_conn_slots_used(s.c), 0);
    CHECK_EQ_INT(peer_of(&s, 'B')->state, SHOAL_PEER_DISCONNECTED);
    CHECK_EQ_INT(peer_of(&s, 'B')->connected_total, 50);
    CHECK_EQ_INT(peer_of(&s, 'D')->failures, 0);
    CHECK_EQ_INT(peer_of(&s, 'D')->backoff_until, 0);
    CHECK_EQ_INT(shoal_conn_hub_get(s.c, 0)->state, SHOAL_HUB_CONNECTING);
    CHECK_EQ_INT(shoal_conn_get_stats(s.c)->resets, 1);
    /* A late close report changes nothing; the hubs coming back bring the dials back. */
    EXPECT_STEP(&s, 70, PEER_ACT(REMOTE_PEER_DID_DISCONNECT, 'B'), "");
    script_step(&s, 80, act_hub(SHOAL_ACT_HUB_CONNECTION_SUCCEEDED, 0));
    CHECK_HAS(&s, "DIAL_PEER");
    script_free(&s);
}

static void network_did_reconnect(void)
{
    everything_is_closed_and_hubs_redialled(SHOAL_ACT_NETWORK_DID_RECONNECT);
}

static void system_did_wake(void)
{
    everything_is_closed_and_hubs_redialled(SHOAL_ACT_SYSTEM_DID_WAKE);
}

int main(void)
{
    RUN(network_did_reconnect);
    RUN(system_did_wake);
    return harness_finish();
}

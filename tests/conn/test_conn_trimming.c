/* Trimming: with inbound_when_full, inbound connections may push us above max_peers; then, one
 * per tick, the newest connection that is past its grace period, unprotected and not downloading
 * is cut. (By default a full manager turns inbound peers away: test_conn_admission.c.) */
#include "script.h"

static void setup(script *s)
{
    shoal_conn_config cfg;
    shoal_conn_config_default(&cfg);
    cfg.max_peers = 2;
    cfg.inbound_when_full = true;
    script_init(s, &cfg);
    script_connect_hub(s, 0, 0);
    script_connect_peer(s, 0, 'B', 0);
    script_connect_peer(s, 1000, 'C', 0);
}

static shoal_conn_action inbound(char letter)
{
    shoal_conn_action a =
        act_peer(SHOAL_ACT_REMOTE_PEER_CLIENT_DID_CONNECT, letter, SHOAL_CONN_NO_HUB);
    a.transport = SHOAL_TRANSPORT_NET;
    return a;
}

static void inbound_connections_are_accepted_then_trimmed_newest_first(void)
{
    script s;
    setup(&s);
    EXPECT_STEP(&s, 2000, inbound('D'), "PEER D connected");
    CHECK_EQ_INT(shoal_conn_slots_used(s.c), 3);
    CHECK(peer_of(&s, 'D')->inbound);
    /* D is in its grace period until 62000; C's ended at 61000. */
    script_step(&s, 61500, TICK);
    CHECK_HAS(&s, "CLOSE_PEER C trimmed");
    CHECK_EQ_INT(shoal_conn_slots_used(s.c), 2);
    script_step(&s, 61600, TICK);
    CHECK_LACKS(&s, "CLOSE_PEER");
    CHECK_EQ_INT(shoal_conn_get_stats(s.c)->trims, 1);
    script_free(&s);
}

static void the_newest_past_grace_goes_first(void)
{
    script s;
    setup(&s);
    script_step(&s, 2000, inbound('D'));
    script_step(&s, 70000, TICK);
    CHECK_HAS(&s, "CLOSE_PEER D trimmed");
    script_free(&s);
}

static void protected_and_downloading_peers_are_skipped(void)
{
    script s;
    setup(&s);
    script_step(&s, 2000, inbound('D'));
    script_step(&s, 2000, PEER_ACT(PEER_PROTECT, 'D'));
    script_step(&s, 69900, PEER_ACT(DOWNLOAD_PROGRESS, 'C'));
    script_step(&s, 70000, TICK);
    CHECK_HAS(&s, "CLOSE_PEER B trimmed");
    script_free(&s);
}

static void nothing_is_trimmed_at_or_below_max_peers(void)
{
    script s;
    setup(&s);
    script_step(&s, 200000, TICK);
    CHECK_LACKS(&s, "CLOSE_PEER");
    script_free(&s);
}

int main(void)
{
    RUN(inbound_connections_are_accepted_then_trimmed_newest_first);
    RUN(the_newest_past_grace_goes_first);
    RUN(protected_and_downloading_peers_are_skipped);
    RUN(nothing_is_trimmed_at_or_below_max_peers);
    return harness_finish();
}

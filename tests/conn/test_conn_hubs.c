/* Hubs: every hub in the table is dialled, announced on with webrtc-swarm's cadence, backed off
 * when it fails, timed out when it hangs, and removed only when asked. */
#include "script.h"

#define SUCCEEDED SHOAL_ACT_HUB_CONNECTION_SUCCEEDED
#define FAILED    SHOAL_ACT_HUB_CONNECTION_FAILED

static void an_added_hub_is_dialled_at_once_and_announced_on(void)
{
    script s;
    script_init(&s, NULL);
    EXPECT_STEP(&s, 0, act_add_hub(0), "CONNECT_TO_HUB h0; HUB h0 connecting");
    EXPECT_STEP(&s, 10, act_add_hub(0), "");
    EXPECT_STEP(&s, 100, act_hub(SUCCEEDED, 0), "ANNOUNCE_TO_HUB h0; HUB h0 connected");
    EXPECT_STEP(&s, 200, act_add_hub(1), "CONNECT_TO_HUB h1; HUB h1 connecting");
    EXPECT_STEP(&s, 300, act_hub(SUCCEEDED, 1), "ANNOUNCE_TO_HUB h1; HUB h1 connected");
    CHECK_EQ_INT(shoal_conn_hub_get(s.c, 0)->successes, 1);
    script_free(&s);
}

static void announces_follow_webrtc_swarm_cadence(void)
{
    script s;
    script_init(&s, NULL);
    script_connect_hub(&s, 0, 0);
    /* Alone: every 3-5 s. */
    shoal_time next = shoal_conn_next_announce(s.c);
    CHECK(next >= 3000 && next < 5000);
    EXPECT_STEP(&s, next - 1, TICK, "");
    EXPECT_STEP(&s, next, TICK, "ANNOUNCE_TO_HUB h0");
    /* With a peer connected: every 13-15 s. */
    script_connect_peer(&s, next + 1, 'B', 0);
    shoal_time prev = shoal_conn_next_announce(s.c);
    EXPECT_STEP(&s, prev, TICK, "ANNOUNCE_TO_HUB h0");
    next = shoal_conn_next_announce(s.c);
    CHECK(next - prev >= 13000 && next - prev < 15000);
    script_free(&s);
}

static void one_announce_goes_to_every_connected_hub(void)
{
    script s;
    script_init(&s, NULL);
    script_connect_hub(&s, 0, 0);
    /* A hub that connects later is announced on at once, then joins the common cadence. */
    EXPECT_STEP(&s, 1000, act_add_hub(1), "CONNECT_TO_HUB h1; HUB h1 connecting");
    EXPECT_STEP(&s, 1100, act_hub(SUCCEEDED, 1), "ANNOUNCE_TO_HUB h1; HUB h1 connected");
    shoal_time next = shoal_conn_next_announce(s.c);
    EXPECT_STEP(&s, next, TICK, "ANNOUNCE_TO_HUB h0; ANNOUNCE_TO_HUB h1");
    /* With no hub left, nothing is announced. */
    script_step(&s, next + 1, act_hub(SHOAL_ACT_HUB_DID_DISCONNECT, 0));
    CHECK(shoal_conn_next_announce(s.c) > next);
    script_step(&s, next + 2, act_hub(SHOAL_ACT_HUB_ADDRESS_REMOVED, 1));
    CHECK_EQ_INT(shoal_conn_next_announce(s.c), SHOAL_TIME_NEVER);
    script_free(&s);
}

static void the_schedule_asks_for_a_tick_exactly_when_a_timer_runs_out(void)
{
    script s;
    script_init(&s, NULL);
    s.show_ticks = true;
    s.show_events = false;
    /* Nothing to do: only the heartbeat, 60 s scaled by this process's factor in [0.9, 1.1). */
    script_step(&s, 0, TICK);
    CHECK(s.tick_at >= 54000 && s.tick_at < 66000);
    /* A connecting hub: its deadline. */
    script_step(&s, 0, act_add_hub(0));
    CHECK_EQ_INT(s.tick_at, 15000);
    /* A connected hub: the next announce. */
    script_step(&s, 100, act_hub(SUCCEEDED, 0));
    shoal_time announce = shoal_conn_next_announce(s.c);
    CHECK_EQ_INT(s.tick_at, announce);
    char expected[64];
    script_step(&s, announce, TICK);
    snprintf(expected, sizeof expected, "ANNOUNCE_TO_HUB h0; TICK @%lld",
             (long long)shoal_conn_next_announce(s.c));
    CHECK_EQ_STR(s.out, expected);
    script_free(&s);
}

static void a_failing_hub_backs_off_more_each_time_up_to_the_cap(void)
{
    script s;
    script_init(&s, NULL);
    script_step(&s, 0, act_add_hub(0));
    shoal_time now = 0, last_wait = 0;
    for (int f = 1; f <= 10; f++) {
        EXPECT_STEP(&s, now, act_hub(FAILED, 0), "HUB h0 disconnected");
        const shoal_conn_hub *h = shoal_conn_hub_get(s.c, 0);
        shoal_time wait = h->next_attempt - now;
        shoal_time full = 3000;
        for (int i = 1; i < f && full < 120000; i++)
            full *= 2;
        if (full > 120000)
            full = 120000;
        CHECK(wait >= full / 2 && wait < full);
        CHECK_EQ_INT(h->failures, f);
        if (f < 6)
            CHECK(wait > last_wait / 2);
        last_wait = wait;
        EXPECT_STEP(&s, h->next_attempt - 1, TICK, "");
        now = shoal_conn_hub_get(s.c, 0)->next_attempt;
        EXPECT_STEP(&s, now, TICK, "CONNECT_TO_HUB h0; HUB h0 connecting");
    }
    CHECK(shoal_conn_hub_get(s.c, 0)->score < 100);
    /* Success resets the count and raises the score. */
    EXPECT_STEP(&s, now + 1, act_hub(SUCCEEDED, 0), "ANNOUNCE_TO_HUB h0; HUB h0 connected");
    CHECK_EQ_INT(shoal_conn_hub_get(s.c, 0)->failures, 0);
    script_free(&s);
}

static void a_hanging_hub_connect_times_out(void)
{
    script s;
    script_init(&s, NULL);
    script_step(&s, 0, act_add_hub(0));
    EXPECT_STEP(&s, 14999, TICK, "");
    EXPECT_STEP(&s, 15000, TICK, "DISCONNECT_HUB h0; HUB h0 disconnected");
    CHECK_EQ_INT(shoal_conn_hub_get(s.c, 0)->failures, 1);
    script_free(&s);
}

static void a_dropped_hub_is_redialled_after_a_jittered_pause(void)
{
    script s;
    script_init(&s, NULL);
    script_connect_hub(&s, 0, 0);
    EXPECT_STEP(&s, 1000, act_hub(SHOAL_ACT_HUB_DID_DISCONNECT, 0), "HUB h0 disconnected");
    const shoal_conn_hub *h = shoal_conn_hub_get(s.c, 0);
    CHECK(h->next_attempt >= 2500 && h->next_attempt < 4000);
    CHECK_EQ_INT(h->failures, 0);
    EXPECT_STEP(&s, h->next_attempt, TICK, "CONNECT_TO_HUB h0; HUB h0 connecting");
    script_free(&s);
}

static void a_removed_hub_is_closed_and_its_routes_dropped(void)
{
    script s;
    script_init(&s, NULL);
    script_connect_hub(&s, 0, 0);
    script_connect_hub(&s, 0, 1);
    script_step(&s, 10, ANNOUNCE('B', 0));
    script_step(&s, 10, ANNOUNCE('B', 1));
    CHECK_EQ_INT(peer_of(&s, 'B')->nroutes, 2);
    EXPECT_STEP(&s, 20, act_hub(SHOAL_ACT_HUB_ADDRESS_REMOVED, 0),
                "DISCONNECT_HUB h0; HUB_REMOVED h0 disconnected; PEER B connecting");
    CHECK_EQ_INT(peer_of(&s, 'B')->nroutes, 1);
    CHECK_EQ_INT(peer_of(&s, 'B')->routes[0].hub, 1);
    CHECK(shoal_conn_hub_get(s.c, 0) == NULL);
    EXPECT_STEP(&s, 30, act_hub(SUCCEEDED, 0), "ERROR CONN_UNKNOWN_HUB");
    /* The free id is taken by the next hub. */
    EXPECT_STEP(&s, 40, act_add_hub(2), "CONNECT_TO_HUB h0; HUB h0 connecting");
    script_free(&s);
}

static void a_hub_marks_the_peers_it_relays(void)
{
    script s;
    script_init(&s, NULL);
    script_connect_hub(&s, 0, 0);
    script_step(&s, 500, ANNOUNCE('B', 0));
    CHECK_EQ_INT(shoal_conn_hub_get(s.c, 0)->last_message, 500);
    EXPECT_STEP(&s, 600, ANNOUNCE('S', 0), "");
    CHECK(peer_of(&s, 'S') == NULL);
    script_free(&s);
}

int main(void)
{
    RUN(an_added_hub_is_dialled_at_once_and_announced_on);
    RUN(announces_follow_webrtc_swarm_cadence);
    RUN(one_announce_goes_to_every_connected_hub);
    RUN(the_schedule_asks_for_a_tick_exactly_when_a_timer_runs_out);
    RUN(a_failing_hub_backs_off_more_each_time_up_to_the_cap);
    RUN(a_hanging_hub_connect_times_out);
    RUN(a_dropped_hub_is_redialled_after_a_jittered_pause);
    RUN(a_removed_hub_is_closed_and_its_routes_dropped);
    RUN(a_hub_marks_the_peers_it_relays);
    return harness_finish();
}

/* We dial: our offer goes out, their answer and candidates come in, the channel opens, the
 * handshake proves the key, and the state manager hears of the dial's success; or the dial ends
 * busy, late, or with the wrong key. */
#include "script.h"

#define S1 "910a2dec89025cc1" /* the first session seed 1 draws */

static void a_dial_offers_and_connects(void)
{
    script s;
    script_init(&s, NULL);
    EXPECT_STEP(&s, 0, ev_dial("B", 0), "CREATE_RTC #1 offerer");
    CHECK(record_of(&s, 1)->dialled);
    CHECK_EQ_STR(session_of(&s, 1), S1);
    EXPECT_STEP(&s, 1, ev_local(1, SHOAL_NEG_SIG_OFFER, "o1"),
                "POST #1 h0 B {\"from\":\"M\",\"session\":\"" S1
                "\",\"signal\":{\"type\":\"offer\",\"sdp\":\"o1\"}}");
    EXPECT_STEP(&s, 2, ev_local(1, SHOAL_NEG_SIG_CANDIDATE, "c1"), "");
    EXPECT_STEP(&s, 3, ev_posted(1, 200),
                "POST #1 h0 B {\"from\":\"M\",\"session\":\"" S1
                "\",\"signal\":{\"type\":\"candidate\",\"candidate\":{\"candidate\":\"c1\","
                "\"sdpMLineIndex\":0,\"sdpMid\":\"0\"}}}");
    EXPECT_SIGNAL(&s, 4, "B", 0, S1, ANSWER("a1"), "SET_REMOTE #1 answer a1");
    EXPECT_SIGNAL(&s, 5, "B", 0, S1, CANDIDATE("rc1"), "ADD_CANDIDATE #1 rc1");
    EXPECT_STEP(&s, 6, ev_open(1), "START_LINK #1 client B");
    CHECK_EQ_INT(record_of(&s, 1)->phase, SHOAL_NEG_LINKING);
    EXPECT_STEP(&s, 7, ev_linked(1, 'B'), "REPORT CONNECTION_SUCCEEDED B; CONNECTED #1 B");
    CHECK_EQ_INT(record_of(&s, 1)->phase, SHOAL_NEG_ESTABLISHED);
    CHECK_EQ_INT(record_of(&s, 1)->deadline, SHOAL_TIME_NEVER);
    CHECK_EQ_INT(shoal_negotiate_get_stats(s.n)->connections, 1);
    EXPECT_STEP(&s, 8, ev_closed(1, SHOAL_OK), "REPORT DID_DISCONNECT B; DISCONNECTED #1 B OK");
    CHECK_EQ_INT(shoal_negotiate_count(s.n), 0);
    script_free(&s);
}

static void a_peer_already_negotiating_is_not_dialled_twice(void)
{
    script s;
    script_init(&s, NULL);
    script_step(&s, 0, ev_dial("B", 0));
    EXPECT_STEP(&s, 1, ev_dial("B", 1), "");
    EXPECT_STEP(&s, 1, ev_dial("M", 0), ""); /* ourselves */
    CHECK_EQ_INT(shoal_negotiate_count(s.n), 1);
    EXPECT_STEP(&s, 1, ev_dial("", 0), "ERROR INVAL");
    script_free(&s);
}

/* The state manager's per-transport timeout is the one deadline: a negotiation not connected by
 * then is closed and reported failed; a close that hangs as long again is abandoned. */
static void the_deadline_fails_a_slow_negotiation(void)
{
    script s;
    script_init(&s, NULL);
    s.show_ticks = true;
    s.show_logs = true;
    EXPECT_STEP(&s, 0, ev_dial("B", 0),
                "LOG dialling B… through hub 0; CREATE_RTC #1 offerer; "
                "TICK @30000");
    EXPECT_STEP(&s, 29999, TICK, "");
    EXPECT_STEP(&s, 30000, TICK,
                "LOG the negotiation with B… took too long; CLOSE_RTC #1 now; TICK @60000");
    EXPECT_STEP(&s, 30010, ev_closed(1, SHOAL_OK),
                "LOG the negotiation with B… failed: ok; REPORT CONNECTION_FAILED B; TICK never");
    CHECK_EQ_INT(shoal_negotiate_get_stats(s.n)->negotiations_failed, 1);
    script_free(&s);
}

static void a_close_that_hangs_is_abandoned(void)
{
    script s;
    script_init(&s, NULL);
    s.show_ticks = true;
    script_step(&s, 0, ev_dial("B", 0));
    script_step(&s, 30000, TICK);
    EXPECT_STEP(&s, 60000, TICK, "CLOSE_RTC #1 abandon; REPORT CONNECTION_FAILED B; TICK never");
    CHECK_EQ_INT(shoal_negotiate_count(s.n), 0);
    EXPECT_STEP(&s, 60001, ev_closed(1, SHOAL_OK), ""); /* late: the record is gone */
    script_free(&s);
}

/* "busy" for our own session, once, while not connected: the slot is freed at once and no
 * failure is counted. */
static void a_busy_answer_ends_the_dial_without_a_failure(void)
{
    script s;
    script_init(&s, NULL);
    script_step(&s, 0, ev_dial("B", 0));
    EXPECT_SIGNAL(&s, 1, "B", 0, "0123456789abcdef", BUSY, ""); /* not our session */
    EXPECT_SIGNAL(&s, 2, "C", 0, S1, BUSY, "");                 /* not the peer we dialled */
    CHECK_EQ_INT(shoal_negotiate_get_stats(s.n)->signals_dropped, 2);
    EXPECT_SIGNAL(&s, 3, "B", 0, S1, BUSY, "REPORT BUSY B; CLOSE_RTC #1 now");
    CHECK(record_of(&s, 1)->busy);
    EXPECT_SIGNAL(&s, 4, "B", 0, S1, BUSY, ""); /* only once */
    EXPECT_STEP(&s, 5, ev_closed(1, SHOAL_OK), "");
    CHECK_EQ_INT(shoal_negotiate_get_stats(s.n)->negotiations_failed, 0);
    script_free(&s);
}

static void busy_is_ignored_once_connected(void)
{
    script s;
    script_init(&s, NULL);
    script_step(&s, 0, ev_dial("B", 0));
    script_signal(&s, 1, "B", 0, S1, ANSWER("a1"));
    script_step(&s, 2, ev_open(1));
    script_step(&s, 3, ev_linked(1, 'B'));
    EXPECT_SIGNAL(&s, 4, "B", 0, S1, BUSY, "");
    CHECK(!record_of(&s, 1)->closing);
    script_free(&s);
}

static void a_handshake_proving_another_key_is_closed(void)
{
    script s;
    script_init(&s, NULL);
    s.show_logs = true;
    script_step(&s, 0, ev_dial("B", 0));
    script_step(&s, 1, ev_open(1));
    EXPECT_STEP(&s, 2, ev_linked(1, 'X'),
                "LOG B… answered with another key: closed; "
                "CLOSE_RTC #1 now");
    s.show_logs = false;
    EXPECT_STEP(&s, 3, ev_closed(1, SHOAL_OK), "REPORT CONNECTION_FAILED B");
    CHECK_EQ_INT(shoal_negotiate_get_stats(s.n)->connections, 0);
    script_free(&s);
}

/* Signals for a negotiation we do not have, or out of place, are dropped and counted. */
static void stray_signals_are_dropped_and_counted(void)
{
    script s;
    script_init(&s, NULL);
    EXPECT_SIGNAL(&s, 0, "C", 0, "", CANDIDATE("x"), "");
    EXPECT_SIGNAL(&s, 0, "C", 0, "", ANSWER("x"), "");
    script_step(&s, 0, ev_dial("B", 0));
    EXPECT_SIGNAL(&s, 1, "B", 0, "feedfeedfeedfeed", CANDIDATE("x"), "");
    EXPECT_SIGNAL(&s, 1, "B", 0, S1, "{\"renegotiate\":true}", "");
    EXPECT_SIGNAL(&s, 1, "B", 0, S1, ANSWER("a1"), "SET_REMOTE #1 answer a1");
    EXPECT_SIGNAL(&s, 1, "B", 0, S1, ANSWER("a2"), ""); /* a second answer */
    EXPECT_SIGNAL(&s, 1, "M", 0, S1, ANSWER("a2"), ""); /* ourselves, echoed */
    CHECK_EQ_INT(shoal_negotiate_get_stats(s.n)->signals_dropped, 5);
    script_free(&s);
}

/* The record cap holds: a dial beyond it fails at once, as a WebRTC stack that cannot start. */
static void a_dial_beyond_the_cap_fails_at_once(void)
{
    shoal_negotiate_config cfg;
    shoal_negotiate_config_default(&cfg);
    cfg.max_records = 2;
    script s;
    script_init(&s, &cfg);
    script_step(&s, 0, ev_dial("B", 0));
    script_step(&s, 0, ev_dial("C", 0));
    EXPECT_STEP(&s, 0, ev_dial("D", 0), "REPORT CONNECTION_FAILED D");
    CHECK_EQ_INT(shoal_negotiate_count(s.n), 2);
    script_free(&s);
}

static void a_description_the_stack_refuses_closes_the_negotiation(void)
{
    script s;
    script_init(&s, NULL);
    script_step(&s, 0, ev_dial("B", 0));
    script_signal(&s, 1, "B", 0, S1, ANSWER("garbage"));
    EXPECT_STEP(&s, 2, ev_refused(1, SHOAL_NEG_SIG_CANDIDATE), "");
    CHECK(!record_of(&s, 1)->closing);
    EXPECT_STEP(&s, 3, ev_refused(1, SHOAL_NEG_SIG_ANSWER), "CLOSE_RTC #1 now");
    CHECK_EQ_INT(shoal_negotiate_get_stats(s.n)->signals_refused, 2);
    script_free(&s);
}

int main(void)
{
    RUN(a_dial_offers_and_connects);
    RUN(a_peer_already_negotiating_is_not_dialled_twice);
    RUN(the_deadline_fails_a_slow_negotiation);
    RUN(a_close_that_hangs_is_abandoned);
    RUN(a_busy_answer_ends_the_dial_without_a_failure);
    RUN(busy_is_ignored_once_connected);
    RUN(a_handshake_proving_another_key_is_closed);
    RUN(stray_signals_are_dropped_and_counted);
    RUN(a_dial_beyond_the_cap_fails_at_once);
    RUN(a_description_the_stack_refuses_closes_the_negotiation);
    return harness_finish();
}

/* Closing: the state manager's CLOSE_PEER (goodbyes first once a link runs), a network reset
 * (abandoned at once and reported at once, no goodbyes), and stop (everyone closed, nothing more
 * reported, STOPPED once all are gone). */
#include "script.h"

#define S1 "910a2dec89025cc1"

/* B connected inbound as #1; C dialled and negotiating as #2. */
static void two_peers(script *s)
{
    script_signal(s, 0, "B", 0, "b1", OFFER("ob"));
    script_step(s, 0, ev_admission(1, true));
    script_step(s, 1, ev_open(1));
    script_step(s, 2, ev_linked(1, 'B'));
    script_step(s, 3, ev_dial("C", 0));
}

static void a_requested_close_sends_goodbyes_once_linked(void)
{
    script s;
    script_init(&s, NULL);
    s.show_logs = true;
    two_peers(&s);
    EXPECT_STEP(&s, 10, ev_close("B", SHOAL_CLOSE_REQUESTED),
                "LOG closing B… (requested); CLOSE_RTC #1 goodbye");
    s.show_logs = false;
    EXPECT_STEP(&s, 11, ev_close("B", SHOAL_CLOSE_ROTATED), ""); /* already closing */
    EXPECT_STEP(&s, 12, ev_close("C", SHOAL_CLOSE_TIMEOUT), "CLOSE_RTC #2 now");
    EXPECT_STEP(&s, 13, ev_close("D", SHOAL_CLOSE_TIMEOUT), "");
    EXPECT_STEP(&s, 14, ev_closed(1, SHOAL_OK), "REPORT DID_DISCONNECT B; DISCONNECTED #1 B OK");
    EXPECT_STEP(&s, 15, ev_closed(2, SHOAL_OK), "REPORT CONNECTION_FAILED C");
    script_free(&s);
}

/* The path may be gone: no goodbyes, and the state manager hears at once, so it can dial anew. */
static void a_network_reset_abandons_and_reports_at_once(void)
{
    script s;
    script_init(&s, NULL);
    two_peers(&s);
    script_signal(&s, 4, "B", 0, "b2", OFFER("o2")); /* a successor, #3 */
    EXPECT_STEP(&s, 10, ev_close("B", SHOAL_CLOSE_NETWORK_RESET),
                "CLOSE_RTC #3 now; CLOSE_RTC #1 abandon; REPORT DID_DISCONNECT B; "
                "DISCONNECTED #1 B NETWORK_RESET");
    EXPECT_STEP(&s, 11, ev_close("C", SHOAL_CLOSE_NETWORK_RESET),
                "CLOSE_RTC #2 abandon; REPORT CONNECTION_FAILED C");
    CHECK_EQ_INT(shoal_negotiate_count(s.n), 1); /* the successor, retired, until it closes */
    EXPECT_STEP(&s, 12, ev_closed(1, SHOAL_OK), "");
    EXPECT_STEP(&s, 12, ev_closed(3, SHOAL_OK), "");
    EXPECT_STEP(&s, 13, ev_dial("C", 0), "CREATE_RTC #4 offerer");
    script_free(&s);
}

/* A reset also ends a close already under way (goodbyes that may never get out). */
static void a_network_reset_ends_a_close_under_way(void)
{
    script s;
    script_init(&s, NULL);
    two_peers(&s);
    script_step(&s, 10, ev_close("B", SHOAL_CLOSE_ROTATED));
    EXPECT_STEP(&s, 11, ev_close("B", SHOAL_CLOSE_NETWORK_RESET),
                "CLOSE_RTC #1 abandon; REPORT DID_DISCONNECT B; DISCONNECTED #1 B NETWORK_RESET");
    script_free(&s);
}

static void stop_closes_everyone_and_reports_nothing(void)
{
    script s;
    script_init(&s, NULL);
    two_peers(&s);
    script_signal(&s, 4, "D", 0, "d1", OFFER("od")); /* #3, waiting for admission */
    EXPECT_STEP(&s, 10, STOP, "CLOSE_RTC #1 goodbye; CLOSE_RTC #2 now");
    CHECK_EQ_INT(shoal_negotiate_count(s.n), 2);
    EXPECT_SIGNAL(&s, 11, "E", 0, "e1", OFFER("oe"), "");
    EXPECT_STEP(&s, 11, ev_dial("F", 0), "");
    EXPECT_STEP(&s, 12, ev_closed(1, SHOAL_OK), "DISCONNECTED #1 B OK");
    EXPECT_STEP(&s, 13, ev_closed(2, SHOAL_OK), "STOPPED");
    CHECK_EQ_INT(shoal_negotiate_get_stats(s.n)->negotiations_failed, 0);
    EXPECT_STEP(&s, 14, STOP, "");
    script_free(&s);
}

static void stop_with_no_one_is_done_at_once(void)
{
    script s;
    script_init(&s, NULL);
    EXPECT_STEP(&s, 0, STOP, "STOPPED");
    script_free(&s);
}

/* Retired records closing do not hold the stop back. */
static void stop_does_not_wait_for_retired_records(void)
{
    script s;
    script_init(&s, NULL);
    script_step(&s, 0, ev_dial("B", 0));
    script_signal(&s, 1, "B", 0, "b1", OFFER("ob")); /* glare: #1 retired, #2 answers */
    EXPECT_STEP(&s, 2, STOP, "CLOSE_RTC #2 now");
    EXPECT_STEP(&s, 3, ev_closed(2, SHOAL_OK), "STOPPED");
    EXPECT_STEP(&s, 4, ev_closed(1, SHOAL_OK), "");
    script_free(&s);
}

int main(void)
{
    RUN(a_requested_close_sends_goodbyes_once_linked);
    RUN(a_network_reset_abandons_and_reports_at_once);
    RUN(a_network_reset_ends_a_close_under_way);
    RUN(stop_closes_everyone_and_reports_nothing);
    RUN(stop_with_no_one_is_done_at_once);
    RUN(stop_does_not_wait_for_retired_records);
    return harness_finish();
}

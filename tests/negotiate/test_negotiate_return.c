/* A connected peer that offers again has come back (it restarted, or lost our connection before
 * we noticed): a successor negotiates beside the connection held and replaces it once its
 * handshake proves the key, the old one closing unreported; a successor that fails leaves the old
 * standing; an old one that dies first leaves the successor to go on as any other. */
#include "script.h"

#define S1 "910a2dec89025cc1"

/* B connected through our dial: record #1. */
static void connect_b(script *s)
{
    script_step(s, 0, ev_dial("B", 0));
    script_signal(s, 1, "B", 0, S1, ANSWER("a1"));
    script_step(s, 2, ev_open(1));
    script_step(s, 3, ev_linked(1, 'B'));
}

static void a_successor_replaces_the_connection_once_proven(void)
{
    script s;
    script_init(&s, NULL);
    connect_b(&s);
    EXPECT_SIGNAL(&s, 10, "B", 0, "b2", OFFER("o2"),
                  "CREATE_RTC #2 answerer; SET_REMOTE #2 offer o2");
    CHECK_EQ_INT(record_of(&s, 2)->role, SHOAL_NEG_SUCCESSOR);
    CHECK_EQ_INT(record_of(&s, 2)->partner, 1);
    CHECK_EQ_INT(record_of(&s, 1)->partner, 2);
    EXPECT_SIGNAL(&s, 11, "B", 0, "b2", OFFER("o2"), ""); /* the same offer again */
    EXPECT_SIGNAL(&s, 12, "B", 0, "b2", CANDIDATE("c2"), "ADD_CANDIDATE #2 c2");
    EXPECT_STEP(&s, 13, ev_local(2, SHOAL_NEG_SIG_ANSWER, "ans"),
                "POST #2 h0 B {\"from\":\"M\",\"session\":\"b2\","
                "\"signal\":{\"type\":\"answer\",\"sdp\":\"ans\"}}");
    EXPECT_STEP(&s, 14, ev_open(2), "START_LINK #2 server B");
    /* no report: to the state manager the peer stayed connected */
    EXPECT_STEP(&s, 15, ev_linked(2, 'B'), "CLOSE_RTC #1 goodbye; CONNECTED #2 B");
    CHECK_EQ_INT(record_of(&s, 2)->role, SHOAL_NEG_CURRENT);
    CHECK(record_of(&s, 2)->dialled); /* its end is reported as the dial's connection's */
    CHECK_EQ_INT(record_of(&s, 1)->role, SHOAL_NEG_RETIRED);
    EXPECT_STEP(&s, 16, ev_closed(1, SHOAL_OK), "");
    EXPECT_STEP(&s, 17, ev_closed(2, SHOAL_OK), "REPORT DID_DISCONNECT B; DISCONNECTED #2 B OK");
    script_free(&s);
}

static void a_failed_successor_leaves_the_old_standing(void)
{
    script s;
    script_init(&s, NULL);
    s.show_logs = true;
    connect_b(&s);
    script_signal(&s, 10, "B", 0, "b2", OFFER("o2"));
    EXPECT_STEP(&s, 11, ev_closed(2, SHOAL_E_RTC_ICE_FAILED),
                "LOG the new negotiation with B… failed: ICE found no working path to the peer");
    CHECK_EQ_INT(record_of(&s, 1)->partner, 0);
    CHECK_EQ_INT(record_of(&s, 1)->phase, SHOAL_NEG_ESTABLISHED);
    CHECK_EQ_INT(shoal_negotiate_get_stats(s.n)->negotiations_failed, 0);
    script_free(&s);
}

/* A forged offer for a connected peer costs one negotiation, which the deadline ends. */
static void a_successor_that_never_connects_times_out(void)
{
    script s;
    script_init(&s, NULL);
    connect_b(&s);
    script_signal(&s, 10, "B", 0, "b2", OFFER("forged"));
    EXPECT_STEP(&s, 30010, TICK, "CLOSE_RTC #2 now");
    EXPECT_STEP(&s, 30011, ev_closed(2, SHOAL_OK), "");
    CHECK(!record_of(&s, 1)->closing);
    script_free(&s);
}

static void a_successor_proving_another_key_is_closed(void)
{
    script s;
    script_init(&s, NULL);
    connect_b(&s);
    script_signal(&s, 10, "B", 0, "b2", OFFER("o2"));
    script_step(&s, 11, ev_open(2));
    EXPECT_STEP(&s, 12, ev_linked(2, 'X'), "CLOSE_RTC #2 now");
    EXPECT_STEP(&s, 13, ev_closed(2, SHOAL_OK), "");
    CHECK_EQ_INT(shoal_negotiate_find(s.n, "B")->id, 1);
    script_free(&s);
}

static void the_old_dying_first_leaves_the_successor_as_any_other(void)
{
    script s;
    script_init(&s, NULL);
    connect_b(&s);
    script_signal(&s, 10, "B", 0, "b2", OFFER("o2"));
    EXPECT_STEP(&s, 11, ev_closed(1, SHOAL_E_RTC_SCTP),
                "REPORT DID_DISCONNECT B; DISCONNECTED #1 B RTC_SCTP");
    CHECK_EQ_INT(record_of(&s, 2)->role, SHOAL_NEG_CURRENT);
    CHECK_EQ_INT(record_of(&s, 2)->partner, 0);
    script_step(&s, 12, ev_open(2));
    EXPECT_STEP(&s, 13, ev_linked(2, 'B'), "REPORT CLIENT_DID_CONNECT B; CONNECTED #2 B");
    script_free(&s);
}

/* A third negotiation replaces the second: one successor at a time. */
static void a_newer_offer_replaces_the_successor(void)
{
    script s;
    script_init(&s, NULL);
    connect_b(&s);
    script_signal(&s, 10, "B", 0, "b2", OFFER("o2"));
    EXPECT_SIGNAL(&s, 11, "B", 0, "b3", OFFER("o3"),
                  "CLOSE_RTC #2 now; CREATE_RTC #3 answerer; SET_REMOTE #3 offer o3");
    CHECK_EQ_INT(record_of(&s, 2)->role, SHOAL_NEG_RETIRED);
    CHECK_EQ_INT(record_of(&s, 1)->partner, 3);
    script_free(&s);
}

int main(void)
{
    RUN(a_successor_replaces_the_connection_once_proven);
    RUN(a_failed_successor_leaves_the_old_standing);
    RUN(a_successor_that_never_connects_times_out);
    RUN(a_successor_proving_another_key_is_closed);
    RUN(the_old_dying_first_leaves_the_successor_as_any_other);
    RUN(a_newer_offer_replaces_the_successor);
    return harness_finish();
}

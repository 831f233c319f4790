/* Glare: both peers offered at once. The side shoal_swarm_we_lead names keeps its offer and
 * ignores theirs; the other drops its own quietly and answers theirs, and still reports the
 * outcome as its dial's. Our channel is "M": we lead against "N", yield to "B". */
#include "script.h"

#define S1 "910a2dec89025cc1"

static void the_leader_keeps_its_offer(void)
{
    script s;
    script_init(&s, NULL);
    script_step(&s, 0, ev_dial("N", 0));
    script_step(&s, 1, ev_local(1, SHOAL_NEG_SIG_OFFER, "ours"));
    EXPECT_SIGNAL(&s, 2, "N", 0, "n1", OFFER("theirs"), "");
    CHECK_EQ_INT(shoal_negotiate_count(s.n), 1);
    EXPECT_SIGNAL(&s, 3, "N", 0, "n1", CANDIDATE("x"), ""); /* for their dropped offer */
    EXPECT_SIGNAL(&s, 4, "N", 0, S1, ANSWER("a"), "SET_REMOTE #1 answer a");
    script_free(&s);
}

static void the_follower_answers_theirs_and_keeps_the_dial(void)
{
    script s;
    script_init(&s, NULL);
    s.show_logs = true;
    script_step(&s, 0, ev_dial("B", 0));
    script_step(&s, 1, ev_local(1, SHOAL_NEG_SIG_OFFER, "ours"));
    EXPECT_SIGNAL(&s, 2, "B", 0, "b1", OFFER("theirs"),
                  "LOG B… and we dialled each other at once: answering theirs; "
                  "CLOSE_RTC #1 now; CREATE_RTC #2 answerer; SET_REMOTE #2 offer theirs");
    s.show_logs = false;
    CHECK(record_of(&s, 2)->dialled);
    CHECK(!record_of(&s, 2)->initiator);
    EXPECT_STEP(&s, 3, ev_posted(1, 200), ""); /* the old offer's POST */
    EXPECT_STEP(&s, 3, ev_local(1, SHOAL_NEG_SIG_CANDIDATE, "c"), "");
    EXPECT_STEP(&s, 4, ev_closed(1, SHOAL_OK), ""); /* quietly */
    EXPECT_STEP(&s, 5, ev_local(2, SHOAL_NEG_SIG_ANSWER, "ans"),
                "POST #2 h0 B {\"from\":\"M\",\"session\":\"b1\","
                "\"signal\":{\"type\":\"answer\",\"sdp\":\"ans\"}}");
    EXPECT_STEP(&s, 6, ev_open(2), "START_LINK #2 server B");
    EXPECT_STEP(&s, 7, ev_linked(2, 'B'), "REPORT CONNECTION_SUCCEEDED B; CONNECTED #2 B");
    script_free(&s);
}

/* The follower's negotiation that fails is its dial's failure. */
static void the_followers_failure_is_its_dials(void)
{
    script s;
    script_init(&s, NULL);
    script_step(&s, 0, ev_dial("B", 0));
    script_signal(&s, 1, "B", 0, "b1", OFFER("theirs"));
    EXPECT_STEP(&s, 2, ev_closed(2, SHOAL_E_RTC_ICE_FAILED), "REPORT CONNECTION_FAILED B");
    script_free(&s);
}

/* Once the handshake runs, a new offer of theirs is no glare: it began another negotiation. */
static void a_leader_whose_channel_opened_still_ignores_glare(void)
{
    script s;
    script_init(&s, NULL);
    script_step(&s, 0, ev_dial("N", 0));
    script_signal(&s, 1, "N", 0, S1, ANSWER("a"));
    script_step(&s, 2, ev_open(1));
    EXPECT_SIGNAL(&s, 3, "N", 0, "n1", OFFER("theirs"), "");
    script_free(&s);
}

int main(void)
{
    RUN(the_leader_keeps_its_offer);
    RUN(the_follower_answers_theirs_and_keeps_the_dial);
    RUN(the_followers_failure_is_its_dials);
    RUN(a_leader_whose_channel_opened_still_ignores_glare);
    return harness_finish();
}

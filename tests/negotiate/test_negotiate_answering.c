/* They dial us: a stranger's offer waits for the state manager's admission; admitted, we answer
 * it; refused with every slot taken, the dialler hears "busy" and nothing is recorded. Repeats of
 * an offer are ignored, a new negotiation replaces the one we were answering, and the record cap
 * turns offers away. */
#include "script.h"

#include <stdlib.h>

static void an_admitted_offer_is_answered(void)
{
    script s;
    script_init(&s, NULL);
    EXPECT_SIGNAL(&s, 0, "C", 1, "c0ffee", OFFER("oc"), "ADMIT #1 CONNECTING C h1");
    CHECK_EQ_INT(record_of(&s, 1)->phase, SHOAL_NEG_ADMITTING);
    EXPECT_STEP(&s, 1, ev_admission(1, true), "CREATE_RTC #1 answerer; SET_REMOTE #1 offer oc");
    CHECK(!record_of(&s, 1)->dialled);
    EXPECT_SIGNAL(&s, 2, "C", 1, "c0ffee", CANDIDATE("rc"), "ADD_CANDIDATE #1 rc");
    EXPECT_STEP(&s, 3, ev_local(1, SHOAL_NEG_SIG_ANSWER, "ans"),
                "POST #1 h1 C {\"from\":\"M\",\"session\":\"c0ffee\","
                "\"signal\":{\"type\":\"answer\",\"sdp\":\"ans\"}}");
    EXPECT_STEP(&s, 4, ev_open(1), "START_LINK #1 server C");
    EXPECT_STEP(&s, 5, ev_linked(1, 'C'), "REPORT CLIENT_DID_CONNECT C; CONNECTED #1 C");
    EXPECT_STEP(&s, 6, ev_closed(1, SHOAL_E_RTC_SCTP),
                "REPORT DID_DISCONNECT C; DISCONNECTED #1 C RTC_SCTP");
    script_free(&s);
}

/* Every slot taken: "busy" goes back for their session, and no record is kept. */
static void a_refused_offer_hears_busy_and_leaves_no_record(void)
{
    script s;
    script_init(&s, NULL);
    s.show_logs = true;
    script_signal(&s, 0, "C", 0, "c0ffee", OFFER("oc"));
    EXPECT_STEP(
        &s, 1, ev_admission(1, false),
        "LOG C… dialled us, but every slot is taken; "
        "POST #1 h0 C {\"from\":\"M\",\"session\":\"c0ffee\",\"signal\":{\"type\":\"busy\"}}");
    CHECK_EQ_INT(shoal_negotiate_count(s.n), 0);
    CHECK_EQ_INT(shoal_negotiate_get_stats(s.n)->offers_turned_away, 1);
    EXPECT_STEP(&s, 2, ev_posted(1, 200), ""); /* nothing waits on it */
    EXPECT_STEP(&s, 2, ev_admission(1, true), "");
    script_free(&s);
}

static void the_same_offer_twice_is_ignored(void)
{
    script s;
    script_init(&s, NULL);
    script_signal(&s, 0, "C", 0, "c0ffee", OFFER("oc"));
    EXPECT_SIGNAL(&s, 1, "C", 1, "c0ffee", OFFER("oc"), ""); /* through another hub */
    script_step(&s, 2, ev_admission(1, true));
    EXPECT_SIGNAL(&s, 3, "C", 0, "c0ffee", OFFER("oc"), "");
    CHECK_EQ_INT(shoal_negotiate_count(s.n), 1);
    script_free(&s);
}

/* They gave up the negotiation we were answering and began another: ours goes quietly and the
 * new one is answered, without asking the state manager again (the peer holds its slot). */
static void a_new_negotiation_replaces_the_one_we_answer(void)
{
    script s;
    script_init(&s, NULL);
    script_signal(&s, 0, "C", 0, "s1", OFFER("o1"));
    script_step(&s, 1, ev_admission(1, true));
    EXPECT_SIGNAL(&s, 2, "C", 0, "s2", OFFER("o2"),
                  "CLOSE_RTC #1 now; CREATE_RTC #2 answerer; SET_REMOTE #2 offer o2");
    CHECK_EQ_INT(record_of(&s, 1)->role, SHOAL_NEG_RETIRED);
    CHECK_EQ_INT(shoal_negotiate_find(s.n, "C")->id, 2);
    EXPECT_SIGNAL(&s, 3, "C", 0, "s1", CANDIDATE("late"), ""); /* the old one's */
    EXPECT_STEP(&s, 4, ev_closed(1, SHOAL_OK), "");            /* retired: silent */
    script_step(&s, 5, ev_open(2));
    EXPECT_STEP(&s, 6, ev_linked(2, 'C'), "REPORT CLIENT_DID_CONNECT C; CONNECTED #2 C");
    script_free(&s);
}

/* An offer while the state manager has not answered the first is dropped: the admission settles
 * that peer first. */
static void an_offer_during_admission_is_dropped(void)
{
    script s;
    script_init(&s, NULL);
    script_signal(&s, 0, "C", 0, "s1", OFFER("o1"));
    EXPECT_SIGNAL(&s, 1, "C", 0, "s2", OFFER("o2"), "");
    EXPECT_SIGNAL(&s, 1, "C", 0, "s1", CANDIDATE("early"), "");
    CHECK_EQ_INT(shoal_negotiate_get_stats(s.n)->signals_dropped, 2);
    script_free(&s);
}

static void an_admission_never_answered_times_out(void)
{
    script s;
    script_init(&s, NULL);
    script_signal(&s, 0, "C", 0, "s1", OFFER("o1"));
    EXPECT_STEP(&s, 30000, TICK, "REPORT DID_DISCONNECT C");
    CHECK_EQ_INT(shoal_negotiate_count(s.n), 0);
    script_free(&s);
}

/* Records are capped, retired ones included: a flood of offers from made-up channels costs at
 * most max_records negotiations. */
static void offers_beyond_the_record_cap_are_turned_away(void)
{
    shoal_negotiate_config cfg;
    shoal_negotiate_config_default(&cfg);
    cfg.max_records = 2;
    script s;
    script_init(&s, &cfg);
    script_signal(&s, 0, "C", 0, "s1", OFFER("o1"));
    script_step(&s, 0, ev_admission(1, true));
    EXPECT_SIGNAL(&s, 0, "D", 0, "s1", OFFER("o1"), "ADMIT #2 CONNECTING D h0");
    EXPECT_SIGNAL(&s, 0, "E", 0, "s1", OFFER("o1"), "");
    /* replacing C's negotiation needs a record more while the old one closes */
    EXPECT_SIGNAL(&s, 0, "C", 0, "s2", OFFER("o2"), "");
    CHECK_EQ_INT(shoal_negotiate_get_stats(s.n)->offers_over_cap, 2);
    script_step(&s, 1, ev_admission(2, false));
    EXPECT_SIGNAL(&s, 2, "E", 0, "s1", OFFER("o1"), "ADMIT #3 CONNECTING E h0");
    script_free(&s);
}

static void an_offer_too_long_is_refused(void)
{
    script s;
    script_init(&s, NULL);
    size_t len = SHOAL_NEGOTIATE_MAX_SDP + 1;
    char *json = malloc(len + 64);
    char *p = json + sprintf(json, "{\"type\":\"offer\",\"sdp\":\"");
    memset(p, 'v', len);
    strcpy(p + len, "\"}");
    EXPECT_SIGNAL(&s, 0, "C", 0, "s1", json, "");
    CHECK_EQ_INT(shoal_negotiate_get_stats(s.n)->signals_refused, 1);
    CHECK_EQ_INT(shoal_negotiate_count(s.n), 0);
    free(json);
    script_free(&s);
}

static void a_malformed_session_is_dropped(void)
{
    script s;
    script_init(&s, NULL);
    EXPECT_SIGNAL(&s, 0, "C", 0, "bad session", OFFER("o1"), "");
    CHECK_EQ_INT(shoal_negotiate_get_stats(s.n)->signals_dropped, 1);
    script_free(&s);
}

int main(void)
{
    RUN(an_admitted_offer_is_answered);
    RUN(a_refused_offer_hears_busy_and_leaves_no_record);
    RUN(the_same_offer_twice_is_ignored);
    RUN(a_new_negotiation_replaces_the_one_we_answer);
    RUN(an_offer_during_admission_is_dropped);
    RUN(an_admission_never_answered_times_out);
    RUN(offers_beyond_the_record_cap_are_turned_away);
    RUN(an_offer_too_long_is_refused);
    RUN(a_malformed_session_is_dropped);
    return harness_finish();
}

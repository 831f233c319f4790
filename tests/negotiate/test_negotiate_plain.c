/* Plain webrtc-swarm peers (compatibility mode): no sessions, no handshake (the connection is up
 * when the channel opens), they never yield in glare, never hear "busy", and a connected one's
 * new offer is ignored. Their channels here are lower-case ("p"). */
#include "script.h"

static void a_plain_dial_connects_when_the_channel_opens(void)
{
    script s;
    script_init(&s, NULL);
    EXPECT_STEP(&s, 0, ev_dial("p", 0), "CREATE_RTC #1 offerer");
    CHECK_EQ_STR(session_of(&s, 1), "");
    EXPECT_STEP(&s, 1, ev_local(1, SHOAL_NEG_SIG_OFFER, "o"),
                "POST #1 h0 p {\"from\":\"M\",\"session\":\"\","
                "\"signal\":{\"type\":\"offer\",\"sdp\":\"o\"}}");
    EXPECT_SIGNAL(&s, 2, "p", 0, "", ANSWER("a"), "SET_REMOTE #1 answer a");
    EXPECT_STEP(&s, 3, ev_open(1), "REPORT CONNECTION_SUCCEEDED p; CONNECTED #1 p plain");
    EXPECT_SIGNAL(&s, 4, "p", 0, "", OFFER("again"), ""); /* connected: ignored */
    EXPECT_STEP(&s, 5, ev_close("p", SHOAL_CLOSE_REQUESTED), "CLOSE_RTC #1 now"); /* no link */
    script_free(&s);
}

/* We lead by the channel order ("M" < "p"), but a plain peer never yields: we do. */
static void a_plain_peer_never_yields_in_glare(void)
{
    script s;
    script_init(&s, NULL);
    script_step(&s, 0, ev_dial("p", 0));
    EXPECT_SIGNAL(&s, 1, "p", 0, "", OFFER("theirs"),
                  "CLOSE_RTC #1 now; CREATE_RTC #2 answerer; SET_REMOTE #2 offer theirs");
    CHECK(record_of(&s, 2)->dialled);
    script_free(&s);
}

/* Without sessions, a repeat of their offer is told by its SDP. */
static void a_plain_offer_repeated_is_told_by_its_sdp(void)
{
    script s;
    script_init(&s, NULL);
    EXPECT_SIGNAL(&s, 0, "p", 0, "", OFFER("o1"), "ADMIT #1 CONNECTING p h0");
    script_step(&s, 1, ev_admission(1, true));
    EXPECT_SIGNAL(&s, 2, "p", 1, "", OFFER("o1"), "");
    EXPECT_SIGNAL(&s, 3, "p", 0, "", OFFER("o2"),
                  "CLOSE_RTC #1 now; CREATE_RTC #2 answerer; SET_REMOTE #2 offer o2");
    script_free(&s);
}

static void a_refused_plain_peer_hears_no_busy(void)
{
    script s;
    script_init(&s, NULL);
    script_signal(&s, 0, "p", 0, "", OFFER("o1"));
    EXPECT_STEP(&s, 1, ev_admission(1, false), "");
    CHECK_EQ_INT(shoal_negotiate_count(s.n), 0);
    CHECK_EQ_INT(shoal_negotiate_get_stats(s.n)->offers_turned_away, 1);
    script_free(&s);
}

static void busy_from_a_plain_peer_is_ignored(void)
{
    script s;
    script_init(&s, NULL);
    script_step(&s, 0, ev_dial("p", 0));
    EXPECT_SIGNAL(&s, 1, "p", 0, "", BUSY, "");
    CHECK(!record_of(&s, 1)->closing);
    script_free(&s);
}

int main(void)
{
    RUN(a_plain_dial_connects_when_the_channel_opens);
    RUN(a_plain_peer_never_yields_in_glare);
    RUN(a_plain_offer_repeated_is_told_by_its_sdp);
    RUN(a_refused_plain_peer_hears_no_busy);
    RUN(busy_from_a_plain_peer_is_ignored);
    return harness_finish();
}

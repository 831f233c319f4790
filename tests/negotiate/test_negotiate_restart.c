/* ICE restarts of an established connection: ours (the state manager's RESTART, after a network
 * change) offered as a numbered "restart" signal and taken with its "restarted" answer; theirs
 * answered; repeats, old numbers, restarts too close together and answers nobody asked for
 * dropped; crossing restarts taken both ways; nothing restarted but an established
 * connection of a shoal peer; a restart that cannot be taken leaves the connection standing. */
#include "script.h"

#define S1 "910a2dec89025cc1" /* the session of our first dial */

/* The connection with `channel` through our dial: record #1. */
static void connect(script *s, const char *channel)
{
    script_step(s, 0, ev_dial(channel, 0));
    script_signal(s, 1, channel, 0, S1, ANSWER("a1"));
    script_step(s, 2, ev_open(1));
    script_step(s, 3, ev_linked(1, channel[0]));
}

static shoal_negotiate_event ev_restart(char key)
{
    shoal_negotiate_event ev = ev_type(SHOAL_NEG_EV_RESTART);
    memset(ev.feed, key, 32);
    return ev;
}

static shoal_negotiate_event ev_restarted(uint32_t id)
{
    shoal_negotiate_event ev = ev_type(SHOAL_NEG_EV_RTC_RESTARTED);
    ev.id = id;
    return ev;
}

#define RESTART(sdp, n)   "{\"type\":\"restart\",\"sdp\":\"" sdp "\",\"restart\":" #n "}"
#define RESTARTED(sdp, n) "{\"type\":\"restarted\",\"sdp\":\"" sdp "\",\"restart\":" #n "}"
#define POSTED_TO(ch, signal)                                                                      \
    "POST #1 h0 " ch " {\"from\":\"M\",\"session\":\"" S1 "\",\"signal\":" signal "}"

static void our_restart_is_offered_and_its_answer_taken(void)
{
    script s;
    script_init(&s, NULL);
    connect(&s, "B");
    EXPECT_STEP(&s, 10, ev_restart('B'), "RESTART_RTC #1");
    CHECK(record_of(&s, 1)->restarting);
    EXPECT_STEP(&s, 11, ev_local(1, SHOAL_NEG_SIG_OFFER, "r1"),
                POSTED_TO("B", "{\"type\":\"restart\",\"sdp\":\"r1\",\"restart\":1}"));
    EXPECT_STEP(&s, 12, ev_local(1, SHOAL_NEG_SIG_CANDIDATE, "c1"), ""); /* waits its turn */
    EXPECT_STEP(&s, 13, ev_posted(1, 200),
                POSTED_TO("B", "{\"type\":\"candidate\",\"candidate\":{\"candidate\":\"c1\","
                               "\"sdpMLineIndex\":0,\"sdpMid\":\"0\"}}"));
    EXPECT_SIGNAL(&s, 14, "B", 0, S1, RESTARTED("ra", 1), "SET_REMOTE #1 answer ra");
    CHECK(!record_of(&s, 1)->restarting);
    EXPECT_SIGNAL(&s, 15, "B", 0, S1, RESTARTED("ra", 1), ""); /* a repeat */
    EXPECT_SIGNAL(&s, 16, "B", 0, S1, CANDIDATE("cb"), "ADD_CANDIDATE #1 cb");
    EXPECT_STEP(&s, 17, ev_restarted(1), "REPORT RESTARTED B");
    CHECK_EQ_INT(shoal_negotiate_get_stats(s.n)->restarts, 1);
    /* a second restart is numbered 2; an answer to the first is no answer to it */
    EXPECT_STEP(&s, 20, ev_restart('B'), "RESTART_RTC #1");
    CHECK_EQ_INT(record_of(&s, 1)->restarts, 2);
    EXPECT_SIGNAL(&s, 21, "B", 0, S1, RESTARTED("ra", 1), "");
    EXPECT_SIGNAL(&s, 22, "B", 0, S1, RESTARTED("rb", 2), "SET_REMOTE #1 answer rb");
    CHECK_EQ_INT(shoal_negotiate_get_stats(s.n)->signals_dropped, 2);
    script_free(&s);
}

static void their_restart_is_answered_at_most_once_a_gap(void)
{
    script s;
    script_init(&s, NULL);
    connect(&s, "B");
    EXPECT_SIGNAL(&s, 10, "B", 0, S1, RESTART("o1", 1), "SET_REMOTE #1 offer o1");
    CHECK_EQ_INT(record_of(&s, 1)->remote_restarts, 1);
    EXPECT_STEP(&s, 11, ev_local(1, SHOAL_NEG_SIG_ANSWER, "ans"),
                POSTED_TO("B", "{\"type\":\"restarted\",\"sdp\":\"ans\",\"restart\":1}"));
    /* the same again, an older one, or a newer one too soon: dropped */
    EXPECT_SIGNAL(&s, 12, "B", 0, S1, RESTART("o1", 1), "");
    EXPECT_SIGNAL(&s, 13, "B", 0, S1, RESTART("o2", 2), "");
    EXPECT_SIGNAL(&s, 10 + SHOAL_NEGOTIATE_RESTART_GAP, "B", 0, S1, RESTART("o2", 2),
                  "SET_REMOTE #1 offer o2");
    /* the other side's restart connecting is reported too (the state manager ignores it
     * unless it waits for one) */
    EXPECT_STEP(&s, 3000, ev_restarted(1), "REPORT RESTARTED B");
    script_free(&s);
}

/* Both restart at once (both saw the change): each takes the other's offer, whoever leads, and
 * then no longer waits for an answer to its own; an offer of ours that was lost holds nothing
 * back. */
static void crossing_restarts_are_both_taken(void)
{
    static const char *const peers[] = {"B", "N"}; /* B leads against M, M against N */
    for (int i = 0; i < 2; i++) {
        script s;
        script_init(&s, NULL);
        connect(&s, peers[i]);
        script_step(&s, 10, ev_restart(peers[i][0]));
        EXPECT_SIGNAL(&s, 11, peers[i], 0, S1, RESTART("o", 1), "SET_REMOTE #1 offer o");
        CHECK(!record_of(&s, 1)->restarting);
        EXPECT_STEP(&s, 12, ev_local(1, SHOAL_NEG_SIG_ANSWER, "ans"),
                    i == 0 ? POSTED_TO("B", "{\"type\":\"restarted\",\"sdp\":\"ans\","
                                            "\"restart\":1}")
                           : POSTED_TO("N", "{\"type\":\"restarted\",\"sdp\":\"ans\","
                                            "\"restart\":1}"));
        /* their answer to ours, crossing too: not needed */
        EXPECT_SIGNAL(&s, 13, peers[i], 0, S1, RESTARTED("x", 1), "");
        script_free(&s);
    }
}

static void only_established_connections_of_shoal_peers_restart(void)
{
    script s;
    script_init(&s, NULL);
    EXPECT_STEP(&s, 0, ev_restart('B'), ""); /* no such peer */
    script_step(&s, 1, ev_dial("B", 0));
    EXPECT_STEP(&s, 2, ev_restart('B'), ""); /* still negotiating */
    EXPECT_SIGNAL(&s, 3, "B", 0, S1, RESTART("o", 1), "");
    /* a plain webrtc-swarm peer has no restarts: its connection is closed as a network change
     * closes those that cannot restart */
    script_step(&s, 4, ev_dial("p", 0));
    script_signal(&s, 5, "p", 0, "", ANSWER("a"));
    script_step(&s, 6, ev_open(2));
    EXPECT_SIGNAL(&s, 7, "p", 0, "", RESTART("o", 1), "");
    EXPECT_STEP(&s, 8, ev_restart('p'),
                "CLOSE_RTC #2 abandon; REPORT DID_DISCONNECT p; DISCONNECTED #2 p NETWORK_RESET");
    script_free(&s);
}

static void malformed_restarts_are_dropped(void)
{
    script s;
    script_init(&s, NULL);
    connect(&s, "B");
    EXPECT_SIGNAL(&s, 10, "B", 0, "another", RESTART("o", 1), ""); /* not the session */
    EXPECT_SIGNAL(&s, 11, "B", 0, S1, RESTART("o", 0), "");
    EXPECT_SIGNAL(&s, 12, "B", 0, S1, RESTART("o", -3), "");
    EXPECT_SIGNAL(&s, 13, "B", 0, S1, RESTART("o", 4294967296), "");
    EXPECT_SIGNAL(&s, 14, "B", 0, S1, "{\"type\":\"restart\",\"sdp\":\"o\",\"restart\":\"1\"}", "");
    EXPECT_SIGNAL(&s, 15, "B", 0, S1, "{\"type\":\"restart\",\"restart\":1}", "");
    EXPECT_SIGNAL(&s, 16, "B", 0, S1, RESTARTED("a", 1), ""); /* we asked for none */
    CHECK_EQ_INT(shoal_negotiate_get_stats(s.n)->signals_dropped, 7);
    CHECK_EQ_INT(record_of(&s, 1)->remote_restarts, 0);
    script_free(&s);
}

/* The WebRTC stack could not take a restart's description: the connection stays as it is (the
 * state manager's deadline judges it), and a later restart may still be offered. */
static void a_refused_restart_leaves_the_connection(void)
{
    script s;
    script_init(&s, NULL);
    connect(&s, "B");
    script_step(&s, 10, ev_restart('B'));
    script_signal(&s, 11, "B", 0, S1, RESTARTED("bad", 1));
    EXPECT_STEP(&s, 12, ev_refused(1, SHOAL_NEG_SIG_ANSWER), "");
    CHECK_EQ_INT(record_of(&s, 1)->phase, SHOAL_NEG_ESTABLISHED);
    CHECK(!record_of(&s, 1)->closing);
    EXPECT_STEP(&s, 13, ev_restart('B'), "RESTART_RTC #1");
    /* a close of the network change's own (the deadline passed) ends it as before */
    EXPECT_STEP(&s, 14, ev_close("B", SHOAL_CLOSE_NETWORK_RESET),
                "CLOSE_RTC #1 abandon; REPORT DID_DISCONNECT B; "
                "DISCONNECTED #1 B NETWORK_RESET");
    script_free(&s);
}

int main(void)
{
    RUN(our_restart_is_offered_and_its_answer_taken);
    RUN(their_restart_is_answered_at_most_once_a_gap);
    RUN(crossing_restarts_are_both_taken);
    RUN(only_established_connections_of_shoal_peers_restart);
    RUN(malformed_restarts_are_dropped);
    RUN(a_refused_restart_leaves_the_connection);
    return harness_finish();
}

/* Epidemic broadcast trees as a reducer, its effects written as one line each step ("NOTES #1
 * {S:0,B:6}; SEND #2 B 4..5"): notes encoded as ssb-ebt's v3 encodes them; the server notes
 * first and the client answers; what a peer asks for is sent, and later messages live; request
 * skipping from the kept clock; one rx peer per feed, handed over to a peer further ahead, on a
 * stall, or when the rx peer leaves or stops replicating; a message out of order asked again
 * from our head; feeds we do not follow answered -1; bad events refused with nothing changed.
 *
 * Feeds and peers' keys are named by a letter: feed 'B' is 32 bytes of 'B'; ours is 'S'. */
#include "harness.h"
#include "shoal/ebt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static shoal_ebt *e;
static char out[8192];
static const shoal_ebt_fx *fx;
static size_t nfx;
static shoal_time tick_at;

static void append(const char *fmt, ...)
{
    size_t len = strlen(out);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + len, sizeof out - len, fmt, ap);
    va_end(ap);
}

static void entries(const shoal_ebt_entry *en, size_t n)
{
    append("{");
    for (size_t i = 0; i < n; i++)
        append("%s%c:%lld", i ? "," : "", en[i].feed[0], (long long)en[i].value);
    append("}");
}

static const char *step(shoal_time now, shoal_ebt_event ev)
{
    out[0] = '\0';
    int rc = shoal_ebt_reduce(e, &ev, now, &fx, &nfx);
    if (rc != SHOAL_OK) {
        snprintf(out, sizeof out, "ERROR %s", shoal_errname(rc));
        return out;
    }
    for (size_t i = 0; i < nfx; i++) {
        if (fx[i].type == SHOAL_EBT_FX_SCHEDULE_TICK) {
            tick_at = fx[i].at;
            continue;
        }
        if (out[0])
            append("; ");
        switch (fx[i].type) {
        case SHOAL_EBT_FX_NOTES:
            append("NOTES #%u ", fx[i].peer);
            entries(fx[i].entries, fx[i].nentries);
            break;
        case SHOAL_EBT_FX_SEND:
            append("SEND #%u %c %lld..%lld", fx[i].peer, fx[i].feed[0], (long long)fx[i].from,
                   (long long)fx[i].to);
            break;
        case SHOAL_EBT_FX_CLOCK:
            append("CLOCK #%u ", fx[i].peer);
            entries(fx[i].entries, fx[i].nentries);
            break;
        default:
            break;
        }
    }
    return out;
}

static shoal_ebt_event ev_of(shoal_ebt_ev_type type, uint32_t peer, char feed, int64_t seq)
{
    shoal_ebt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.peer = peer;
    memset(ev.feed, feed, 32);
    ev.seq = seq;
    return ev;
}

#define HAVE(f, s)       ev_of(SHOAL_EBT_EV_HAVE, 0, (f), (s))
#define TICK             ev_of(SHOAL_EBT_EV_TICK, 0, 0, 0)
#define DISCONNECT(p)    ev_of(SHOAL_EBT_EV_DISCONNECT, (p), 0, 0)
#define EXPECT(t, ev, s) CHECK_EQ_STR(step((t), (ev)), (s))

static shoal_ebt_event follow(char f, bool on)
{
    shoal_ebt_event ev = ev_of(SHOAL_EBT_EV_FOLLOW, 0, f, 0);
    ev.follow = on;
    return ev;
}

static shoal_ebt_entry kept[8];

/* A session: the kept clock "B3C-1" (feed letter, then a sequence) when given. */
static shoal_ebt_event connect(uint32_t peer, bool client, const char *clock)
{
    shoal_ebt_event ev = ev_of(SHOAL_EBT_EV_CONNECT, peer, 0, 0);
    ev.client = client;
    size_t n = 0;
    for (const char *c = clock; c && *c && n < 8;) {
        memset(kept[n].feed, *c++, 32);
        long long v = strtoll(c, (char **)&c, 10);
        kept[n++].value = v;
    }
    ev.entries = kept;
    ev.nentries = n;
    return ev;
}

static shoal_ebt_entry notes_in[8];

/* A notes object "B6,C-1": feed letters and note values. */
static shoal_ebt_event notes(uint32_t peer, const char *text)
{
    shoal_ebt_event ev = ev_of(SHOAL_EBT_EV_NOTES, peer, 0, 0);
    size_t n = 0;
    for (const char *c = text; *c && n < 8;) {
        if (*c == ',')
            c++;
        memset(notes_in[n].feed, *c++, 32);
        notes_in[n++].value = strtoll(c, (char **)&c, 10);
    }
    ev.entries = notes_in;
    ev.nentries = n;
    return ev;
}

static shoal_ebt_event received(uint32_t peer, char feed, int64_t seq, bool stored)
{
    shoal_ebt_event ev = ev_of(SHOAL_EBT_EV_RECEIVED, peer, feed, seq);
    ev.stored = stored;
    return ev;
}

static void begin(void)
{
    shoal_ebt_config cfg;
    shoal_ebt_config_default(&cfg);
    cfg.max_feeds = 6;
    cfg.max_peers = 3;
    uint8_t self[32];
    memset(self, 'S', 32);
    if (shoal_ebt_new(&e, &cfg, self) != SHOAL_OK)
        abort();
}

static void end(void)
{
    shoal_ebt_free(e);
    e = NULL;
}

static void notes_are_v3s(void)
{
    CHECK_EQ_INT(shoal_ebt_note(0, true), 0);
    CHECK_EQ_INT(shoal_ebt_note(0, false), 1);
    CHECK_EQ_INT(shoal_ebt_note(5, true), 10);
    CHECK_EQ_INT(shoal_ebt_note(5, false), 11);
    CHECK_EQ_INT(shoal_ebt_note(-1, true), -1);
    CHECK_EQ_INT(shoal_ebt_note(SHOAL_EBT_MAX_SEQ, true), SHOAL_EBT_MAX_SEQ * 2);
    int64_t seq;
    bool rx;
    CHECK(shoal_ebt_note_read(11, &seq, &rx) && seq == 5 && !rx);
    CHECK(shoal_ebt_note_read(10, &seq, &rx) && seq == 5 && rx);
    CHECK(shoal_ebt_note_read(-1, &seq, &rx) && seq == -1 && !rx);
    CHECK(!shoal_ebt_note_read(-2, &seq, &rx));
    CHECK(!shoal_ebt_note_read(SHOAL_EBT_MAX_SEQ * 2 + 2, &seq, &rx));
    CHECK(!shoal_ebt_note_read(INT64_MAX, &seq, &rx));
}

static void the_server_notes_first_and_the_client_answers(void)
{
    begin();
    EXPECT(0, HAVE('B', 3), "");
    EXPECT(0, follow('B', true), "");
    /* server of #1: every feed we follow, the first peer asked to send */
    EXPECT(1, connect(1, false, NULL), "NOTES #1 {S:0,B:6}");
    CHECK_EQ_INT(tick_at, 1 + SHOAL_SECONDS(3)); /* a look every half stall */
    /* client of #2: nothing until its notes come; then ours (only telling: #1 was asked), and
     * as #2 is further ahead on B than #1 said it is, B comes from #2 now */
    EXPECT(2, connect(2, true, NULL), "");
    EXPECT(3, notes(2, "B11"), "NOTES #1 {B:7}; NOTES #2 {S:1,B:6}");
    uint8_t b[32];
    memset(b, 'B', 32);
    CHECK_EQ_INT(shoal_ebt_rx_peer(e, b), 2);
    CHECK_EQ_INT(shoal_ebt_get_stats(e)->switches, 1);
    end();
}

static void what_a_peer_asks_for_is_sent_and_then_live(void)
{
    begin();
    step(0, HAVE('B', 3));
    step(0, follow('B', true));
    step(1, connect(1, false, NULL));
    /* it holds B to 1 and asks: 2..3 go, then each new message as it comes */
    EXPECT(2, notes(1, "B2"), "SEND #1 B 2..3");
    EXPECT(3, HAVE('B', 4), "SEND #1 B 4..4");
    EXPECT(4, HAVE('B', 6), "SEND #1 B 5..6");
    EXPECT(5, HAVE('B', 6), "");
    /* it asks again from 4 (it lost what followed): sent again from 5, once a stall: notes
     * cannot buy resends */
    EXPECT(6, notes(1, "B8"), "SEND #1 B 5..6");
    EXPECT(6, notes(1, "B8"), "");
    /* it stops asking: nothing more goes, and it hears once that we are ahead of it */
    EXPECT(7, notes(1, "B13"), "");
    EXPECT(8, HAVE('B', 7), "NOTES #1 {B:14}");
    EXPECT(9, HAVE('B', 8), "");
    end();
}

static void feeds_in_sync_when_last_parted_are_not_noted(void)
{
    begin();
    step(0, HAVE('B', 3));
    step(0, follow('B', true));
    step(0, HAVE('C', 2));
    step(0, follow('C', true));
    /* B was held as far as ours when the session ended; C was not: our own feed always */
    EXPECT(1, connect(1, false, "B3C1"), "NOTES #1 {S:0,C:4}");
    /* news on B: it hears, once, that we are further */
    EXPECT(2, HAVE('B', 4), "NOTES #1 {B:9}");
    EXPECT(3, HAVE('B', 5), "");
    /* it speaks of B when it has news of its own: we ask for it */
    EXPECT(4, notes(1, "B13"), "NOTES #1 {B:10}");
    EXPECT(5, received(1, 'B', 6, true), "");
    end();
}

static void a_message_out_of_order_is_asked_again_from_our_head(void)
{
    uint8_t b[32];
    memset(b, 'B', 32);
    begin();
    step(0, HAVE('B', 3));
    step(0, follow('B', true));
    step(1, connect(1, false, NULL));
    step(2, notes(1, "B19")); /* it holds 9, and sends to us (we asked: B:6 went with S) */
    EXPECT(3, received(1, 'B', 5, false), "NOTES #1 {B:6}");
    CHECK_EQ_INT(shoal_ebt_get_stats(e)->out_of_order, 1);
    /* what was already on its way past the gap is not asked for again at the same head */
    EXPECT(3, received(1, 'B', 6, false), "");
    EXPECT(4, received(1, 'B', 4, true), "");
    /* a duplicate is ignored; a gap at the new head asked again */
    EXPECT(5, received(1, 'B', 2, false), "");
    EXPECT(6, received(1, 'B', 7, false), "NOTES #1 {B:8}");
    /* the next one, refused (a bad signature): not asked of #1 again, and nobody else is
     * ahead */
    EXPECT(7, received(1, 'B', 5, false), "NOTES #1 {B:9}");
    CHECK_EQ_INT(shoal_ebt_get_stats(e)->refused_messages, 1);
    CHECK_EQ_INT(shoal_ebt_rx_peer(e, b), 0);
    CHECK_EQ_INT(shoal_ebt_have(e, b), 4);
    end();
}

static void feeds_we_do_not_follow_get_minus_one(void)
{
    begin();
    step(0, HAVE('C', 2)); /* held, not followed */
    step(1, connect(1, true, NULL));
    /* the client's notes answer the server's; a feed we neither follow nor hold: -1; a value no
     * peer may send: dropped; one we hold without following: sent to the peer that asks for it
     * (as createHistoryStream serves the store), never asked for */
    EXPECT(2, notes(1, "X4,C2,S-7"), "NOTES #1 {S:0,X:-1,C:5}; SEND #1 C 2..2");
    CHECK_EQ_INT(shoal_ebt_get_stats(e)->refused_notes, 2);
    EXPECT(3, HAVE('C', 3), "SEND #1 C 3..3");
    /* a message of it, from a peer: not one we asked for; nothing follows */
    EXPECT(3, received(1, 'C', 9, false), "");
    uint8_t c[32];
    memset(c, 'C', 32);
    CHECK_EQ_INT(shoal_ebt_rx_peer(e, c), 0);
    /* -1 from the peer: no more sent, and not asked */
    EXPECT(4, notes(1, "S-1"), "");
    EXPECT(5, HAVE('S', 1), "");
    /* unfollowing says -1 to whoever we spoke to */
    step(6, follow('B', true));
    EXPECT(7, follow('B', false), "NOTES #1 {B:-1}");
    end();
}

static void a_stalled_or_departed_rx_peer_gives_the_feed_up(void)
{
    begin();
    step(0, HAVE('B', 3));
    step(0, follow('B', true));
    step(1, connect(1, false, NULL));
    step(2, notes(1, "B21"));         /* #1 holds 10 and sends to us */
    step(3, connect(2, false, NULL)); /* only tells: #1 was asked */
    EXPECT(4, notes(2, "B17"), "");   /* #2 holds 8: behind #1, it stays with #1 */
    /* #1 sends nothing for a stall: #2, also ahead of us, takes over */
    EXPECT(5 + SHOAL_SECONDS(6), TICK, "NOTES #1 {B:7}; NOTES #2 {B:6}");
    uint8_t b[32];
    memset(b, 'B', 32);
    CHECK_EQ_INT(shoal_ebt_rx_peer(e, b), 2);
    /* #2 leaves: its clock is kept; #1 is still ahead and is asked again */
    EXPECT(6 + SHOAL_SECONDS(6), DISCONNECT(2), "NOTES #1 {B:6}; CLOCK #2 {B:8}");
    CHECK_EQ_INT(shoal_ebt_rx_peer(e, b), 1);
    /* #1 was not believed ahead once it stalled; it delivers, and is again */
    EXPECT(6 + SHOAL_SECONDS(6), received(1, 'B', 4, true), "");
    /* #1 stops replicating B with us: nobody is asked */
    EXPECT(7 + SHOAL_SECONDS(6), notes(1, "B-1"), "");
    CHECK_EQ_INT(shoal_ebt_rx_peer(e, b), 0);
    EXPECT(8 + SHOAL_SECONDS(6), DISCONNECT(1), "CLOCK #1 {B:-1}");
    CHECK_EQ_INT(tick_at, SHOAL_TIME_NEVER);
    end();
}

static void bad_events_change_nothing(void)
{
    begin();
    shoal_ebt_event ev = HAVE('B', -1);
    EXPECT(0, ev, "ERROR INVAL");
    EXPECT(0, connect(0, false, NULL), "ERROR INVAL"); /* no peer 0 */
    step(0, connect(1, false, NULL));
    EXPECT(0, connect(1, false, NULL), "ERROR INVAL"); /* under way */
    step(0, connect(2, false, NULL));
    step(0, connect(3, false, NULL));
    EXPECT(0, connect(4, false, NULL), "ERROR INVAL"); /* max_peers */
    ev = ev_of(SHOAL_EBT_EV_TICK + 1, 1, 0, 0);
    EXPECT(0, ev, "ERROR INVAL");
    /* max_feeds (6, ours among them) */
    for (char f = 'A'; f < 'F'; f++)
        CHECK_EQ_STR(step(0, HAVE(f, 1)), "");
    EXPECT(0, HAVE('F', 1), "ERROR EBT_FULL");
    /* events for sessions not under way change nothing */
    EXPECT(0, notes(9, "A2"), "");
    EXPECT(0, received(9, 'A', 2, true), "");
    EXPECT(0, DISCONNECT(9), "");
    end();
}

int main(void)
{
    RUN(notes_are_v3s);
    RUN(the_server_notes_first_and_the_client_answers);
    RUN(what_a_peer_asks_for_is_sent_and_then_live);
    RUN(feeds_in_sync_when_last_parted_are_not_noted);
    RUN(a_message_out_of_order_is_asked_again_from_our_head);
    RUN(feeds_we_do_not_follow_get_minus_one);
    RUN(a_stalled_or_departed_rx_peer_gives_the_feed_up);
    RUN(bad_events_change_nothing);
    return harness_finish();
}

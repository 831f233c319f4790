/* The swarm's messages: signed announces and leaves verify and nothing forged, replayed from
 * long ago, or unsigned (outside compatibility mode) passes; signals carry their session and
 * the sender's identity, sealed to their recipient and taken once; channels and feeds map both
 * ways; glare has one winner. */
#include "harness.h"
#include "shoal/swarm.h"

#include <stdlib.h>
#include <string.h>

static shoal_keypair alice, bob;
static const int64_t now = 1795774478677;

static char *presence(const shoal_keypair *k, bool leave, int64_t ts)
{
    shoal_buf b = SHOAL_BUF_INIT;
    shoal_swarm_write_presence(k, "shoal-test", leave, ts, &b);
    CHECK_EQ_ERR(shoal_buf_status(&b), SHOAL_OK);
    return b.data;
}

static int parse(const char *text, bool compat, shoal_swarm_msg *m)
{
    char *guarded = harness_guarded(text, strlen(text));
    int rc = shoal_swarm_parse("shoal-test", guarded, strlen(text), now, compat, m);
    free(guarded);
    return rc;
}

static void a_signed_announce_and_leave_verify(void)
{
    char *text = presence(&alice, false, now - 5000);
    shoal_swarm_msg m;
    CHECK_EQ_ERR(parse(text, false, &m), SHOAL_OK);
    CHECK_EQ_INT(m.kind, SHOAL_SWARM_ANNOUNCE);
    CHECK(m.has_feed);
    CHECK_EQ_MEM(m.feed, 32, alice.pub, 32);
    CHECK_EQ_INT(m.ts, now - 5000);
    char channel[SHOAL_SWARM_CHANNEL_SIZE];
    shoal_swarm_channel(alice.pub, channel);
    CHECK_EQ_STR(m.from, channel);
    /* webrtc-swarm's own fields are there for plain peers to read */
    CHECK(strncmp(text, "{\"type\":\"connect\",\"from\":\"", 26) == 0);
    free(text);
    text = presence(&bob, true, now);
    CHECK_EQ_ERR(parse(text, false, &m), SHOAL_OK);
    CHECK_EQ_INT(m.kind, SHOAL_SWARM_LEAVE);
    free(text);
}

static void forged_stale_and_unsigned_announces_are_refused(void)
{
    shoal_swarm_msg m;
    char *text = presence(&alice, false, now);
    /* another app's announce does not verify here */
    CHECK_EQ_ERR(shoal_swarm_parse("other-app", text, strlen(text), now, false, &m),
                 SHOAL_E_SWARM_SIGNATURE);
    /* a changed time breaks the signature */
    char *ts = strstr(text, "\"ts\":") + 5;
    *ts = *ts == '1' ? '2' : '1';
    CHECK_EQ_ERR(parse(text, false, &m), SHOAL_E_SWARM_SIGNATURE);
    free(text);
    /* bob's channel with alice's signature */
    text = presence(&alice, false, now);
    char a_ch[SHOAL_SWARM_CHANNEL_SIZE], b_ch[SHOAL_SWARM_CHANNEL_SIZE];
    shoal_swarm_channel(alice.pub, a_ch);
    shoal_swarm_channel(bob.pub, b_ch);
    memcpy(strstr(text, a_ch), b_ch, strlen(b_ch));
    CHECK_EQ_ERR(parse(text, false, &m), SHOAL_E_SWARM_SIGNATURE);
    free(text);
    /* from outside the window either way */
    text = presence(&alice, false, now - SHOAL_SWARM_WINDOW_MS - 1);
    CHECK_EQ_ERR(parse(text, false, &m), SHOAL_E_SWARM_STALE);
    free(text);
    text = presence(&alice, false, now + SHOAL_SWARM_WINDOW_MS + 1);
    CHECK_EQ_ERR(parse(text, false, &m), SHOAL_E_SWARM_STALE);
    free(text);
    /* webrtc-swarm's plain announce: only in compatibility mode */
    CHECK_EQ_ERR(parse("{\"type\":\"connect\",\"from\":\"cjld2cjxh0000qzrmn831i7rn\"}", false, &m),
                 SHOAL_E_SWARM_UNSIGNED);
    CHECK_EQ_ERR(parse("{\"type\":\"connect\",\"from\":\"cjld2cjxh0000qzrmn831i7rn\"}", true, &m),
                 SHOAL_OK);
    CHECK(!m.has_feed);
    static const char *const bad[] = {"",
                                      "[]",
                                      "{}",
                                      "{\"type\":\"connect\"}",
                                      "{\"type\":\"connect\",\"from\":\"x\",\"feed\":\"@x\"}",
                                      "{\"from\":\"x\",\"signal\":\"offer\"}",
                                      "not json"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_EQ_ERR(parse(bad[i], true, &m), SHOAL_E_SWARM_FORMAT);
}

static void signals_carry_their_session_and_sender(void)
{
    char channel[SHOAL_SWARM_CHANNEL_SIZE];
    shoal_swarm_channel(alice.pub, channel);
    json_t *signal = json_pack("{s:s, s:s}", "type", "offer", "sdp", "v=0\r\n");
    shoal_buf b = SHOAL_BUF_INIT;
    shoal_swarm_write_signal(channel, "00112233aabbccdd", signal, &b);
    shoal_swarm_msg m;
    CHECK_EQ_ERR(parse(b.data, false, &m), SHOAL_OK);
    CHECK_EQ_INT(m.kind, SHOAL_SWARM_SIGNAL);
    CHECK_EQ_STR(m.session, "00112233aabbccdd");
    CHECK(m.has_feed);
    CHECK_EQ_MEM(m.feed, 32, alice.pub, 32);
    CHECK(json_equal(m.signal, signal));
    shoal_swarm_msg_clear(&m);
    /* a plain peer's signal (no session, a random id): compatibility mode only */
    const char *plain = "{\"from\":\"cjld2cjxh0000qzrmn831i7rn\",\"signal\":{\"type\":\"offer\"}}";
    CHECK_EQ_ERR(parse(plain, false, &m), SHOAL_E_SWARM_UNSIGNED);
    CHECK_EQ_ERR(parse(plain, true, &m), SHOAL_OK);
    CHECK(!m.has_feed);
    CHECK_EQ_STR(m.session, "");
    shoal_swarm_msg_clear(&m);
    json_decref(signal);
    shoal_buf_free(&b);
}

/* alice's signal for bob, sealed to bob at `ts` */
static char *sealed_for_bob(int64_t ts, const char *session)
{
    char from[SHOAL_SWARM_CHANNEL_SIZE], to[SHOAL_SWARM_CHANNEL_SIZE];
    shoal_swarm_channel(alice.pub, from);
    shoal_swarm_channel(bob.pub, to);
    json_t *signal = json_pack("{s:s, s:s}", "type", "answer", "sdp", "v=0\r\n");
    shoal_buf inner = SHOAL_BUF_INIT, out = SHOAL_BUF_INIT;
    shoal_swarm_write_signal(from, session, signal, &inner);
    CHECK_EQ_ERR(shoal_swarm_seal(&alice, to, ts, inner.data, inner.len, &out), SHOAL_OK);
    json_decref(signal);
    shoal_buf_free(&inner);
    return out.data;
}

static int open_as(const shoal_keypair *k, const char *text, shoal_swarm_msg *m, uint8_t nonce[24])
{
    bool sealed;
    char *guarded = harness_guarded(text, strlen(text));
    int rc =
        shoal_swarm_open(k, "shoal-test", guarded, strlen(text), now, false, m, nonce, &sealed);
    free(guarded);
    if (rc == SHOAL_OK && !CHECK(sealed == (strstr(text, "\"sealed\"") != NULL)))
        rc = SHOAL_E_INVAL;
    return rc;
}

/* Sealed signals: only the recipient opens them, and only as the sender's; nothing in them is
 * readable on the way (no SDP, no session); a shoal peer's unsealed signal is refused. */
static void signals_are_sealed_to_their_recipient(void)
{
    char *text = sealed_for_bob(now, "00112233aabbccdd");
    CHECK(strstr(text, "sdp") == NULL && strstr(text, "00112233aabbccdd") == NULL);
    shoal_swarm_msg m;
    uint8_t nonce[24];
    CHECK_EQ_ERR(open_as(&bob, text, &m, nonce), SHOAL_OK);
    CHECK_EQ_INT(m.kind, SHOAL_SWARM_SIGNAL);
    CHECK_EQ_STR(m.session, "00112233aabbccdd");
    CHECK_EQ_MEM(m.feed, 32, alice.pub, 32);
    CHECK_EQ_STR(json_string_value(json_object_get(m.signal, "type")), "answer");
    shoal_swarm_msg_clear(&m);
    /* not for alice (it names bob, and does not open with her key) */
    CHECK_EQ_ERR(open_as(&alice, text, &m, nonce), SHOAL_E_SWARM_SEAL);
    /* tampered: a character of the box changed */
    char *tampered = strdup(text);
    char *box = strstr(tampered, "\"sealed\":\"") + 10;
    box[5] = box[5] == 'A' ? 'B' : 'A';
    CHECK_EQ_ERR(open_as(&bob, tampered, &m, nonce), SHOAL_E_SWARM_SEAL);
    free(tampered);
    /* claiming to be from another than the one who sealed it */
    char bob_ch[SHOAL_SWARM_CHANNEL_SIZE], alice_ch[SHOAL_SWARM_CHANNEL_SIZE];
    shoal_swarm_channel(bob.pub, bob_ch);
    shoal_swarm_channel(alice.pub, alice_ch);
    char *forged = strdup(text);
    memcpy(strstr(forged, alice_ch), bob_ch, strlen(bob_ch));
    CHECK_EQ_ERR(open_as(&bob, forged, &m, nonce), SHOAL_E_SWARM_SEAL);
    free(forged);
    free(text);
    /* sealed too long ago, or not sealed at all */
    text = sealed_for_bob(now - 10 * SHOAL_SWARM_WINDOW_MS, "00112233aabbccdd");
    CHECK_EQ_ERR(open_as(&bob, text, &m, nonce), SHOAL_E_SWARM_STALE);
    free(text);
    json_t *signal = json_pack("{s:s}", "type", "busy");
    shoal_buf plain = SHOAL_BUF_INIT;
    shoal_swarm_write_signal(alice_ch, "00112233aabbccdd", signal, &plain);
    CHECK_EQ_ERR(open_as(&bob, plain.data, &m, nonce), SHOAL_E_SWARM_UNSEALED);
    json_decref(signal);
    shoal_buf_free(&plain);
    /* announces are not sealed, and open as they parse */
    text = presence(&alice, false, now);
    CHECK_EQ_ERR(open_as(&bob, text, &m, nonce), SHOAL_OK);
    CHECK_EQ_INT(m.kind, SHOAL_SWARM_ANNOUNCE);
    free(text);
}

/* A sealed signal is taken once: its nonce is remembered while a message of its time would
 * open. A flood past the memory's room lets the earliest go and raises a floor: nothing sealed
 * at or before it is taken, and a signal sealed now still is. */
static void a_sealed_signal_is_taken_once(void)
{
    shoal_swarm_replay *r = shoal_swarm_replay_new(2);
    uint8_t one[24] = {1}, two[24] = {2}, three[24] = {3}, four[24] = {4};
    CHECK_EQ_ERR(shoal_swarm_replay_check(r, one, now - 100, now), SHOAL_OK);
    CHECK_EQ_ERR(shoal_swarm_replay_check(r, one, now - 100, now + 1000), SHOAL_E_SWARM_REPLAY);
    CHECK_EQ_ERR(shoal_swarm_replay_check(r, two, now - 50, now + 1000), SHOAL_OK);
    /* full: "one" (sealed earliest) goes, the floor is its time */
    CHECK_EQ_ERR(shoal_swarm_replay_check(r, three, now, now + 2000), SHOAL_OK);
    CHECK_EQ_ERR(shoal_swarm_replay_check(r, one, now - 100, now + 2000), SHOAL_E_SWARM_REPLAY);
    CHECK_EQ_ERR(shoal_swarm_replay_check(r, four, now - 100, now + 2000), SHOAL_E_SWARM_REPLAY);
    CHECK_EQ_ERR(shoal_swarm_replay_check(r, four, now + 2000, now + 2000), SHOAL_OK);
    CHECK_EQ_ERR(shoal_swarm_replay_check(r, three, now, now + 3000), SHOAL_E_SWARM_REPLAY);
    shoal_swarm_replay_free(r);
}

static void channels_and_feeds_map_both_ways(void)
{
    char channel[SHOAL_SWARM_CHANNEL_SIZE];
    uint8_t feed[32];
    shoal_swarm_channel(bob.pub, channel);
    CHECK_EQ_INT(strlen(channel), 43);
    CHECK(strpbrk(channel, "+/=") == NULL);
    CHECK_EQ_ERR(shoal_swarm_channel_feed(channel, feed), SHOAL_OK);
    CHECK_EQ_MEM(feed, 32, bob.pub, 32);
    /* the last character's two low bits are spare: set, the name is not canonical (a canonical
     * last character is a multiple of four, and the next one in the alphabet is its ASCII
     * successor) */
    channel[42]++;
    CHECK_EQ_ERR(shoal_swarm_channel_feed(channel, feed), SHOAL_E_SWARM_FORMAT);
    CHECK_EQ_ERR(shoal_swarm_channel_feed("short", feed), SHOAL_E_SWARM_FORMAT);
    CHECK_EQ_ERR(shoal_swarm_channel_feed("+++++++++++++++++++++++++++++++++++++++++++", feed),
                 SHOAL_E_SWARM_FORMAT);
}

static void glare_has_one_winner(void)
{
    CHECK(shoal_swarm_we_lead("AAA", "BBB"));
    CHECK(!shoal_swarm_we_lead("BBB", "AAA"));
}

int main(void)
{
    uint8_t seed[32] = {1};
    shoal_keypair_from_seed(&alice, seed);
    seed[0] = 2;
    shoal_keypair_from_seed(&bob, seed);
    RUN(a_signed_announce_and_leave_verify);
    RUN(forged_stale_and_unsigned_announces_are_refused);
    RUN(signals_carry_their_session_and_sender);
    RUN(signals_are_sealed_to_their_recipient);
    RUN(a_sealed_signal_is_taken_once);
    RUN(channels_and_feeds_map_both_ways);
    RUN(glare_has_one_winner);
    return harness_finish();
}

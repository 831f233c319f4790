/* The frame a broadcast travels in between the hubs of a group: what is encoded decodes to the
 * same origin, names and body (binary and empty bodies too); what is not a frame, or names what
 * the routes would refuse, is refused with its reason. */
#include "harness.h"

#include "shoal/hub.h"

#include <string.h>

static const uint8_t origin[SHOAL_HUB_RELAY_ORIGIN] = {0x00, 0x01, 0xab, 0xff, 5,  6,  7,  8,
                                                       9,    10,   11,   12,   13, 14, 15, 0x9c};

static void round_trip(const char *app, const char *channel, const void *body, size_t len)
{
    shoal_hub_name a = {app, strlen(app)}, c = {channel, strlen(channel)};
    shoal_buf frame = SHOAL_BUF_INIT;
    shoal_hub_relay_encode(origin, &a, &c, body, len, &frame);
    CHECK_EQ_ERR(shoal_buf_status(&frame), SHOAL_OK);
    shoal_hub_relayed m;
    CHECK_EQ_ERR(shoal_hub_relay_decode(frame.data, frame.len, &m), SHOAL_OK);
    CHECK(memcmp(m.origin, origin, sizeof origin) == 0);
    CHECK(m.app.len == a.len && memcmp(m.app.s, app, a.len) == 0);
    CHECK(m.channel.len == c.len && memcmp(m.channel.s, channel, c.len) == 0);
    CHECK(m.len == len && (len == 0 || memcmp(m.body, body, len) == 0));
    shoal_buf_free(&frame);
}

static void what_is_encoded_decodes_the_same(void)
{
    round_trip("shoal-swarm-1", "all", "{\"type\":\"connect\"}", 18);
    round_trip("a", "b", "", 0);
    round_trip("app", "peer-1", "line one\nline two\r\n\n", 20);
    static const char binary[] = {0, '\n', (char)0xff, ' ', '/', 0};
    round_trip("x~y", "@key=.ed25519", binary, sizeof binary);
    char long_name[SHOAL_HUB_MAX_NAME + 1];
    memset(long_name, 'n', SHOAL_HUB_MAX_NAME);
    long_name[SHOAL_HUB_MAX_NAME] = '\0';
    round_trip(long_name, long_name, "b", 1);
    /* the wire form, byte for byte */
    shoal_hub_name a = {"app", 3}, c = {"ch", 2};
    shoal_buf frame = SHOAL_BUF_INIT;
    shoal_hub_relay_encode(origin, &a, &c, "hi", 2, &frame);
    CHECK_EQ_STR(frame.data, "shoal-relay-1 0001abff05060708090a0b0c0d0e0f9c app/ch\nhi");
    shoal_buf_free(&frame);
}

static int decode(const char *text)
{
    shoal_hub_relayed m;
    return shoal_hub_relay_decode(text, strlen(text), &m);
}

static void what_is_not_a_frame_is_refused(void)
{
    static const char *const not_frames[] = {
        "",
        "shoal-relay-1 ",
        "shoal-relay-2 0001abff05060708090a0b0c0d0e0f9c app/ch\nhi",  /* another version */
        "shoal-relay-1 0001ABFF05060708090a0b0c0d0e0f9c app/ch\nhi",  /* upper-case hex */
        "shoal-relay-1 0001abff05060708090a0b0c0d0e0f9 app/ch\nhi",   /* origin too short */
        "shoal-relay-1 0001abff05060708090a0b0c0d0e0f9cc app/ch\nhi", /* origin too long */
        "shoal-relay-1 0001abff05060708090a0b0c0d0e0f9c app/ch",      /* no newline */
        "shoal-relay-1 0001abff05060708090a0b0c0d0e0fzz app/ch\nhi",  /* not hex */
        "shoal-relay-1  0001abff05060708090a0b0c0d0e0f9c app/ch\nhi", /* two spaces */
    };
    for (size_t i = 0; i < sizeof not_frames / sizeof *not_frames; i++)
        CHECK_EQ_ERR(decode(not_frames[i]), SHOAL_E_HUB_RELAY);
    static const char *const bad_names[] = {
        "shoal-relay-1 0001abff05060708090a0b0c0d0e0f9c app\nhi",        /* no channel */
        "shoal-relay-1 0001abff05060708090a0b0c0d0e0f9c /ch\nhi",        /* no app */
        "shoal-relay-1 0001abff05060708090a0b0c0d0e0f9c app/\nhi",       /* empty channel */
        "shoal-relay-1 0001abff05060708090a0b0c0d0e0f9c app/a,b\nhi",    /* two channels */
        "shoal-relay-1 0001abff05060708090a0b0c0d0e0f9c app/a/b\nhi",    /* a slash */
        "shoal-relay-1 0001abff05060708090a0b0c0d0e0f9c app/c h\nhi",    /* a space */
        "shoal-relay-1 0001abff05060708090a0b0c0d0e0f9c app/ch?x=1\nhi", /* a query */
    };
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++)
        CHECK_EQ_ERR(decode(bad_names[i]), SHOAL_E_HUB_NAME);
    char huge[600];
    int n = snprintf(huge, sizeof huge, "shoal-relay-1 0001abff05060708090a0b0c0d0e0f9c ");
    memset(huge + n, 'a', sizeof huge - (size_t)n - 4);
    memcpy(huge + sizeof huge - 4, "/c\n", 4);
    CHECK_EQ_ERR(decode(huge), SHOAL_E_HUB_NAME);
}

int main(void)
{
    RUN(what_is_encoded_decodes_the_same);
    RUN(what_is_not_a_frame_is_refused);
    return harness_finish();
}

/* The SDP of data-only sessions: Chromium's offer and answer, the older DTLS/SCTP form, session-
 * level attributes, what shoal writes read back the same, and each malformed part refused with
 * its own error. */
#include "harness.h"
#include "shoal/sdp.h"

#include <stdlib.h>
#include <string.h>

#define FP                                                                                         \
    "1F:2E:3D:4C:5B:6A:79:88:97:A6:B5:C4:D3:E2:F1:00:0F:1E:2D:3C:4B:5A:69:78:87:96:A5:B4:C3:D2:"   \
    "E1:F0"

/* The shape of Chromium's data-channel offer. */
static const char chromium_offer[] =
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=candidate:1467250027 1 udp 2122260223 10.99.0.2 46243 typ host generation 0 "
    "network-id 1\r\n"
    "a=ice-ufrag:YhBm\r\n"
    "a=ice-pwd:4M1Q9w8RkWq8hKMQ2F3lXYs5\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 " FP "\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=sctp-port:5000\r\n"
    "a=max-message-size:262144\r\n";

static int parse(const char *text, shoal_sdp *out)
{
    char *guarded = harness_guarded(text, strlen(text));
    int rc = shoal_sdp_parse(guarded, strlen(text), out);
    free(guarded);
    return rc;
}

static void chromiums_offer_is_read(void)
{
    shoal_sdp sdp;
    CHECK_EQ_ERR(parse(chromium_offer, &sdp), SHOAL_OK);
    CHECK_EQ_STR(sdp.ice_ufrag, "YhBm");
    CHECK_EQ_STR(sdp.ice_pwd, "4M1Q9w8RkWq8hKMQ2F3lXYs5");
    CHECK_EQ_INT(sdp.fingerprint[0], 0x1f);
    CHECK_EQ_INT(sdp.fingerprint[31], 0xf0);
    CHECK_EQ_INT(sdp.setup, SHOAL_SDP_ACTPASS);
    CHECK_EQ_STR(sdp.mid, "0");
    CHECK_EQ_INT(sdp.sctp_port, 5000);
    CHECK_EQ_INT(sdp.max_message_size, 262144);
    CHECK_EQ_INT(sdp.ncandidates, 1);
    CHECK_EQ_STR(sdp.candidates[0], "candidate:1467250027 1 udp 2122260223 10.99.0.2 46243 typ "
                                    "host generation 0 network-id 1");
}

static void the_older_form_and_session_level_attributes_are_read(void)
{
    static const char old[] = "v=0\n"
                              "o=mozilla...THIS_IS_SDPARTA 1 0 IN IP4 0.0.0.0\n"
                              "s=-\n"
                              "t=0 0\n"
                              "a=fingerprint:sha-256 " FP "\n"
                              "a=ice-ufrag:abcd\n"
                              "a=ice-pwd:0123456789abcdefghijkl\n"
                              "m=audio 9 UDP/TLS/RTP/SAVPF 111\n"
                              "a=setup:passive\n" /* another section's: not ours */
                              "m=application 9 DTLS/SCTP 5001\n"
                              "a=sctpmap:5001 webrtc-datachannel 1024\n"
                              "a=setup:active\n"
                              "a=mid:data\n";
    shoal_sdp sdp;
    CHECK_EQ_ERR(parse(old, &sdp), SHOAL_OK);
    CHECK_EQ_INT(sdp.sctp_port, 5001);
    CHECK_EQ_INT(sdp.setup, SHOAL_SDP_ACTIVE);
    CHECK_EQ_STR(sdp.mid, "data");
    CHECK_EQ_STR(sdp.ice_ufrag, "abcd");
    CHECK_EQ_INT(sdp.max_message_size, 0);
}

static void what_shoal_writes_reads_back_the_same(void)
{
    shoal_sdp in;
    CHECK_EQ_ERR(parse(chromium_offer, &in), SHOAL_OK);
    in.setup = SHOAL_SDP_PASSIVE;
    shoal_buf text = SHOAL_BUF_INIT;
    shoal_sdp_write(&in, 42, &text);
    CHECK_EQ_ERR(shoal_buf_status(&text), SHOAL_OK);
    CHECK(strstr(text.data, "o=- 42 2 IN IP4 127.0.0.1\r\n") != NULL);
    CHECK(strstr(text.data, "a=fingerprint:sha-256 " FP "\r\n") != NULL);
    shoal_sdp back;
    CHECK_EQ_ERR(parse(text.data, &back), SHOAL_OK);
    CHECK_EQ_MEM(&back, sizeof back, &in, sizeof in);
    shoal_buf_free(&text);
}

/* The offer with one line replaced. */
static int parse_with(const char *from, const char *to)
{
    const char *at = strstr(chromium_offer, from);
    CHECK(at != NULL);
    shoal_buf b = SHOAL_BUF_INIT;
    shoal_buf_append(&b, chromium_offer, (size_t)(at - chromium_offer));
    shoal_buf_append_str(&b, to);
    shoal_buf_append_str(&b, at + strlen(from));
    shoal_sdp sdp;
    int rc = parse(b.data, &sdp);
    shoal_buf_free(&b);
    return rc;
}

static void each_malformed_part_has_its_error(void)
{
    CHECK_EQ_ERR(parse_with("v=0", "x"), SHOAL_E_SDP_SYNTAX);
    CHECK_EQ_ERR(parse_with("v=0", "s=-"), SHOAL_E_SDP_SYNTAX);
    CHECK_EQ_ERR(parse_with("webrtc-datachannel\r\n", "RTP/AVP 0\r\n"), SHOAL_E_SDP_NO_DATA);
    CHECK_EQ_ERR(parse_with("a=ice-ufrag:YhBm", "a=ice-ufrag:Yh"), SHOAL_E_SDP_ICE);
    CHECK_EQ_ERR(parse_with("a=ice-pwd:4M1Q9w8RkWq8hKMQ2F3lXYs5", "a=x:y"), SHOAL_E_SDP_ICE);
    CHECK_EQ_ERR(parse_with("a=ice-ufrag:YhBm", "a=ice-ufrag:Yh\"m"), SHOAL_E_SDP_ICE);
    CHECK_EQ_ERR(parse_with("sha-256 1F:", "sha-1 1F:"), SHOAL_E_SDP_FINGERPRINT);
    CHECK_EQ_ERR(parse_with("1F:2E", "1G:2E"), SHOAL_E_SDP_FINGERPRINT);
    CHECK_EQ_ERR(parse_with(":E1:F0", ":E1"), SHOAL_E_SDP_FINGERPRINT);
    CHECK_EQ_ERR(parse_with("a=setup:actpass", "a=setup:holdconn"), SHOAL_E_SDP_SETUP);
    CHECK_EQ_ERR(parse_with("a=sctp-port:5000", "a=sctp-port:99999"), SHOAL_E_SDP_SYNTAX);
    CHECK_EQ_ERR(parse_with("a=mid:0", "a=mid:0\r\x02"), SHOAL_E_SDP_SYNTAX); /* control bytes */
    char long_mid[400] = "a=mid:";
    memset(long_mid + 6, 'm', 300);
    CHECK_EQ_ERR(parse_with("a=mid:0", long_mid), SHOAL_E_SDP_SYNTAX);
    shoal_sdp sdp;
    CHECK_EQ_ERR(parse("", &sdp), SHOAL_E_SDP_SYNTAX);
    CHECK_EQ_ERR(parse("\r\n\r\n", &sdp), SHOAL_E_SDP_SYNTAX);
}

static void dcep_messages_round_trip(void)
{
    shoal_dcep open = {.type = SHOAL_DCEP_OPEN,
                       .channel_type = SHOAL_DCEP_RELIABLE,
                       .priority = 256,
                       .label = "shoal",
                       .label_len = 5,
                       .protocol = "ssb",
                       .protocol_len = 3};
    shoal_buf b = SHOAL_BUF_INIT;
    shoal_dcep_write(&open, &b);
    CHECK_EQ_MEM(b.data, b.len, "\x03\x00\x01\x00\x00\x00\x00\x00\x00\x05\x00\x03shoalssb", 20);
    shoal_dcep back;
    CHECK_EQ_ERR(shoal_dcep_parse((const uint8_t *)b.data, b.len, &back), SHOAL_OK);
    CHECK_EQ_INT(back.priority, 256);
    CHECK_EQ_MEM(back.label, back.label_len, "shoal", 5);
    CHECK_EQ_MEM(back.protocol, back.protocol_len, "ssb", 3);
    /* a length that does not add up, a short header, another type */
    CHECK_EQ_ERR(shoal_dcep_parse((const uint8_t *)b.data, b.len - 1, &back), SHOAL_E_DCEP);
    CHECK_EQ_ERR(shoal_dcep_parse((const uint8_t *)b.data, 11, &back), SHOAL_E_DCEP);
    CHECK_EQ_ERR(shoal_dcep_parse((const uint8_t *)"\x07", 1, &back), SHOAL_E_DCEP);
    shoal_buf_reset(&b);
    shoal_dcep_write(&(shoal_dcep){.type = SHOAL_DCEP_ACK}, &b);
    CHECK_EQ_MEM(b.data, b.len, "\x02", 1);
    CHECK_EQ_ERR(shoal_dcep_parse((const uint8_t *)b.data, b.len, &back), SHOAL_OK);
    CHECK_EQ_INT(back.type, SHOAL_DCEP_ACK);
    shoal_buf_free(&b);
}

int main(void)
{
    RUN(chromiums_offer_is_read);
    RUN(the_older_form_and_session_level_attributes_are_read);
    RUN(what_shoal_writes_reads_back_the_same);
    RUN(each_malformed_part_has_its_error);
    RUN(dcep_messages_round_trip);
    return harness_finish();
}

/* The SDP of a data-only session: reader and writer (pure). See shoal/sdp.h. */
#include "shoal/sdp.h"

#include <stdio.h>
#include <string.h>

/* One line, without its line end. */
typedef struct line {
    const char *s;
    size_t len;
} line;

static bool starts(line l, const char *prefix)
{
    size_t n = strlen(prefix);
    return l.len >= n && memcmp(l.s, prefix, n) == 0;
}

static line after(line l, const char *prefix)
{
    size_t n = strlen(prefix);
    return (line){l.s + n, l.len - n};
}

static bool is_ice_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* An ice-ufrag (4-256) or ice-pwd (22-256) of ICE characters. */
static int ice_text(line v, size_t min, char out[SHOAL_SDP_MAX_TEXT + 1])
{
    if (v.len < min || v.len > SHOAL_SDP_MAX_TEXT)
        return SHOAL_E_SDP_ICE;
    for (size_t i = 0; i < v.len; i++)
        if (!is_ice_char(v.s[i]))
            return SHOAL_E_SDP_ICE;
    memset(out, 0, SHOAL_SDP_MAX_TEXT + 1); /* a repeated attribute leaves nothing behind */
    memcpy(out, v.s, v.len);
    return SHOAL_OK;
}

/* "sha-256 AB:CD:..." (32 pairs); other hash functions are skipped (SHOAL_E_AGAIN). */
static int fingerprint(line v, uint8_t out[32])
{
    if (v.len < 8 || (memcmp(v.s, "sha-256 ", 8) != 0 && memcmp(v.s, "SHA-256 ", 8) != 0))
        return SHOAL_E_AGAIN;
    v = after(v, "sha-256 ");
    if (v.len != 32 * 3 - 1)
        return SHOAL_E_SDP_FINGERPRINT;
    for (size_t i = 0; i < 32; i++) {
        int hi = shoal_hex_value(v.s[3 * i]), lo = shoal_hex_value(v.s[3 * i + 1]);
        if (hi < 0 || lo < 0 || (i < 31 && v.s[3 * i + 2] != ':'))
            return SHOAL_E_SDP_FINGERPRINT;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return SHOAL_OK;
}

static bool number(line v, uint32_t max, uint32_t *out)
{
    uint64_t n = 0;
    size_t i = 0;
    for (; i < v.len && v.s[i] >= '0' && v.s[i] <= '9' && n <= max; i++)
        n = n * 10 + (uint64_t)(v.s[i] - '0');
    if (i == 0 || n > max)
        return false;
    *out = (uint32_t)n;
    return true;
}

/* A value kept as text: printable, so that writing it out cannot break a line. */
static bool text(line v, char out[SHOAL_SDP_MAX_TEXT + 1])
{
    if (v.len > SHOAL_SDP_MAX_TEXT)
        return false;
    for (size_t i = 0; i < v.len; i++)
        if ((unsigned char)v.s[i] < 0x20 || v.s[i] == 0x7f)
            return false;
    memset(out, 0, SHOAL_SDP_MAX_TEXT + 1);
    memcpy(out, v.s, v.len);
    return true;
}

/* The section a line starts: data channel (with the old form's port), another medium. */
static bool data_section(line m, uint16_t *old_port)
{
    /* m=application <port> UDP/DTLS/SCTP webrtc-datachannel | DTLS/SCTP <sctp port> */
    if (!starts(m, "application "))
        return false;
    const char *sp = memchr(m.s + 12, ' ', m.len - 12);
    if (!sp)
        return false;
    line proto = {sp + 1, (size_t)(m.s + m.len - sp - 1)};
    if (starts(proto, "UDP/DTLS/SCTP webrtc-datachannel") ||
        starts(proto, "TCP/DTLS/SCTP webrtc-datachannel"))
        return true;
    uint32_t port;
    if (starts(proto, "DTLS/SCTP ") && number(after(proto, "DTLS/SCTP "), 65535, &port)) {
        *old_port = (uint16_t)port;
        return true;
    }
    return false;
}

/* One attribute of the session or of the data section. */
static int attribute(line a, shoal_sdp *out, bool *have_fp)
{
    uint32_t n;
    if (starts(a, "ice-ufrag:"))
        return ice_text(after(a, "ice-ufrag:"), 4, out->ice_ufrag);
    if (starts(a, "ice-pwd:"))
        return ice_text(after(a, "ice-pwd:"), 22, out->ice_pwd);
    if (starts(a, "fingerprint:")) {
        int rc = fingerprint(after(a, "fingerprint:"), out->fingerprint);
        if (rc == SHOAL_OK)
            *have_fp = true;
        return rc == SHOAL_E_AGAIN ? SHOAL_OK : rc;
    }
    if (starts(a, "setup:")) {
        line v = after(a, "setup:");
        static const char *const roles[] = {"actpass", "active", "passive"};
        for (int r = 0; r < 3; r++)
            if (v.len == strlen(roles[r]) && memcmp(v.s, roles[r], v.len) == 0) {
                out->setup = (shoal_sdp_setup)r;
                return SHOAL_OK;
            }
        return SHOAL_E_SDP_SETUP;
    }
    if (starts(a, "mid:"))
        return text(after(a, "mid:"), out->mid) ? SHOAL_OK : SHOAL_E_SDP_SYNTAX;
    if (starts(a, "sctp-port:")) {
        if (!number(after(a, "sctp-port:"), 65535, &n))
            return SHOAL_E_SDP_SYNTAX;
        out->sctp_port = (uint16_t)n;
        return SHOAL_OK;
    }
    if (starts(a, "sctpmap:")) { /* the old form: a=sctpmap:5000 webrtc-datachannel 1024 */
        if (!number(after(a, "sctpmap:"), 65535, &n))
            return SHOAL_E_SDP_SYNTAX;
        out->sctp_port = (uint16_t)n;
        return SHOAL_OK;
    }
    if (starts(a, "max-message-size:"))
        return number(after(a, "max-message-size:"), UINT32_MAX, &out->max_message_size)
                   ? SHOAL_OK
                   : SHOAL_E_SDP_SYNTAX;
    if (starts(a, "candidate:") && out->ncandidates < SHOAL_SDP_MAX_CANDIDATES)
        return text(a, out->candidates[out->ncandidates++]) ? SHOAL_OK : SHOAL_E_SDP_SYNTAX;
    return SHOAL_OK; /* attributes a data channel does not need */
}

int shoal_sdp_parse(const char *s, size_t len, shoal_sdp *out)
{
    memset(out, 0, sizeof *out);
    out->setup = SHOAL_SDP_ACTIVE; /* RFC 4145's default when the attribute is absent */
    bool have_fp = false, in_session = true, in_data = false, found = false, first = true;
    uint16_t old_port = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(s + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - s) : len;
        line l = {s + at, end - at};
        at = nl ? end + 1 : len;
        if (l.len > 0 && l.s[l.len - 1] == '\r')
            l.len--;
        if (l.len == 0)
            continue;
        if (l.len < 2 || l.s[1] != '=' || l.len > SHOAL_SDP_MAX_TEXT + 16 ||
            (first && !starts(l, "v=0")))
            return SHOAL_E_SDP_SYNTAX;
        first = false;
        if (l.s[0] == 'm') {
            in_session = false;
            /* only the first data-channel section counts */
            in_data = !found && data_section(after(l, "m="), &old_port);
            found |= in_data;
            continue;
        }
        if (l.s[0] != 'a' || !(in_session || in_data))
            continue;
        int rc = attribute(after(l, "a="), out, &have_fp);
        if (rc != SHOAL_OK)
            return rc;
    }
    if (first)
        return SHOAL_E_SDP_SYNTAX;
    if (!found)
        return SHOAL_E_SDP_NO_DATA;
    if (!out->ice_ufrag[0] || !out->ice_pwd[0])
        return SHOAL_E_SDP_ICE;
    if (!have_fp)
        return SHOAL_E_SDP_FINGERPRINT;
    if (out->sctp_port == 0)
        out->sctp_port = old_port ? old_port : 5000;
    return SHOAL_OK;
}

void shoal_sdp_write(const shoal_sdp *sdp, uint64_t session_id, shoal_buf *out)
{
    static const char *const roles[] = {"actpass", "active", "passive"};
    const char *mid = sdp->mid[0] ? sdp->mid : "0";
    shoal_buf_appendf(out,
                      "v=0\r\n"
                      "o=- %llu 2 IN IP4 127.0.0.1\r\n"
                      "s=-\r\n"
                      "t=0 0\r\n"
                      "a=group:BUNDLE %s\r\n"
                      "a=msid-semantic: WMS\r\n"
                      "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                      "c=IN IP4 0.0.0.0\r\n",
                      (unsigned long long)session_id, mid);
    for (size_t i = 0; i < sdp->ncandidates; i++)
        shoal_buf_appendf(out, "a=%s\r\n", sdp->candidates[i]);
    shoal_buf_appendf(out,
                      "a=ice-ufrag:%s\r\n"
                      "a=ice-pwd:%s\r\n"
                      "a=ice-options:trickle\r\n"
                      "a=fingerprint:sha-256 ",
                      sdp->ice_ufrag, sdp->ice_pwd);
    for (size_t i = 0; i < 32; i++)
        shoal_buf_appendf(out, "%02X%s", sdp->fingerprint[i], i < 31 ? ":" : "\r\n");
    shoal_buf_appendf(out,
                      "a=setup:%s\r\n"
                      "a=mid:%s\r\n"
                      "a=sctp-port:%u\r\n",
                      roles[sdp->setup], mid, sdp->sctp_port ? sdp->sctp_port : 5000);
    if (sdp->max_message_size)
        shoal_buf_appendf(out, "a=max-message-size:%u\r\n", sdp->max_message_size);
}

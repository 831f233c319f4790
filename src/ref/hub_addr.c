/* Hub addresses: what users paste, read into one canonical origin.
 *
 * The order of checks decides which mistake a user hears about, so it follows how people misread
 * addresses: a scheme first, then the authority (user info, host, port), then what trails it
 * (a path, a query, a fragment). */
#include "ref_internal.h"

#include <string.h>

static int fail(int rc, size_t at, size_t *err_at)
{
    if (err_at)
        *err_at = at;
    return rc;
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool has_prefix_nocase(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    if (len < n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(s[i]) != prefix[i])
            return false;
    return true;
}

/* Length of a URL scheme followed by "://" at the start of s, or 0. */
static size_t scheme_len(const char *s, size_t len)
{
    size_t i = 0;
    if (len == 0 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                       (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' || s[i] == '.'))
        i++;
    return (len - i >= 3 && memcmp(s + i, "://", 3) == 0) ? i : 0;
}

int shoal__parse_rtc_data(const char *s, size_t len, shoal_hub_addr *hub, size_t *err_at)
{
    size_t at = 0;
    int rc;
    hub->tls = true;
    if (len >= 2 && s[0] == '/' && s[1] == '/') {
        /* The original rtc plugin's `rtc://host:port`. */
        rc = shoal_authority_parse(s + 2, len - 2, &hub->host, &hub->port, &at);
        at += 2;
        if (rc == SHOAL_OK && hub->port == 0)
            hub->port = 443;
    } else {
        const char *colon = memrchr(s, ':', len);
        size_t marker = colon ? (size_t)(colon - s) : 0;
        if (colon && len - marker == 5 && memcmp(colon, ":http", 5) == 0) {
            hub->tls = false;
            len = marker;
        }
        rc = shoal__parse_hostport(s, len, &hub->host, &hub->port, &at);
    }
    return rc == SHOAL_OK ? rc : fail(rc, at, err_at);
}

/* `rtc:…` as a multiserver address: the first alternative whose transport is rtc names the hub;
 * its transforms (usually `~shs:<key>`, the peer's identity) do not concern the hub. */
static int parse_rtc(shoal_hub_addr *out, const char *s, size_t len, size_t *err_at)
{
    int rc = shoal__ms_check(s, len, err_at);
    if (rc != SHOAL_OK)
        return rc;
    size_t start = 0;
    while (start < len) {
        size_t end = start;
        while (end < len && s[end] != '~' && s[end] != ';')
            end += s[end] == '!' ? 2 : 1;
        if (end - start >= 4 && memcmp(s + start, "rtc:", 4) == 0) {
            size_t at = 0;
            rc = shoal__parse_rtc_data(s + start + 4, end - start - 4, out, &at);
            return rc == SHOAL_OK ? rc : fail(rc, start + 4 + at, err_at);
        }
        /* Skip the rest of this alternative. */
        while (end < len && s[end] != ';')
            end += s[end] == '!' ? 2 : 1;
        start = end + 1;
    }
    return fail(SHOAL_E_MS_NOT_RTC, 0, err_at);
}

int shoal_hub_addr_parse(shoal_hub_addr *out, const char *s, size_t len, size_t *err_at)
{
    size_t start = 0;
    while (len > 0 && is_space((unsigned char)s[len - 1]))
        len--;
    while (start < len && is_space((unsigned char)s[start]))
        start++;
    if (len - start > SHOAL_HUB_ADDR_MAXLEN)
        return fail(SHOAL_E_TOOLONG, start + SHOAL_HUB_ADDR_MAXLEN, err_at);
    if (start == len)
        return fail(SHOAL_E_ADDR_NO_HOST, start, err_at);
    for (size_t i = start; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return fail(SHOAL_E_ADDR_SPACE, i, err_at);

    const char *p = s + start;
    size_t n = len - start, at = 0;
    int rc;
    /* `rtc:…`, or any SSB multiserver address (it has a '~'): the hub is its rtc part. */
    if ((n >= 4 && memcmp(p, "rtc:", 4) == 0) ||
        (memchr(p, '~', n) && shoal__ms_check(p, n, NULL) == SHOAL_OK)) {
        rc = parse_rtc(out, p, n, &at);
        return rc == SHOAL_OK ? rc : fail(rc, start + at, err_at);
    }

    size_t i = 0;
    out->tls = true;
    size_t slen = scheme_len(p, n);
    if (slen > 0) {
        if (slen == 5 && has_prefix_nocase(p, n, "https"))
            out->tls = true;
        else if (slen == 4 && has_prefix_nocase(p, n, "http"))
            out->tls = false;
        else
            return fail(SHOAL_E_ADDR_SCHEME, start, err_at);
        i = slen + 3;
    }

    size_t auth_end = i;
    while (auth_end < n && p[auth_end] != '/' && p[auth_end] != '?' && p[auth_end] != '#')
        auth_end++;
    rc = shoal_authority_parse(p + i, auth_end - i, &out->host, &out->port, &at);
    if (rc != SHOAL_OK)
        return fail(rc, start + i + at, err_at);
    if (out->port == 0)
        out->port = out->tls ? 443 : 80;

    if (auth_end < n && p[auth_end] == '/') {
        auth_end++;
        if (auth_end < n && p[auth_end] != '?' && p[auth_end] != '#')
            return fail(SHOAL_E_ADDR_PATH, start + auth_end - 1, err_at);
    }
    if (auth_end < n)
        return fail(SHOAL_E_ADDR_QUERY, start + auth_end, err_at);
    return SHOAL_OK;
}

void shoal_hub_addr_from_rtc(shoal_hub_addr *out, const shoal_ms_info *rtc)
{
    out->tls = rtc->tls;
    out->host = rtc->host;
    out->port = rtc->port;
}

static void append_host(shoal_buf *out, const shoal_host *host, bool bracket_v6)
{
    bool br = bracket_v6 && host->kind == SHOAL_HOST_IPV6;
    if (br)
        shoal_buf_append_char(out, '[');
    shoal_buf_append_str(out, host->name);
    if (br)
        shoal_buf_append_char(out, ']');
}

void shoal_hub_addr_format(const shoal_hub_addr *hub, shoal_buf *out)
{
    shoal_buf_append_str(out, hub->tls ? "https://" : "http://");
    append_host(out, &hub->host, true);
    if (hub->port != (hub->tls ? 443 : 80))
        shoal_buf_appendf(out, ":%u", (unsigned)hub->port);
}

void shoal_hub_addr_format_rtc(const shoal_hub_addr *hub, shoal_buf *out)
{
    shoal_buf_append_str(out, "rtc:");
    append_host(out, &hub->host, false);
    shoal_buf_appendf(out, ":%u", (unsigned)hub->port);
    if (!hub->tls)
        shoal_buf_append_str(out, ":http");
}

bool shoal_hub_addr_equal(const shoal_hub_addr *a, const shoal_hub_addr *b)
{
    return a->tls == b->tls && a->port == b->port && a->host.kind == b->host.kind &&
           strcmp(a->host.name, b->host.name) == 0;
}

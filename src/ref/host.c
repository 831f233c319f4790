/* Hosts and ports: DNS names, IPv4 and IPv6 addresses, and the two ways addresses join a host to
 * a port (URL authorities and multiserver's last-field port). */
#include "ref_internal.h"

#include <arpa/inet.h>
#include <string.h>

#define MAX_NAME     253
#define MAX_LABEL    63
#define MAX_IPV6_TXT 45

static bool is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool all_digits(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return len > 0;
}

static int fail(int rc, size_t at, size_t *err_at)
{
    if (err_at)
        *err_at = at;
    return rc;
}

static int parse_ipv6(shoal_host *out, const char *s, size_t len, size_t *err_at)
{
    char txt[MAX_IPV6_TXT + 1];
    unsigned char bin[16];
    if (len > MAX_IPV6_TXT)
        return fail(SHOAL_E_ADDR_IPV6, 0, err_at);
    memcpy(txt, s, len);
    txt[len] = '\0';
    if (inet_pton(AF_INET6, txt, bin) != 1)
        return fail(SHOAL_E_ADDR_IPV6, 0, err_at);
    out->kind = SHOAL_HOST_IPV6;
    inet_ntop(AF_INET6, bin, out->name, sizeof out->name);
    return SHOAL_OK;
}

static int parse_ipv4(shoal_host *out, const char *s, size_t len, size_t *err_at)
{
    char txt[INET_ADDRSTRLEN];
    struct in_addr bin;
    if (len >= sizeof txt)
        return fail(SHOAL_E_ADDR_IPV4, 0, err_at);
    memcpy(txt, s, len);
    txt[len] = '\0';
    /* glibc's inet_pton takes exactly four decimal parts without leading zeros. */
    if (inet_pton(AF_INET, txt, &bin) != 1)
        return fail(SHOAL_E_ADDR_IPV4, 0, err_at);
    out->kind = SHOAL_HOST_IPV4;
    memcpy(out->name, txt, len + 1);
    return SHOAL_OK;
}

int shoal_host_parse(shoal_host *out, const char *s, size_t len, size_t *err_at)
{
    if (len == 0)
        return fail(SHOAL_E_ADDR_NO_HOST, 0, err_at);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80)
            return fail(SHOAL_E_ADDR_NONASCII, i, err_at);
        if (c <= 0x20 || c == 0x7f)
            return fail(SHOAL_E_ADDR_SPACE, i, err_at);
    }
    if (memchr(s, ':', len))
        return parse_ipv6(out, s, len, err_at);

    /* One trailing dot (the DNS root) is dropped. */
    if (len > 1 && s[len - 1] == '.')
        len--;
    /* A name whose last label is a number can only be an IPv4 address (as WHATWG URLs read it). */
    const char *last_dot = memrchr(s, '.', len);
    size_t last_start = last_dot ? (size_t)(last_dot - s) + 1 : 0;
    if (all_digits(s + last_start, len - last_start))
        return parse_ipv4(out, s, len, err_at);

    if (len > MAX_NAME)
        return fail(SHOAL_E_ADDR_HOST, MAX_NAME, err_at);
    size_t label_start = 0;
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = i < len ? (unsigned char)s[i] : '.';
        if (c == '.') {
            size_t label_len = i - label_start;
            if (label_len == 0 || label_len > MAX_LABEL)
                return fail(SHOAL_E_ADDR_HOST, label_start, err_at);
            if (s[label_start] == '-')
                return fail(SHOAL_E_ADDR_HOST, label_start, err_at);
            if (s[i - 1] == '-')
                return fail(SHOAL_E_ADDR_HOST, i - 1, err_at);
            label_start = i + 1;
        } else if (!is_alnum(c) && c != '-') {
            return fail(SHOAL_E_ADDR_HOST, i, err_at);
        }
    }
    out->kind = SHOAL_HOST_NAME;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        out->name[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out->name[len] = '\0';
    return SHOAL_OK;
}

const char *shoal_host_kind_name(shoal_host_kind kind)
{
    static const char *const names[] = {"name", "ipv4", "ipv6"};
    return names[kind];
}

int shoal__parse_port(const char *s, size_t len, uint16_t *port, size_t *err_at)
{
    if (len == 0)
        return fail(SHOAL_E_ADDR_PORT, 0, err_at);
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return fail(SHOAL_E_ADDR_PORT, i, err_at);
        v = v * 10 + (uint32_t)(s[i] - '0');
        if (v > 65535)
            return fail(SHOAL_E_ADDR_PORT, 0, err_at);
    }
    if (v == 0)
        return fail(SHOAL_E_ADDR_PORT, 0, err_at);
    *port = (uint16_t)v;
    return SHOAL_OK;
}

/* Parses s[0..len) as a host, shifting any error offset by `base`. */
static int host_at(shoal_host *host, const char *s, size_t base, size_t len, size_t *err_at)
{
    size_t at = 0;
    int rc = shoal_host_parse(host, s + base, len, &at);
    return rc == SHOAL_OK ? rc : fail(rc, base + at, err_at);
}

static int port_at(uint16_t *port, const char *s, size_t base, size_t len, size_t *err_at)
{
    size_t at = 0;
    int rc = shoal__parse_port(s + base, len, port, &at);
    return rc == SHOAL_OK ? rc : fail(rc, base + at, err_at);
}

int shoal_authority_parse(const char *s, size_t len, shoal_host *host, uint16_t *port,
                          size_t *err_at)
{
    const char *at_sign = memchr(s, '@', len);
    if (at_sign)
        return fail(SHOAL_E_ADDR_USERINFO, 0, err_at);
    size_t host_end;
    int rc;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return fail(SHOAL_E_ADDR_IPV6, len, err_at);
        host_end = (size_t)(close - s) + 1;
        rc = parse_ipv6(host, s + 1, host_end - 2, NULL);
        if (rc != SHOAL_OK)
            return fail(rc, 1, err_at);
        if (host_end < len && s[host_end] != ':')
            return fail(SHOAL_E_ADDR_PORT, host_end, err_at);
    } else {
        const char *colon = memchr(s, ':', len);
        host_end = colon ? (size_t)(colon - s) : len;
        if (colon && memchr(colon + 1, ':', len - host_end - 1))
            /* Two colons and no brackets: an IPv6 address written the way URLs do not allow. */
            return fail(SHOAL_E_ADDR_IPV6, 0, err_at);
        rc = host_at(host, s, 0, host_end, err_at);
        if (rc != SHOAL_OK)
            return rc;
    }
    *port = 0;
    /* "host:" with nothing after the colon means the default port, as in URLs. */
    if (host_end + 1 < len)
        return port_at(port, s, host_end + 1, len - host_end - 1, err_at);
    return SHOAL_OK;
}

int shoal__parse_hostport(const char *s, size_t len, shoal_host *host, uint16_t *port,
                          size_t *err_at)
{
    const char *colon = memrchr(s, ':', len);
    if (!colon)
        return fail(SHOAL_E_MS_FIELDS, len, err_at);
    size_t host_len = (size_t)(colon - s);
    int rc = port_at(port, s, host_len + 1, len - host_len - 1, err_at);
    if (rc != SHOAL_OK)
        return rc;
    if (host_len >= 2 && s[0] == '[' && s[host_len - 1] == ']') {
        rc = parse_ipv6(host, s + 1, host_len - 2, NULL);
        return rc == SHOAL_OK ? rc : fail(rc, 1, err_at);
    }
    return host_at(host, s, 0, host_len, err_at);
}

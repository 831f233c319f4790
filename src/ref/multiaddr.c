/* The multiserver address grammar (multiserver-address 1.0):
 *
 *   multi    = address *(";" address)
 *   address  = protocol *("~" protocol)
 *   protocol = name *(":" data)
 *   name     = [a-z] 1*[a-z0-9-]
 *   data     = *(%x22-39 / %x3C-7D / "!!" / "!~" / "!:" / "!;")
 *
 * Parsing takes two passes over the input. The first checks the grammar and counts alternatives,
 * protocols, fields and the bytes their unescaped text needs; the second fills one allocation
 * sized from those counts: the shoal_ms header, then the arrays, then the strings. Errors are
 * reported at the first byte that cannot continue a valid address, so every prefix of a valid
 * address fails (if it fails) at its very end. */
#include "ref_internal.h"

#include <stdalign.h>
#include <string.h>

/* Addresses are short; the cap keeps every count and size below overflow. */
#define MS_MAXLEN 65536

typedef struct counts {
    size_t addrs, protos, fields, text;
} counts;

static bool is_name_start(unsigned char c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_name_char(unsigned char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '-';
}

static bool is_data_char(unsigned char c)
{
    return (c >= 0x22 && c <= 0x39) || (c >= 0x3c && c <= 0x7d);
}

static bool is_escapable(unsigned char c)
{
    return c == '!' || c == '~' || c == ':' || c == ';';
}

static int fail(int rc, size_t at, size_t *err_at)
{
    if (err_at)
        *err_at = at;
    return rc;
}

static int check(const char *s, size_t len, counts *n, size_t *err_at)
{
    *n = (counts){1, 1, 0, 0};
    if (len > MS_MAXLEN)
        return fail(SHOAL_E_TOOLONG, MS_MAXLEN, err_at);
    size_t i = 0;
    for (;;) {
        /* A protocol: its name first. */
        size_t name_start = i;
        if (i == len || s[i] == '~' || s[i] == ';')
            return fail(SHOAL_E_MS_EMPTY, i, err_at);
        if (!is_name_start((unsigned char)s[i]))
            return fail(SHOAL_E_MS_NAME, i, err_at);
        i++;
        while (i < len && is_name_char((unsigned char)s[i]))
            i++;
        if (i - name_start < 2 || (i < len && s[i] != ':' && s[i] != '~' && s[i] != ';'))
            return fail(SHOAL_E_MS_NAME, i, err_at);
        n->text += i - name_start + 1;

        /* Then its fields. */
        while (i < len && s[i] == ':') {
            i++;
            n->fields++;
            n->text++;
            while (i < len && s[i] != ':' && s[i] != '~' && s[i] != ';') {
                unsigned char c = (unsigned char)s[i];
                if (c == '!') {
                    if (i + 1 == len || !is_escapable((unsigned char)s[i + 1]))
                        return fail(SHOAL_E_MS_ESCAPE, i + 1, err_at);
                    i++;
                } else if (!is_data_char(c)) {
                    return fail(SHOAL_E_MS_CHAR, i, err_at);
                }
                i++;
                n->text++;
            }
        }
        if (i == len)
            return SHOAL_OK;
        if (s[i] == ';')
            n->addrs++;
        n->protos++;
        i++;
    }
}

int shoal__ms_check(const char *s, size_t len, size_t *err_at)
{
    counts n;
    return check(s, len, &n, err_at);
}

/* Copies one name or field, unescaping, up to the next unescaped separator; returns the index
 * after it. */
static size_t copy_token(const char *s, size_t len, size_t i, char **text)
{
    char *out = *text;
    while (i < len && s[i] != ':' && s[i] != '~' && s[i] != ';') {
        if (s[i] == '!')
            i++;
        *out++ = s[i++];
    }
    *out++ = '\0';
    *text = out;
    return i;
}

int shoal_ms_parse(shoal_ms **out, const char *s, size_t len, size_t *err_at)
{
    counts n;
    int rc = check(s, len, &n, err_at);
    if (rc != SHOAL_OK)
        return rc;

    _Static_assert(alignof(shoal_ms_addr) <= alignof(shoal_ms), "layout");
    _Static_assert(alignof(shoal_ms_proto) <= alignof(shoal_ms_addr), "layout");
    _Static_assert(alignof(const char *) <= alignof(shoal_ms_proto), "layout");
    size_t size = sizeof(shoal_ms) + n.addrs * sizeof(shoal_ms_addr) +
                  n.protos * sizeof(shoal_ms_proto) + n.fields * sizeof(const char *) + n.text;
    shoal_ms *ms = shoal_malloc(size);
    if (!ms)
        return SHOAL_E_NOMEM;
    shoal_ms_addr *addrs = (shoal_ms_addr *)(ms + 1);
    shoal_ms_proto *protos = (shoal_ms_proto *)(addrs + n.addrs);
    const char **fields = (const char **)(protos + n.protos);
    char *text = (char *)(fields + n.fields);

    ms->naddrs = n.addrs;
    ms->addrs = addrs;
    shoal_ms_addr *addr = addrs;
    shoal_ms_proto *proto = protos;
    *addr = (shoal_ms_addr){0, proto};
    size_t i = 0;
    for (;;) {
        proto->name = text;
        proto->fields = fields;
        proto->nfields = 0;
        i = copy_token(s, len, i, &text);
        while (i < len && s[i] == ':') {
            *fields++ = text;
            proto->nfields++;
            i = copy_token(s, len, i + 1, &text);
        }
        addr->nprotos++;
        if (i == len)
            break;
        proto++;
        if (s[i] == ';') {
            addr++;
            *addr = (shoal_ms_addr){0, proto};
        }
        i++;
    }
    *out = ms;
    return SHOAL_OK;
}

void shoal_ms_free(shoal_ms *ms)
{
    shoal_free(ms);
}

static void append_escaped(shoal_buf *out, const char *s)
{
    for (; *s; s++) {
        if (is_escapable((unsigned char)*s))
            shoal_buf_append_char(out, '!');
        shoal_buf_append_char(out, *s);
    }
}

void shoal_ms_format(const shoal_ms *ms, shoal_buf *out)
{
    for (size_t a = 0; a < ms->naddrs; a++) {
        if (a > 0)
            shoal_buf_append_char(out, ';');
        const shoal_ms_addr *addr = &ms->addrs[a];
        for (size_t p = 0; p < addr->nprotos; p++) {
            if (p > 0)
                shoal_buf_append_char(out, '~');
            const shoal_ms_proto *proto = &addr->protos[p];
            shoal_buf_append_str(out, proto->name);
            for (size_t f = 0; f < proto->nfields; f++) {
                shoal_buf_append_char(out, ':');
                append_escaped(out, proto->fields[f]);
            }
        }
    }
}

bool shoal_ms_addr_is_ssb(const shoal_ms_addr *addr)
{
    return addr->nprotos >= 2;
}

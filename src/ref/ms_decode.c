/* Typed views of the multiserver protocols shoal knows. Protocols whose data is a URL or a
 * host and port (net, onion, rtc, ws, wss) are checked on their fields joined back with ':',
 * which is the text their authors wrote before the grammar split it. */
#include "ref_internal.h"

#include <string.h>

/* Longer joined text cannot be a host and port (a name is at most 253 bytes). */
#define JOIN_MAX 320

static const struct {
    const char *name;
    shoal_ms_kind kind;
} known[] = {
    {"net", SHOAL_MS_NET}, {"onion", SHOAL_MS_ONION}, {"ws", SHOAL_MS_WS},
    {"wss", SHOAL_MS_WSS}, {"rtc", SHOAL_MS_RTC},     {"tunnel", SHOAL_MS_TUNNEL},
    {"shs", SHOAL_MS_SHS},
};

shoal_ms_kind shoal_ms_kind_of(const char *name)
{
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(name, known[i].name) == 0)
            return known[i].kind;
    return SHOAL_MS_OTHER;
}

static int fail(int rc, size_t field, size_t *err_field)
{
    if (err_field)
        *err_field = field;
    return rc;
}

/* Joins fields [from, nfields) with ':' into `out`; false when they do not fit. */
static bool join_fields(const shoal_ms_proto *p, size_t from, char out[JOIN_MAX + 1], size_t *len)
{
    size_t n = 0;
    for (size_t f = from; f < p->nfields; f++) {
        size_t flen = strlen(p->fields[f]);
        if (n + flen + (f > from) > JOIN_MAX)
            return false;
        if (f > from)
            out[n++] = ':';
        memcpy(out + n, p->fields[f], flen);
        n += flen;
    }
    out[n] = '\0';
    *len = n;
    return true;
}

/* Which field of the joined text holds byte `at`. */
static size_t field_of(const char *joined, size_t at)
{
    size_t field = 0;
    for (size_t i = 0; i < at && joined[i]; i++)
        field += joined[i] == ':';
    return field;
}

static int decode_joined(const shoal_ms_proto *p, shoal_ms_info *out, size_t *err_field)
{
    char joined[JOIN_MAX + 1];
    size_t len = 0, at = 0;
    if (p->nfields == 0)
        return fail(SHOAL_E_MS_FIELDS, 0, err_field);
    if (!join_fields(p, 0, joined, &len))
        return fail(SHOAL_E_ADDR_HOST, 0, err_field);

    int rc;
    switch (out->kind) {
    case SHOAL_MS_RTC: {
        shoal_hub_addr hub;
        rc = shoal__parse_rtc_data(joined, len, &hub, &at);
        if (rc == SHOAL_OK) {
            out->host = hub.host;
            out->port = hub.port;
            out->tls = hub.tls;
        }
        break;
    }
    case SHOAL_MS_WS:
    case SHOAL_MS_WSS: {
        out->tls = out->kind == SHOAL_MS_WSS;
        /* The URL's path: it must sit in the last field, so it can be borrowed from there. */
        if (len < 2 || joined[0] != '/' || joined[1] != '/')
            return fail(SHOAL_E_MS_FIELDS, 0, err_field);
        const char *slash = memchr(joined + 2, '/', len - 2);
        size_t auth_end = slash ? (size_t)(slash - joined) : len;
        size_t last = p->nfields - 1;
        if (slash && field_of(joined, auth_end) != last)
            return fail(SHOAL_E_MS_FIELDS, field_of(joined, auth_end), err_field);
        size_t path_len = len - auth_end;
        out->path = p->fields[last] + strlen(p->fields[last]) - path_len;
        out->path_len = path_len;
        rc = shoal_authority_parse(joined + 2, auth_end - 2, &out->host, &out->port, &at);
        at += 2;
        if (rc == SHOAL_OK && out->port == 0)
            out->port = out->tls ? 443 : 80;
        break;
    }
    default: /* net, onion */
        rc = shoal__parse_hostport(joined, len, &out->host, &out->port, &at);
        if (rc == SHOAL_OK && out->kind == SHOAL_MS_ONION) {
            size_t hl = strlen(out->host.name);
            if (out->host.kind != SHOAL_HOST_NAME || hl < 7 ||
                strcmp(out->host.name + hl - 6, ".onion") != 0)
                rc = SHOAL_E_ADDR_ONION;
        }
        break;
    }
    return rc == SHOAL_OK ? rc : fail(rc, field_of(joined, at), err_field);
}

static int decode_tunnel(const shoal_ms_proto *p, shoal_ms_info *out, size_t *err_field)
{
    if (p->nfields != 2)
        return fail(SHOAL_E_MS_TUNNEL, p->nfields < 2 ? p->nfields : 2, err_field);
    shoal_ref *refs[2] = {&out->portal, &out->target};
    for (size_t f = 0; f < 2; f++) {
        if (shoal_ref_parse(refs[f], p->fields[f], strlen(p->fields[f]), NULL) != SHOAL_OK ||
            refs[f]->kind != SHOAL_REF_FEED)
            return fail(SHOAL_E_MS_TUNNEL, f, err_field);
    }
    return SHOAL_OK;
}

static int decode_shs(const shoal_ms_proto *p, shoal_ms_info *out, size_t *err_field)
{
    if (p->nfields < 1 || p->nfields > 2)
        return fail(SHOAL_E_MS_FIELDS, p->nfields < 1 ? 0 : 2, err_field);
    if (shoal_key_from_b64(out->key, p->fields[0], strlen(p->fields[0])) != SHOAL_OK)
        return fail(SHOAL_E_MS_SHS_KEY, 0, err_field);
    out->has_seed = p->nfields == 2;
    if (out->has_seed &&
        shoal_key_from_b64(out->seed, p->fields[1], strlen(p->fields[1])) != SHOAL_OK)
        return fail(SHOAL_E_MS_SHS_KEY, 1, err_field);
    return SHOAL_OK;
}

int shoal_ms_proto_decode(const shoal_ms_proto *p, shoal_ms_info *out, size_t *err_field)
{
    memset(out, 0, sizeof *out);
    out->path = "";
    out->kind = shoal_ms_kind_of(p->name);
    switch (out->kind) {
    case SHOAL_MS_OTHER:
        return SHOAL_OK;
    case SHOAL_MS_TUNNEL:
        return decode_tunnel(p, out, err_field);
    case SHOAL_MS_SHS:
        return decode_shs(p, out, err_field);
    default:
        return decode_joined(p, out, err_field);
    }
}

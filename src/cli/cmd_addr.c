/* `shoal addr`: one JSON line per argument saying what it is, its fields and canonical form, or
 * why it is invalid.
 *
 * What an argument is taken for: an SSB id when it starts with @, % or &; a hub address when it
 * starts with a URL scheme (`https://…`); a multiserver address when it starts with a protocol
 * shoal knows (`net:`, `rtc:`, `shs:`, …) or holds a '~' or ';'; otherwise a hub address
 * (`hub.example.com`, `localhost:9000`). */
#include "cli.h"

#include "shoal/ref.h"

#include <glib.h>
#include <jansson.h>
#include <string.h>

static const char help[] =
    "usage: shoal addr [ARG...]\n"
    "\n"
    "Explains each ARG (or, with none, each line of standard input) as one JSON line:\n"
    "  an SSB id          @<key>.ed25519 (feed), %<hash>.sha256 (message), &<hash>.sha256 (blob)\n"
    "  a multiserver addr net:host:port~shs:<key>, rtc:hub:443~shs:<key>, ws://…, tunnel:…, …\n"
    "  a hub address      https://hub.example.com, hub.example.com:443, http://127.0.0.1:9000\n"
    "\n"
    "Valid lines carry \"valid\":true, the \"type\", the \"canonical\" form and typed fields;\n"
    "invalid ones \"valid\":false, an \"error\" message, its \"code\" and where it went wrong.\n"
    "\n"
    "exit status: 0 all valid, 1 some invalid, 2 usage error, 3 failure\n";

/* JSON strings must be UTF-8; an argument need not be. */
static json_t *text(const char *s, size_t len)
{
    json_t *j = json_stringn(s, len);
    if (j)
        return j;
    char *valid = g_utf8_make_valid(s, (gssize)len);
    j = json_string(valid);
    g_free(valid);
    return j;
}

static json_t *buf_text(shoal_buf *b)
{
    return shoal_buf_status(b) == SHOAL_OK ? json_stringn(b->data ? b->data : "", b->len) : NULL;
}

static void set_error(json_t *o, int rc)
{
    json_object_set_new(o, "valid", json_false());
    json_object_set_new(o, "error", json_string(shoal_strerror(rc)));
    json_object_set_new(o, "code", json_string(shoal_errname(rc)));
}

static void set_host(json_t *o, const shoal_host *host, unsigned port)
{
    json_object_set_new(o, "host", json_string(host->name));
    json_object_set_new(o, "host_type", json_string(shoal_host_kind_name(host->kind)));
    json_object_set_new(o, "port", json_integer(port));
}

static void set_hub(json_t *o, const shoal_hub_addr *hub)
{
    shoal_buf url = SHOAL_BUF_INIT, rtc = SHOAL_BUF_INIT;
    shoal_hub_addr_format(hub, &url);
    shoal_hub_addr_format_rtc(hub, &rtc);
    json_object_set_new(o, "url", buf_text(&url));
    json_object_set_new(o, "rtc", buf_text(&rtc));
    json_object_set_new(o, "tls", json_boolean(hub->tls));
    set_host(o, &hub->host, hub->port);
    shoal_buf_free(&url);
    shoal_buf_free(&rtc);
}

static void explain_id(json_t *o, const char *s, size_t len)
{
    shoal_ref ref;
    size_t at = 0;
    int rc = shoal_ref_parse(&ref, s, len, &at);
    if (rc != SHOAL_OK) {
        json_object_set_new(o, "type", json_string("id"));
        set_error(o, rc);
        json_object_set_new(o, "offset", json_integer((json_int_t)at));
        return;
    }
    char canonical[SHOAL_REF_STRSIZE], key[SHOAL_KEY_B64SIZE];
    shoal_ref_format(&ref, canonical);
    shoal_key_to_b64(ref.key, key);
    json_object_set_new(o, "valid", json_true());
    json_object_set_new(o, "type", json_string(shoal_ref_kind_name(ref.kind)));
    json_object_set_new(o, "canonical", json_string(canonical));
    json_object_set_new(o, "key", json_string(key));
}

static void explain_hub(json_t *o, const char *s, size_t len)
{
    shoal_hub_addr hub;
    size_t at = 0;
    json_object_set_new(o, "type", json_string("hub"));
    int rc = shoal_hub_addr_parse(&hub, s, len, &at);
    if (rc != SHOAL_OK) {
        set_error(o, rc);
        json_object_set_new(o, "offset", json_integer((json_int_t)at));
        return;
    }
    shoal_buf canonical = SHOAL_BUF_INIT;
    shoal_hub_addr_format(&hub, &canonical);
    json_object_set_new(o, "valid", json_true());
    json_object_set_new(o, "canonical", buf_text(&canonical));
    set_hub(o, &hub);
    shoal_buf_free(&canonical);
}

/* The typed fields of one protocol, or NULL with *rc set. */
static json_t *explain_proto(const shoal_ms_proto *p, int *rc, size_t *err_field)
{
    shoal_ms_info info;
    *rc = shoal_ms_proto_decode(p, &info, err_field);
    if (*rc != SHOAL_OK)
        return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(p->name));
    char b64[SHOAL_KEY_B64SIZE], id[SHOAL_REF_STRSIZE];
    switch (info.kind) {
    case SHOAL_MS_OTHER: {
        json_t *fields = json_array();
        for (size_t f = 0; f < p->nfields; f++)
            json_array_append_new(fields, json_string(p->fields[f]));
        json_object_set_new(o, "known", json_false());
        json_object_set_new(o, "fields", fields);
        break;
    }
    case SHOAL_MS_NET:
    case SHOAL_MS_ONION:
        set_host(o, &info.host, info.port);
        break;
    case SHOAL_MS_WS:
    case SHOAL_MS_WSS:
        set_host(o, &info.host, info.port);
        json_object_set_new(o, "path", json_stringn(info.path, info.path_len));
        break;
    case SHOAL_MS_RTC: {
        shoal_hub_addr hub;
        shoal_hub_addr_from_rtc(&hub, &info);
        shoal_buf url = SHOAL_BUF_INIT;
        shoal_hub_addr_format(&hub, &url);
        set_host(o, &info.host, info.port);
        json_object_set_new(o, "tls", json_boolean(info.tls));
        json_object_set_new(o, "hub", buf_text(&url));
        shoal_buf_free(&url);
        break;
    }
    case SHOAL_MS_TUNNEL:
        shoal_ref_format(&info.portal, id);
        json_object_set_new(o, "portal", json_string(id));
        shoal_ref_format(&info.target, id);
        json_object_set_new(o, "target", json_string(id));
        break;
    case SHOAL_MS_SHS: {
        shoal_ref feed = {.kind = SHOAL_REF_FEED};
        memcpy(feed.key, info.key, sizeof feed.key);
        shoal_key_to_b64(info.key, b64);
        shoal_ref_format(&feed, id);
        json_object_set_new(o, "key", json_string(b64));
        json_object_set_new(o, "feed", json_string(id));
        if (info.has_seed) {
            shoal_key_to_b64(info.seed, b64);
            json_object_set_new(o, "seed", json_string(b64));
        }
        break;
    }
    }
    return o;
}

static void explain_ms(json_t *o, const char *s, size_t len)
{
    shoal_ms *ms = NULL;
    size_t at = 0;
    json_object_set_new(o, "type", json_string("multiserver"));
    int rc = shoal_ms_parse(&ms, s, len, &at);
    if (rc != SHOAL_OK) {
        set_error(o, rc);
        json_object_set_new(o, "offset", json_integer((json_int_t)at));
        return;
    }
    json_t *addrs = json_array();
    bool ssb = false;
    for (size_t a = 0; a < ms->naddrs && rc == SHOAL_OK; a++) {
        const shoal_ms_addr *addr = &ms->addrs[a];
        json_t *protos = json_array();
        for (size_t p = 0; p < addr->nprotos; p++) {
            size_t field = 0;
            json_t *proto = explain_proto(&addr->protos[p], &rc, &field);
            if (!proto) {
                set_error(o, rc);
                json_object_set_new(o, "address", json_integer((json_int_t)a));
                json_object_set_new(o, "protocol", json_integer((json_int_t)p));
                json_object_set_new(o, "field", json_integer((json_int_t)field));
                break;
            }
            json_array_append_new(protos, proto);
        }
        json_t *entry = json_object();
        json_object_set_new(entry, "ssb", json_boolean(shoal_ms_addr_is_ssb(addr)));
        json_object_set_new(entry, "protocols", protos);
        json_array_append_new(addrs, entry);
        ssb = ssb || shoal_ms_addr_is_ssb(addr);
    }
    if (rc == SHOAL_OK) {
        shoal_buf canonical = SHOAL_BUF_INIT;
        shoal_ms_format(ms, &canonical);
        json_object_set_new(o, "valid", json_true());
        json_object_set_new(o, "canonical", buf_text(&canonical));
        json_object_set_new(o, "ssb", json_boolean(ssb));
        json_object_set_new(o, "addresses", addrs);
        shoal_buf_free(&canonical);
    } else {
        json_decref(addrs);
    }
    shoal_ms_free(ms);
}

static bool looks_multiserver(const char *s, size_t len)
{
    if (memchr(s, '~', len) || memchr(s, ';', len))
        return true;
    const char *colon = memchr(s, ':', len);
    if (!colon)
        return false;
    size_t name_len = (size_t)(colon - s);
    char name[16];
    if (name_len >= sizeof name)
        return false;
    memcpy(name, s, name_len);
    name[name_len] = '\0';
    return shoal_ms_kind_of(name) != SHOAL_MS_OTHER;
}

static bool looks_url(const char *s, size_t len)
{
    const char *sep = g_strstr_len(s, (gssize)len, "://");
    if (!sep)
        return false;
    for (const char *p = s; p < sep; p++)
        if (!g_ascii_isalnum(*p) && *p != '+' && *p != '-' && *p != '.')
            return false;
    /* ws:// and wss:// are multiserver transports; rtc:// is the old rtc form. */
    return !looks_multiserver(s, len);
}

/* Prints one line; false when the argument was invalid. Sets *failed when the line could not be
 * written. */
static bool explain(const char *s, size_t len, bool *failed)
{
    json_t *o = json_object();
    json_object_set_new(o, "input", text(s, len));
    if (len > 0 && (s[0] == '@' || s[0] == '%' || s[0] == '&'))
        explain_id(o, s, len);
    else if (!looks_url(s, len) && looks_multiserver(s, len))
        explain_ms(o, s, len);
    else
        explain_hub(o, s, len);

    bool valid = json_is_true(json_object_get(o, "valid"));
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!line || puts(line) == EOF)
        *failed = true;
    free(line);
    json_decref(o);
    return valid;
}

int shoal_cmd_addr(int argc, char **argv)
{
    int first = 1;
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(help, stdout);
        return SHOAL_EXIT_OK;
    }
    if (argc > 1 && strcmp(argv[1], "--") == 0)
        first = 2;
    else if (argc > 1 && argv[1][0] == '-' && argv[1][1] != '\0') {
        fprintf(stderr, "shoal addr: unknown option '%s'\n%s", argv[1], help);
        return SHOAL_EXIT_USAGE;
    }

    bool all_valid = true, failed = false;
    if (first < argc) {
        for (int i = first; i < argc; i++)
            all_valid &= explain(argv[i], strlen(argv[i]), &failed);
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, stdin)) >= 0) {
            size_t len = (size_t)n;
            if (len > 0 && line[len - 1] == '\n')
                len--;
            if (len > 0 && line[len - 1] == '\r')
                len--;
            all_valid &= explain(line, len, &failed);
        }
        free(line);
    }
    if (fflush(stdout) != 0 || failed) {
        fprintf(stderr, "shoal addr: cannot write the output\n");
        return SHOAL_EXIT_FAILURE;
    }
    return all_valid ? SHOAL_EXIT_OK : SHOAL_EXIT_INVALID;
}

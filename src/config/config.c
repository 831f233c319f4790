/* The daemon's configuration file (see shoal/config.h): JSON read with jansson, every key
 * checked against a table, every error told with its key's path. */
#include "shoal/config.h"

#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum knob_kind { KNOB_DURATION, KNOB_COUNT, KNOB_FLAG, KNOB_BACKOFF, KNOB_SIZE } knob_kind;

typedef struct knob {
    const char *name;
    knob_kind kind;
    size_t offset;
} knob;

/* The state manager's knobs, by their names in the file. */
static const knob peer_knobs[] = {
#define KNOB(name, kind, field)                                                                    \
    {                                                                                              \
        name, kind, offsetof(shoal_conn_config, field)                                             \
    }
    KNOB("maxPeers", KNOB_COUNT, max_peers),
    KNOB("heartbeat", KNOB_DURATION, heartbeat),
    KNOB("announceAlone", KNOB_DURATION, announce_alone),
    KNOB("announcePeered", KNOB_DURATION, announce_peered),
    KNOB("announceJitter", KNOB_DURATION, announce_jitter),
    KNOB("timeoutRtc", KNOB_DURATION, timeout_rtc),
    KNOB("timeoutNet", KNOB_DURATION, timeout_net),
    KNOB("hubTimeout", KNOB_DURATION, hub_timeout),
    KNOB("timeoutRestart", KNOB_DURATION, timeout_restart),
    KNOB("backoff", KNOB_BACKOFF, backoff),
    KNOB("backoffBase", KNOB_DURATION, backoff_base),
    KNOB("backoffCap", KNOB_DURATION, backoff_cap),
    KNOB("hubBackoffBase", KNOB_DURATION, hub_backoff_base),
    KNOB("hubBackoffCap", KNOB_DURATION, hub_backoff_cap),
    KNOB("reconnectDelay", KNOB_DURATION, reconnect_delay),
    KNOB("forgetAfter", KNOB_DURATION, forget_after),
    KNOB("forgetFailures", KNOB_COUNT, forget_failures),
    KNOB("grace", KNOB_DURATION, grace),
    KNOB("lifetime", KNOB_DURATION, lifetime),
    KNOB("restAfterRotation", KNOB_DURATION, rest_after_rotation),
    KNOB("downloadWindow", KNOB_DURATION, download_window),
    KNOB("inboundWhenFull", KNOB_FLAG, inbound_when_full),
    KNOB("inboundPending", KNOB_COUNT, inbound_pending),
#undef KNOB
};

/* The resource manager's. */
static const knob limit_knobs[] = {
#define KNOB(name, kind, field)                                                                    \
    {                                                                                              \
        name, kind, offsetof(shoal_config_limits, field)                                           \
    }
    KNOB("handshakes", KNOB_COUNT, handshakes),
    KNOB("queued", KNOB_SIZE, queued),
    KNOB("queuedTotal", KNOB_SIZE, queued_total),
    KNOB("silent", KNOB_DURATION, silent),
    KNOB("streams", KNOB_COUNT, streams),
    KNOB("streamsPerFeed", KNOB_COUNT, streams_per_feed),
    KNOB("negotiations", KNOB_COUNT, negotiations),
#undef KNOB
};

typedef struct reader {
    char *why;
    size_t why_size;
} reader;

static int fail(reader *rd, const char *path, const char *fmt, ...) SHOAL_PRINTF(3, 4);
static int fail(reader *rd, const char *path, const char *fmt, ...)
{
    if (rd->why && rd->why_size) {
        int n = snprintf(rd->why, rd->why_size, "%s%s", path, *path ? ": " : "");
        va_list ap;
        va_start(ap, fmt);
        if (n >= 0 && (size_t)n < rd->why_size)
            vsnprintf(rd->why + n, rd->why_size - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return SHOAL_E_CONFIG;
}

void shoal_config_default(shoal_config *cfg)
{
    *cfg = (shoal_config){0};
    shoal_conn_config_default(&cfg->conn);
    strcpy(cfg->listen.host, "0.0.0.0");
    cfg->listen.port = SHOAL_CONFIG_DEFAULT_PORT;
    cfg->status_port = SHOAL_CONFIG_STATUS_PORT;
    cfg->limits = (shoal_config_limits){.handshakes = 64,
                                        .queued = 16u << 20,
                                        .queued_total = 48u << 20,
                                        .silent = 60000,
                                        .streams = 1024,
                                        .streams_per_feed = 4,
                                        .negotiations = 64};
}

bool shoal_config_limits_check(const shoal_config_limits *l)
{
    const uint64_t max_size = (uint64_t)1 << 40; /* 1 TiB: more is a mistake */
    return l->handshakes >= 1 && l->handshakes <= 65536 && l->queued >= (1u << 20) &&
           l->queued_total >= l->queued && l->queued_total <= max_size && l->silent >= 1000 &&
           l->silent <= 86400000 && l->streams >= 1 && l->streams <= 8192 &&
           l->streams_per_feed >= 1 && l->streams_per_feed <= l->streams && l->negotiations >= 2 &&
           l->negotiations <= 1024;
}

/* A size: whole bytes, or a string with a unit ("512KiB", "16MiB", "1GiB"). */
static bool parse_size(const json_t *v, uint64_t *out)
{
    if (json_is_integer(v))
        return json_integer_value(v) >= 0 && (*out = (uint64_t)json_integer_value(v), true);
    const char *s = json_string_value(v);
    if (!s || !(*s >= '0' && *s <= '9'))
        return false;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return false;
    static const struct {
        const char *unit;
        unsigned shift;
    } units[] = {{"B", 0}, {"KiB", 10}, {"MiB", 20}, {"GiB", 30}};
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (strcmp(end, units[i].unit) == 0 && n <= (UINT64_MAX >> units[i].shift)) {
            *out = (uint64_t)n << units[i].shift;
            return true;
        }
    return false;
}

void shoal_config_free(shoal_config *cfg)
{
    shoal_free(cfg->follows);
    cfg->follows = NULL;
    cfg->nfollows = 0;
}

/* The address to listen on: "IP:port" ("[v6]:port" too), 0 for any free port; "" for none.
 * An IP address only: the address to listen on is not looked up. */
static int read_listen(reader *rd, const json_t *v, shoal_config_server *out)
{
    const char *s = json_string_value(v);
    if (!s)
        return fail(rd, "listen", "a string \"host:port\" is expected");
    *out = (shoal_config_server){0};
    if (!*s)
        return SHOAL_OK;
    const char *colon = strrchr(s, ':');
    const char *host = s, *host_end = colon;
    if (colon && s[0] == '[' && colon > s && colon[-1] == ']')
        host++, host_end--;
    shoal_host h;
    char *end;
    unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
    if (!colon || !(colon[1] >= '0' && colon[1] <= '9') || *end || port > 65535)
        return fail(rd, "listen", "\"%s\" is not host:port (a port from 0 to 65535)", s);
    if ((size_t)(host_end - host) >= sizeof out->host ||
        shoal_host_parse(&h, host, (size_t)(host_end - host), NULL) != SHOAL_OK)
        return fail(rd, "listen", "\"%.*s\" is not a host name or IP address",
                    (int)(host_end - host), host);
    if (h.kind == SHOAL_HOST_NAME)
        return fail(rd, "listen",
                    "\"%s\" is a name: an IP address to listen on is expected (127.0.0.1 for this "
                    "machine alone, 0.0.0.0 or :: for every interface)",
                    h.name);
    memcpy(out->host, host, (size_t)(host_end - host));
    out->host[host_end - host] = '\0';
    out->port = (uint16_t)port;
    return SHOAL_OK;
}

static int read_string(reader *rd, const char *path, const json_t *v, char *out, size_t size)
{
    const char *s = json_string_value(v);
    if (!s)
        return fail(rd, path, "a string is expected");
    if (strlen(s) >= size)
        return fail(rd, path, "longer than %zu bytes", size - 1);
    strcpy(out, s);
    return SHOAL_OK;
}

static int read_knob(reader *rd, const char *section, const knob *k, const json_t *v, void *base)
{
    char path[64];
    snprintf(path, sizeof path, "%s.%s", section, k->name);
    void *field = (char *)base + k->offset;
    switch (k->kind) {
    case KNOB_DURATION: {
        shoal_time t;
        if (json_is_integer(v) && json_integer_value(v) >= 0)
            t = json_integer_value(v);
        else if (!json_is_string(v) || !shoal_parse_duration(json_string_value(v), &t))
            return fail(rd, path, "a duration like \"10s\", \"500ms\" or \"30m\" is expected");
        *(shoal_time *)field = t;
        return SHOAL_OK;
    }
    case KNOB_COUNT:
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
            return fail(rd, path, "a whole number from 0 to %u is expected", UINT32_MAX);
        *(uint32_t *)field = (uint32_t)json_integer_value(v);
        return SHOAL_OK;
    case KNOB_FLAG:
        if (!json_is_boolean(v))
            return fail(rd, path, "true or false is expected");
        *(bool *)field = json_is_true(v);
        return SHOAL_OK;
    case KNOB_BACKOFF:
        if (!json_is_string(v) || !shoal_backoff_parse(json_string_value(v), field))
            return fail(rd, path, "\"shoal\", \"ssb-conn\" or \"libp2p\" is expected");
        return SHOAL_OK;
    case KNOB_SIZE: {
        uint64_t n;
        if (!parse_size(v, &n) || n > SIZE_MAX)
            return fail(rd, path, "a size like \"16MiB\", \"512KiB\" or whole bytes is expected");
        *(size_t *)field = (size_t)n;
        return SHOAL_OK;
    }
    }
    return SHOAL_E_INVAL;
}

/* An object of knobs (`section`: "peers" or "limits", of `whose`) into `base`. */
static int read_knobs(reader *rd, const char *section, const char *whose, const knob *table,
                      size_t n, const json_t *obj, void *base)
{
    if (!json_is_object(obj))
        return fail(rd, section, "an object of the %s's knobs is expected", whose);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i = 0;
        while (i < n && strcmp(table[i].name, key) != 0)
            i++;
        if (i == n)
            return fail(rd, section, "\"%s\" is not a knob of the %s", key, whose);
        int rc = read_knob(rd, section, &table[i], v, base);
        if (rc != SHOAL_OK)
            return rc;
    }
    return SHOAL_OK;
}

static int read_peers(reader *rd, const json_t *peers, shoal_conn_config *conn)
{
    int rc = read_knobs(rd, "peers", "state manager", peer_knobs,
                        sizeof peer_knobs / sizeof *peer_knobs, peers, conn);
    if (rc != SHOAL_OK)
        return rc;
    if (shoal_conn_config_check(conn) != SHOAL_OK)
        return fail(rd, "peers",
                    "out of range (periods and timeouts above zero, maxPeers at least 1, each "
                    "cap at least its base)");
    return SHOAL_OK;
}

static int read_limits(reader *rd, const json_t *limits, shoal_config_limits *l)
{
    int rc = read_knobs(rd, "limits", "resource manager", limit_knobs,
                        sizeof limit_knobs / sizeof *limit_knobs, limits, l);
    if (rc != SHOAL_OK)
        return rc;
    if (!shoal_config_limits_check(l))
        return fail(rd, "limits",
                    "out of range (handshakes from 1 to 65536, queued from 1MiB to queuedTotal, "
                    "queuedTotal at most 1TiB, silent from 1s to 24h, streams from 1 to 8192, "
                    "streamsPerFeed from 1 to streams, negotiations from 2 to 1024)");
    return SHOAL_OK;
}

static int read_hubs(reader *rd, const json_t *hubs, shoal_config *cfg)
{
    if (!json_is_array(hubs))
        return fail(rd, "hubs", "an array of hub addresses is expected");
    size_t i;
    json_t *v;
    json_array_foreach(hubs, i, v)
    {
        char path[32];
        snprintf(path, sizeof path, "hubs[%zu]", i);
        const char *s = json_string_value(v);
        if (!s)
            return fail(rd, path, "a hub address (a string) is expected");
        shoal_hub_addr hub;
        int rc = shoal_hub_addr_parse(&hub, s, strlen(s), NULL);
        if (rc != SHOAL_OK)
            return fail(rd, path, "\"%s\": %s", s, shoal_strerror(rc));
        bool again = false; /* a hub listed twice, in any of its forms, is held once */
        for (size_t k = 0; k < cfg->nhubs && !again; k++)
            again = shoal_hub_addr_equal(&cfg->hubs[k], &hub);
        if (!again && cfg->nhubs == SHOAL_CONFIG_MAX_HUBS)
            return fail(rd, "hubs", "more than %d hubs", SHOAL_CONFIG_MAX_HUBS);
        if (!again)
            cfg->hubs[cfg->nhubs++] = hub;
    }
    return SHOAL_OK;
}

static int read_follows(reader *rd, const json_t *follow, shoal_config *cfg)
{
    if (!json_is_array(follow))
        return fail(rd, "follow", "an array of feed ids is expected");
    size_t n = json_array_size(follow);
    if (n > SHOAL_CONFIG_MAX_FOLLOWS)
        return fail(rd, "follow", "more than %d feeds", SHOAL_CONFIG_MAX_FOLLOWS);
    if (n && !(cfg->follows = shoal_calloc(n, 32)))
        return SHOAL_E_NOMEM;
    size_t i;
    json_t *v;
    json_array_foreach(follow, i, v)
    {
        char path[32];
        snprintf(path, sizeof path, "follow[%zu]", i);
        const char *s = json_string_value(v);
        shoal_ref ref;
        if (!s || shoal_ref_parse(&ref, s, strlen(s), NULL) != SHOAL_OK ||
            ref.kind != SHOAL_REF_FEED)
            return fail(rd, path, "a feed id (\"@….ed25519\") is expected");
        memcpy(cfg->follows[cfg->nfollows++], ref.key, 32);
    }
    return SHOAL_OK;
}

/* One STUN or TURN URL (or an old "host:port", read as `scheme`:host:port) into the list. */
static int add_ice(reader *rd, const char *path, const char *s, shoal_ice_scheme scheme,
                   const char *username, const char *credential, shoal_config *cfg)
{
    static const char *const prefixes[] = {"stun:", "turn:", "turns:", "stuns:"};
    bool is_url = false;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        is_url |= strncasecmp(s, prefixes[i], strlen(prefixes[i])) == 0;
    char url[600];
    snprintf(url, sizeof url, "%s%s",
             is_url                     ? ""
             : scheme == SHOAL_ICE_STUN ? "stun:"
                                        : "turn:",
             s);
    shoal_ice_server server;
    int rc = shoal_ice_url_parse(&server, url, strlen(url));
    if (rc != SHOAL_OK)
        return fail(rd, path, "\"%s\": %s", s, shoal_strerror(rc));
    if ((scheme == SHOAL_ICE_STUN) != (server.scheme == SHOAL_ICE_STUN))
        return fail(rd, path, "\"%s\" is not a %s server", s,
                    scheme == SHOAL_ICE_STUN ? "STUN (stun:)" : "TURN (turn: or turns:)");
    if (scheme != SHOAL_ICE_STUN) {
        if (strlen(username) >= sizeof server.username ||
            strlen(credential) >= sizeof server.credential)
            return fail(rd, path, "a username or credential longer than %zu bytes",
                        sizeof server.username - 1);
        strcpy(server.username, username);
        strcpy(server.credential, credential);
    }
    if (!shoal_ice_servers_add(&cfg->ice, &server))
        return fail(rd, path, "more than %d STUN and TURN servers", SHOAL_ICE_MAX_SERVERS);
    return SHOAL_OK;
}

static int read_stun(reader *rd, const json_t *v, shoal_config *cfg)
{
    const char *s = json_string_value(v);
    if (s) /* the older form: one "host:port", "" for none */
        return *s ? add_ice(rd, "stun", s, SHOAL_ICE_STUN, "", "", cfg)
                  : (cfg->no_stun = true, SHOAL_OK);
    if (!json_is_array(v))
        return fail(rd, "stun", "a list of STUN URLs (\"stun:host[:port]\") is expected");
    cfg->no_stun = json_array_size(v) == 0;
    size_t i;
    const json_t *url;
    json_array_foreach(v, i, url)
    {
        char path[32];
        snprintf(path, sizeof path, "stun[%zu]", i);
        if (!json_is_string(url))
            return fail(rd, path, "a STUN URL (\"stun:host[:port]\") is expected");
        int rc = add_ice(rd, path, json_string_value(url), SHOAL_ICE_STUN, "", "", cfg);
        if (rc != SHOAL_OK)
            return rc;
    }
    return SHOAL_OK;
}

/* One TURN entry: {"urls", "username", "credential"}, or the older {"server", "user",
 * "password"}. */
static int read_turn_entry(reader *rd, const char *path, const json_t *e, shoal_config *cfg)
{
    if (!json_is_object(e))
        return fail(rd, path, "an object {\"urls\", \"username\", \"credential\"} is expected");
    bool old = json_object_get(e, "server") != NULL;
    const char *const known[] = {old ? "server" : "urls", old ? "user" : "username",
                                 old ? "password" : "credential"};
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)e, key, v)
    {
        if (strcmp(key, known[0]) != 0 && strcmp(key, known[1]) != 0 && strcmp(key, known[2]) != 0)
            return fail(rd, path, "\"%s\" is not known (%s, %s, %s)", key, known[0], known[1],
                        known[2]);
    }
    const json_t *urls = json_object_get(e, known[0]);
    const json_t *user = json_object_get(e, known[1]), *cred = json_object_get(e, known[2]);
    if (!json_is_string(user) || !json_is_string(cred))
        return fail(rd, path, "a TURN server needs \"%s\" and \"%s\" (strings)", known[1],
                    known[2]);
    const char *u = json_string_value(user), *c = json_string_value(cred);
    if (json_is_string(urls))
        return add_ice(rd, path, json_string_value(urls), SHOAL_ICE_TURN, u, c, cfg);
    if (!json_is_array(urls) || json_array_size(urls) == 0)
        return fail(rd, path, "\"%s\": a TURN URL or a list of them is expected", known[0]);
    size_t i;
    const json_t *url;
    json_array_foreach(urls, i, url)
    {
        if (!json_is_string(url))
            return fail(rd, path, "\"%s\": a TURN URL or a list of them is expected", known[0]);
        int rc = add_ice(rd, path, json_string_value(url), SHOAL_ICE_TURN, u, c, cfg);
        if (rc != SHOAL_OK)
            return rc;
    }
    return SHOAL_OK;
}

static int read_turn(reader *rd, const json_t *v, shoal_config *cfg)
{
    if (json_is_object(v)) /* one entry */
        return read_turn_entry(rd, "turn", v, cfg);
    if (!json_is_array(v))
        return fail(rd, "turn", "a list of {\"urls\", \"username\", \"credential\"} is expected");
    cfg->no_turn = json_array_size(v) == 0;
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e)
    {
        char path[32];
        snprintf(path, sizeof path, "turn[%zu]", i);
        int rc = read_turn_entry(rd, path, e, cfg);
        if (rc != SHOAL_OK)
            return rc;
    }
    return SHOAL_OK;
}

static int read_mdns(reader *rd, const json_t *v, shoal_config_mdns *out)
{
    static const char *const names[] = {"resolve", "hide", "off"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (json_is_string(v) && strcmp(json_string_value(v), names[i]) == 0) {
            *out = (shoal_config_mdns)i;
            return SHOAL_OK;
        }
    return fail(rd, "mdns", "\"resolve\", \"hide\" or \"off\" is expected");
}

static int read_all(reader *rd, const json_t *root, shoal_config *cfg)
{
    if (!json_is_object(root))
        return fail(rd, "", "the configuration must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)root, key, v)
    {
        int rc;
        if (strcmp(key, "listen") == 0)
            rc = read_listen(rd, v, &cfg->listen);
        else if (strcmp(key, "hubs") == 0)
            rc = read_hubs(rd, v, cfg);
        else if (strcmp(key, "follow") == 0)
            rc = read_follows(rd, v, cfg);
        else if (strcmp(key, "replicatePeers") == 0)
            rc = json_is_boolean(v) ? (cfg->replicate_peers = json_is_true(v), SHOAL_OK)
                                    : fail(rd, "replicatePeers", "true or false is expected");
        else if (strcmp(key, "ebt") == 0)
            rc = json_is_boolean(v) ? (cfg->no_ebt = json_is_false(v), SHOAL_OK)
                                    : fail(rd, "ebt", "true or false is expected");
        else if (strcmp(key, "statusPort") == 0)
            rc = json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 65535
                     ? (cfg->status_port = (uint16_t)json_integer_value(v), SHOAL_OK)
                     : fail(rd, "statusPort", "a port from 0 to 65535 is expected");
        else if (strcmp(key, "stun") == 0)
            rc = read_stun(rd, v, cfg);
        else if (strcmp(key, "tlsCaFile") == 0)
            rc = read_string(rd, "tlsCaFile", v, cfg->tls_ca_file, sizeof cfg->tls_ca_file);
        else if (strcmp(key, "turn") == 0)
            rc = read_turn(rd, v, cfg);
        else if (strcmp(key, "mdns") == 0)
            rc = read_mdns(rd, v, &cfg->mdns);
        else if (strcmp(key, "peers") == 0)
            rc = read_peers(rd, v, &cfg->conn);
        else if (strcmp(key, "limits") == 0)
            rc = read_limits(rd, v, &cfg->limits);
        else
            rc = fail(rd, "", "\"%s\" is not a setting shoal knows", key);
        if (rc != SHOAL_OK)
            return rc;
    }
    return SHOAL_OK;
}

int shoal_config_parse(shoal_config *cfg, const char *text, size_t len, char *why, size_t why_size)
{
    reader rd = {why, why_size};
    shoal_config_default(cfg);
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return fail(&rd, "", "line %d, column %d: %s", err.line, err.column, err.text);
    int rc = read_all(&rd, root, cfg);
    json_decref(root);
    if (rc != SHOAL_OK) {
        shoal_config_free(cfg);
        shoal_config_default(cfg);
    }
    return rc;
}

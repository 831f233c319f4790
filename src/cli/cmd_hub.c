/* `shoal hub`: the signal hub, until SIGTERM or SIGINT (then a graceful shutdown). */
#include "cli.h"

#include "shoal/hub_server.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const char help[] =
    "usage: shoal hub [--listen HOST:PORT] [options]\n"
    "\n"
    "Runs a signal hub, wire-compatible with signalhub 4.9: GET / (status), GET /v1/APP/CH,CH\n"
    "(an event stream), POST /v1/APP/CH (a broadcast), GET /metrics (Prometheus text).\n"
    "\n"
    "  --listen HOST:PORT     address to listen on (default 127.0.0.1:9000; [::1]:9000;\n"
    "                         port 0 picks a free one, printed on standard output)\n"
    "  --cert FILE --key FILE serve HTTPS with this PEM certificate and key\n"
    "  --max-body BYTES       largest broadcast body (default 65536; larger gets 413)\n"
    "  --max-unsent BYTES     a subscriber further behind is dropped (default 1048576)\n"
    "  --max-per-address N    connections from one address (default 256; more get 429)\n"
    "  --heartbeat MS         heartbeat comment period (default 30000)\n"
    "  --request-timeout MS   a request's head and body must arrive within this (default 10000;\n"
    "                         slower ones get 408 and are closed)\n"
    "  --idle-timeout MS      an idle keep-alive connection is closed (default 60000)\n"
    "  --max-rate N           requests a second from one address (default 200, bursts of\n"
    "                         twice that); beyond, its connections wait (0: no limit)\n"
    "  --redis HOST:PORT      share broadcasts with the other hubs behind this hub's name\n"
    "                         through Redis pub/sub (or unix:PATH); without it, the hub runs\n"
    "                         alone. While Redis is away, it serves its own clients alone.\n"
    "  --redis-channel NAME   the Redis channel the group shares (default shoal-hub)\n"
    "  --stun URL             a STUN server to tell peers of (stun:host[:port]; repeatable)\n"
    "  --turn URL             a TURN server to tell peers of (turn:host[:port][?transport=tcp]\n"
    "                         or turns:host[:port]; repeatable), with credentials made for each\n"
    "                         peer from the secret it shares with the hub (coturn's\n"
    "                         use-auth-secret and static-auth-secret)\n"
    "  --turn-secret-file FILE  that secret: the file's first line\n"
    "  --ice-ttl SECONDS      how long the TURN credentials hold (default 43200)\n"
    "    Peers ask for them with GET /v1/ice, signed with their feed key; a hub with no\n"
    "    --stun or --turn answers it 404.\n"
    "\n"
    "SIGTERM or SIGINT: stop accepting, finish writing to every stream, exit 0.\n"
    "exit status: 0 after a clean shutdown, 2 usage error, 3 failure (cannot listen)\n";

static bool parse_listen(const char *s, char **host, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon[1] == '\0')
        return false;
    char *end;
    errno = 0;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (errno || *end || p > 65535 || colon[1] == '-')
        return false;
    size_t hl = (size_t)(colon - s);
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']')
        *host = g_strndup(s + 1, hl - 2);
    else
        *host = hl ? g_strndup(s, hl) : g_strdup("0.0.0.0");
    *port = (uint16_t)p;
    return true;
}

static bool parse_size(const char *s, size_t lo, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || end == s || s[0] == '-' || v < lo || v > (1ULL << 40))
        return false;
    *out = (size_t)v;
    return true;
}

/* A count or duration that fits 32 bits, at least lo. */
static bool parse_u32(const char *s, size_t lo, uint32_t *out)
{
    size_t v;
    if (!parse_size(s, lo, &v) || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* The first line of a file: the secret shared with the TURN servers. */
static bool read_secret(const char *path, char **out, size_t *len)
{
    char *text = NULL;
    GError *err = NULL;
    if (!g_file_get_contents(path, &text, NULL, &err)) {
        fprintf(stderr, "shoal hub: %s\n", err->message);
        g_error_free(err);
        return false;
    }
    text[strcspn(text, "\r\n")] = '\0';
    *len = strlen(text);
    if (*len == 0) {
        fprintf(stderr, "shoal hub: %s: the first line holds no secret\n", path);
        g_free(text);
        return false;
    }
    *out = text;
    return true;
}

static bool add_ice(shoal_ice_servers *ice, const char *url, bool stun)
{
    shoal_ice_server s;
    int rc = shoal_ice_url_parse(&s, url, strlen(url));
    if (rc != SHOAL_OK || (s.scheme == SHOAL_ICE_STUN) != stun) {
        fprintf(stderr, "shoal hub: --%s %s: %s\n", stun ? "stun" : "turn", url,
                rc != SHOAL_OK ? shoal_strerror(rc)
                : stun         ? "not a STUN URL (stun:host[:port])"
                               : "not a TURN URL (turn: or turns:)");
        return false;
    }
    if (!shoal_ice_servers_add(ice, &s)) {
        fprintf(stderr, "shoal hub: more than %d STUN and TURN servers\n", SHOAL_ICE_MAX_SERVERS);
        return false;
    }
    return true;
}

static GMainLoop *loop;
static shoal_hub_server *server;

static void stopped(void *ud)
{
    (void)ud;
    g_main_loop_quit(loop);
}

static gboolean on_signal(gpointer ud)
{
    (void)ud;
    shoal_hub_server_shutdown(server, stopped, NULL);
    return G_SOURCE_REMOVE;
}

int shoal_cmd_hub(int argc, char **argv)
{
    shoal_hub_server_config cfg;
    shoal_hub_server_config_default(&cfg);
    char *host = NULL, *secret = NULL;
    shoal_ice_servers ice = {0};
    cfg.ice = &ice;
    int status = SHOAL_EXIT_USAGE;
    for (int i = 1; i < argc; i += 2) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            fputs(help, stdout);
            status = SHOAL_EXIT_OK;
            goto done;
        }
        if (!val) {
            fprintf(stderr, "shoal hub: %s needs a value (see --help)\n", opt);
            goto done;
        }
        bool ok = true;
        if (strcmp(opt, "--listen") == 0) {
            g_free(host);
            host = NULL;
            ok = parse_listen(val, &host, &cfg.port);
        } else if (strcmp(opt, "--cert") == 0)
            cfg.cert_file = val;
        else if (strcmp(opt, "--key") == 0)
            cfg.key_file = val;
        else if (strcmp(opt, "--max-body") == 0)
            ok = parse_size(val, 1, &cfg.max_body);
        else if (strcmp(opt, "--max-unsent") == 0)
            ok = parse_size(val, 1024, &cfg.max_unsent);
        else if (strcmp(opt, "--max-per-address") == 0)
            ok = parse_u32(val, 1, &cfg.max_per_address);
        else if (strcmp(opt, "--heartbeat") == 0)
            ok = parse_u32(val, 10, &cfg.heartbeat_ms);
        else if (strcmp(opt, "--request-timeout") == 0)
            ok = parse_u32(val, 100, &cfg.request_ms);
        else if (strcmp(opt, "--idle-timeout") == 0)
            ok = parse_u32(val, 100, &cfg.idle_ms);
        else if (strcmp(opt, "--max-rate") == 0)
            ok = parse_u32(val, 0, &cfg.max_rate);
        else if (strcmp(opt, "--redis") == 0)
            cfg.redis = val;
        else if (strcmp(opt, "--redis-channel") == 0)
            ok = *(cfg.redis_channel = val) != '\0';
        else if (strcmp(opt, "--stun") == 0 || strcmp(opt, "--turn") == 0) {
            if (!add_ice(&ice, val, opt[2] == 's'))
                goto done;
        } else if (strcmp(opt, "--turn-secret-file") == 0) {
            g_free(secret);
            secret = NULL;
            if (!read_secret(val, &secret, &cfg.turn_secret_len))
                goto done;
            cfg.turn_secret = (const uint8_t *)secret;
        } else if (strcmp(opt, "--ice-ttl") == 0)
            ok = parse_u32(val, 60, &cfg.ice_ttl_s) && cfg.ice_ttl_s <= 7 * 86400;
        else {
            fprintf(stderr, "shoal hub: unknown option '%s'\n%s", opt, help);
            goto done;
        }
        if (!ok) {
            fprintf(stderr, "shoal hub: %s needs a valid value, not '%s'\n", opt, val);
            goto done;
        }
    }
    if (host)
        cfg.host = host;

    /* every connection is a descriptor: the soft limit (often 1,024) goes up to the hard one */
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &files);
    }
    char *why = NULL;
    int rc = shoal_hub_server_start(&server, &cfg, &why);
    if (rc != SHOAL_OK) {
        fprintf(stderr, "shoal hub: %s: %s\n", shoal_strerror(rc), why ? why : "");
        g_free(why);
        status = rc == SHOAL_E_INVAL ? SHOAL_EXIT_USAGE : SHOAL_EXIT_FAILURE;
        goto done;
    }
    bool v6 = strchr(cfg.host, ':') != NULL;
    printf("listening on %s://%s%s%s:%u\n", cfg.cert_file ? "https" : "http", v6 ? "[" : "",
           cfg.host, v6 ? "]" : "", shoal_hub_server_port(server));
    fflush(stdout);
    loop = g_main_loop_new(NULL, FALSE);
    g_unix_signal_add(SIGTERM, on_signal, NULL);
    g_unix_signal_add(SIGINT, on_signal, NULL);
    g_main_loop_run(loop);
    g_main_loop_unref(loop);
    shoal_hub_server_free(server);
    status = SHOAL_EXIT_OK;
done:
    if (secret)
        sodium_memzero(secret, strlen(secret));
    g_free(secret);
    g_free(host);
    return status;
}

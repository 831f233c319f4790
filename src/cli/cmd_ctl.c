/* The commands that talk to a running `shoal run` over its control socket (its protocol is in
 * shoal/daemon.h): status, publish, feed, hubs. Each prints a human-readable answer, or with
 * --json the daemon's answer as it came (one JSON object on a line). */
#include "cli.h"

#include "shoal/daemon.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char common[] =
    "\n"
    "options:\n"
    "  --home DIR   the daemon's home (default $SHOAL_HOME, else ~/.shoal)\n"
    "  --json       print the daemon's answer as JSON\n"
    "\n"
    "exit status: 0 done, 1 the daemon refused (the reason is on stderr), 2 usage error,\n"
    "3 the daemon cannot be reached (is `shoal run` running?)\n";

typedef struct ctl {
    const char *name; /* the command, for messages */
    const char *home;
    bool json;
} ctl;

/* A connection to the daemon's control socket; NULL (said why) when there is no daemon. */
static GSocketConnection *connect_control(const ctl *c)
{
    char *home = shoal_daemon_home(c->home);
    char *path = shoal_daemon_socket_path(home);
    GSocketClient *client = g_socket_client_new();
    GSocketAddress *addr = g_unix_socket_address_new(path);
    GError *error = NULL;
    GSocketConnection *conn =
        g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, &error);
    if (!conn) {
        fprintf(stderr, "shoal %s: no daemon at %s: %s\n", c->name, path, error->message);
        g_error_free(error);
    }
    g_object_unref(addr);
    g_object_unref(client);
    free(path);
    free(home);
    return conn;
}

/* Sends one request (taken) on `conn`; the daemon's answer, or NULL (said why). */
static json_t *exchange(const ctl *c, GSocketConnection *conn, GDataInputStream *in,
                        json_t *request)
{
    char *text = json_dumps(request, JSON_COMPACT);
    char *line = g_strdup_printf("%s\n", text);
    free(text);
    json_decref(request);
    GError *error = NULL;
    gsize len = 0;
    char *answer = NULL;
    if (g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(conn)), line,
                                  strlen(line), NULL, NULL, &error))
        answer = g_data_input_stream_read_line(in, &len, NULL, &error);
    json_t *reply = answer ? json_loadb(answer, len, 0, NULL) : NULL;
    if (!reply)
        fprintf(stderr, "shoal %s: the daemon did not answer: %s\n", c->name,
                error ? error->message : "not JSON");
    g_clear_error(&error);
    g_free(answer);
    g_free(line);
    return reply;
}

/* Sends one request and returns the daemon's answer; NULL (said why) when it cannot be
 * reached or answers nonsense. */
static json_t *ask(const ctl *c, json_t *request)
{
    GSocketConnection *conn = connect_control(c);
    if (!conn) {
        json_decref(request);
        return NULL;
    }
    GDataInputStream *in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(conn)));
    json_t *reply = exchange(c, conn, in, request);
    g_object_unref(in);
    g_object_unref(conn);
    return reply;
}

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "-";
}

/* Asks, then prints the answer as JSON or with `show`; the exit status. A NULL request is one
 * jansson would not build: an argument that is not UTF-8. */
static int run(const ctl *c, json_t *request, void (*show)(const json_t *reply))
{
    if (!request) {
        fprintf(stderr, "shoal %s: every argument must be UTF-8 text\n", c->name);
        return SHOAL_EXIT_USAGE;
    }
    json_t *reply = ask(c, request);
    if (!reply)
        return SHOAL_EXIT_FAILURE;
    int status = SHOAL_EXIT_OK;
    if (!json_is_true(json_object_get(reply, "ok"))) {
        fprintf(stderr, "shoal %s: %s\n", c->name, str(reply, "error"));
        status = SHOAL_EXIT_INVALID;
    }
    if (c->json) {
        char *text = json_dumps(reply, JSON_COMPACT);
        puts(text);
        free(text);
    } else if (status == SHOAL_EXIT_OK) {
        show(reply);
    }
    fflush(stdout);
    json_decref(reply);
    return status;
}

/* Reads --home and --json out of argv (the rest is left in order); false on --help. */
static bool options(ctl *c, int *argc, char **argv, const char *help)
{
    int kept = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(help, stdout);
            fputs(common, stdout);
            return false;
        }
        if (strcmp(argv[i], "--json") == 0)
            c->json = true;
        else if (strcmp(argv[i], "--home") == 0 && i + 1 < *argc)
            c->home = argv[++i];
        else
            argv[kept++] = argv[i];
    }
    *argc = kept;
    return true;
}

static json_int_t num(const json_t *v, const char *key)
{
    return json_integer_value(json_object_get(v, key));
}

/* "relay (tcp) 10.200.0.1:49152, 12 ms" */
static void show_path(const json_t *path)
{
    const char *relay = json_string_value(json_object_get(path, "relay"));
    printf(", %s", str(path, "kind"));
    if (relay)
        printf(" (%s)", relay);
    printf(" %s, %lld ms", str(path, "remoteAddress"), (long long)num(path, "rttMs"));
}

static void show_peers(const json_t *r)
{
    size_t i;
    json_t *v;
    printf("PEER%-53s STATE         VIA\n", "");
    json_array_foreach(json_object_get(r, "peers"), i, v)
    {
        printf("%-57s %-13s %s%s", str(v, "id"), str(v, "state"), str(v, "transport"),
               json_is_true(json_object_get(v, "inbound")) ? " (dialled us)" : "");
        const json_t *path = json_object_get(v, "path");
        if (path)
            show_path(path);
        const char *why = json_string_value(json_object_get(v, "lastError"));
        if (num(v, "failures") > 0)
            printf("; %lld failed", (long long)num(v, "failures"));
        if (why)
            printf("; %s", why);
        if (num(v, "backoffIn") > 0)
            printf("; next try in %lld s", (long long)(num(v, "backoffIn") + 999) / 1000);
        putchar('\n');
    }
}

static void show_status(const json_t *r)
{
    printf("id        %s\nsequence  %lld\n", str(r, "id"),
           (long long)json_integer_value(json_object_get(r, "sequence")));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(r, "addresses"), i, v)
        printf("%s%s\n", i ? "          " : "address   ", json_string_value(v));
    printf("\nHUB%-37s STATE         FAILURES\n", "");
    json_array_foreach(json_object_get(r, "hubs"), i, v)
        printf("%-40s %-13s %lld\n", str(v, "address"), str(v, "state"),
               (long long)json_integer_value(json_object_get(v, "failures")));
    json_array_foreach(json_object_get(r, "follows"), i, v)
        printf("%s%s\n", i ? "          " : "\nfollows   ", json_string_value(v));
    putchar('\n');
    show_peers(r);
    /* what was refused or let go, when anything was: "refused   3 streams, 12 forged" */
    const char *key;
    bool any = false;
    json_object_foreach(json_object_get(r, "refused"), key, v)
    {
        json_int_t n = json_integer_value(v);
        if (n > 0)
            printf("%s%lld %s", any ? ", " : "\nrefused   ", (long long)n, key);
        any |= n > 0;
    }
    if (any)
        putchar('\n');
}

int shoal_cmd_status(int argc, char **argv)
{
    ctl c = {.name = "status"};
    if (!options(&c, &argc, argv,
                 "usage: shoal status [--home DIR] [--json]\n\n"
                 "Shows the running daemon's identity, its hubs and its peers.\n"))
        return SHOAL_EXIT_OK;
    if (argc != 1) {
        fprintf(stderr, "shoal status: unexpected '%s'\n", argv[1]);
        return SHOAL_EXIT_USAGE;
    }
    return run(&c, json_pack("{s:s}", "cmd", "status"), show_status);
}

static void show_id(const json_t *r)
{
    puts(str(r, "id"));
}

int shoal_cmd_whoami(int argc, char **argv)
{
    ctl c = {.name = "whoami"};
    if (!options(&c, &argc, argv,
                 "usage: shoal whoami [--home DIR] [--json]\n\n"
                 "Prints the running daemon's feed id, @….ed25519.\n"))
        return SHOAL_EXIT_OK;
    if (argc != 1) {
        fprintf(stderr, "shoal whoami: unexpected '%s'\n", argv[1]);
        return SHOAL_EXIT_USAGE;
    }
    return run(&c, json_pack("{s:s}", "cmd", "status"), show_id);
}

static void show_published(const json_t *r)
{
    printf("%s (sequence %lld)\n", str(r, "key"),
           (long long)json_integer_value(json_object_get(r, "sequence")));
}

int shoal_cmd_publish(int argc, char **argv)
{
    ctl c = {.name = "publish"};
    if (!options(&c, &argc, argv,
                 "usage: shoal publish --type TYPE [--text TEXT] [--home DIR] [--json]\n"
                 "       shoal publish --content JSON [--home DIR] [--json]\n\n"
                 "Publishes a message on the daemon's feed: {\"type\":TYPE,\"text\":TEXT}, or the\n"
                 "content given whole.\n"))
        return SHOAL_EXIT_OK;
    const char *type = NULL, *text = NULL, *content = NULL;
    for (int i = 1; i < argc; i++) {
        const char **slot = strcmp(argv[i], "--type") == 0      ? &type
                            : strcmp(argv[i], "--text") == 0    ? &text
                            : strcmp(argv[i], "--content") == 0 ? &content
                                                                : NULL;
        if (!slot || i + 1 >= argc) {
            fprintf(stderr, "shoal publish: unexpected '%s' (see --help)\n", argv[i]);
            return SHOAL_EXIT_USAGE;
        }
        *slot = argv[++i];
    }
    json_t *body;
    if (content) {
        json_error_t err;
        body = type || text ? NULL : json_loads(content, JSON_DECODE_ANY, &err);
        if (!body) {
            fprintf(stderr, "shoal publish: --content must be JSON, alone\n");
            return SHOAL_EXIT_USAGE;
        }
    } else if (type) {
        body = text ? json_pack("{s:s, s:s}", "type", type, "text", text)
                    : json_pack("{s:s}", "type", type);
    } else {
        fprintf(stderr, "shoal publish: --type or --content is needed (see --help)\n");
        return SHOAL_EXIT_USAGE;
    }
    return run(&c, json_pack("{s:s, s:o}", "cmd", "publish", "content", body), show_published);
}

static void show_feed(const json_t *r)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(r, "messages"), i, v)
    {
        char *content = json_dumps(json_object_get(v, "content"), JSON_COMPACT | JSON_ENCODE_ANY);
        printf("%6lld  %s\n", (long long)json_integer_value(json_object_get(v, "sequence")),
               content ? content : "-");
        free(content);
    }
}

int shoal_cmd_feed(int argc, char **argv)
{
    ctl c = {.name = "feed"};
    if (!options(
            &c, &argc, argv,
            "usage: shoal feed [FEED_ID] [--seq N] [--limit N] [--home DIR] [--json]\n\n"
            "Lists the messages the daemon holds of a feed, its own when no id is given (from\n"
            "sequence N, at most 1000).\n"))
        return SHOAL_EXIT_OK;
    const char *id = NULL;
    long long seq = 1, limit = 1000;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if ((strcmp(argv[i], "--seq") == 0 || strcmp(argv[i], "--limit") == 0) && i + 1 < argc) {
            long long v = strtoll(argv[i + 1], &end, 10);
            if (*end || v < 1) {
                fprintf(stderr, "shoal feed: %s needs a number from 1\n", argv[i]);
                return SHOAL_EXIT_USAGE;
            }
            *(strcmp(argv[i], "--seq") == 0 ? &seq : &limit) = v;
            i++;
        } else if (!id && argv[i][0] != '-') {
            id = argv[i];
        } else {
            fprintf(stderr, "shoal feed: unexpected '%s' (see --help)\n", argv[i]);
            return SHOAL_EXIT_USAGE;
        }
    }
    return run(&c,
               json_pack("{s:s, s:s?, s:I, s:I}", "cmd", "feed", "id", id, "seq", (json_int_t)seq,
                         "limit", (json_int_t)limit),
               show_feed);
}

int shoal_cmd_follow(int argc, char **argv)
{
    bool following = strcmp(argv[0], "follow") == 0;
    ctl c = {.name = following ? "follow" : "unfollow"};
    if (!options(
            &c, &argc, argv,
            following
                ? "usage: shoal follow FEED_ID [--home DIR] [--json]\n\n"
                  "Publishes {\"type\":\"contact\",\"contact\":FEED_ID,\"following\":true}: the\n"
                  "daemon asks every peer for that feed from now on, as SSB clients do.\n"
                : "usage: shoal unfollow FEED_ID [--home DIR] [--json]\n\n"
                  "Publishes {\"type\":\"contact\",\"contact\":FEED_ID,\"following\":false}:\n"
                  "the daemon no longer asks peers for that feed.\n"))
        return SHOAL_EXIT_OK;
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "shoal %s: one feed id, @….ed25519 (see --help)\n", c.name);
        return SHOAL_EXIT_USAGE;
    }
    return run(&c,
               json_pack("{s:s, s:s, s:b}", "cmd", "follow", "id", argv[1], "following", following),
               show_published);
}

/* One change as it happened, in a line. */
static void show_change(const json_t *e)
{
    bool peer = strcmp(str(e, "event"), "peer") == 0;
    bool gone = json_is_true(json_object_get(e, peer ? "forgotten" : "removed"));
    printf("%s %s %s%s%s\n", peer ? "peer" : "hub ", str(e, peer ? "id" : "address"),
           gone ? "gone" : str(e, "state"), peer ? " via " : "", peer ? str(e, "transport") : "");
}

int shoal_cmd_peers(int argc, char **argv)
{
    ctl c = {.name = "peers"};
    if (!options(&c, &argc, argv,
                 "usage: shoal peers [--follow] [--home DIR] [--json]\n\n"
                 "Lists the daemon's peers and their states; with --follow, then tells every\n"
                 "change of a hub or a peer as it happens, a line each, until interrupted.\n"))
        return SHOAL_EXIT_OK;
    bool follow = argc == 2 && strcmp(argv[1], "--follow") == 0;
    if (argc > 1 && !follow) {
        fprintf(stderr, "shoal peers: unexpected '%s'\n", argv[1]);
        return SHOAL_EXIT_USAGE;
    }
    int status = run(&c, json_pack("{s:s}", "cmd", "status"), show_peers);
    if (!follow || status != SHOAL_EXIT_OK)
        return status;
    GSocketConnection *conn = connect_control(&c);
    if (!conn)
        return SHOAL_EXIT_FAILURE;
    GDataInputStream *in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(conn)));
    json_t *ok = exchange(&c, conn, in, json_pack("{s:s}", "cmd", "watch"));
    status = ok && json_is_true(json_object_get(ok, "ok")) ? SHOAL_EXIT_OK : SHOAL_EXIT_FAILURE;
    json_decref(ok);
    gsize len;
    char *line;
    while (status == SHOAL_EXIT_OK &&
           (line = g_data_input_stream_read_line(in, &len, NULL, NULL))) {
        json_t *e = json_loadb(line, len, 0, NULL);
        if (c.json)
            puts(line);
        else if (e)
            show_change(e);
        fflush(stdout);
        json_decref(e);
        g_free(line);
    }
    g_object_unref(in);
    g_object_unref(conn);
    return status; /* the daemon stopped */
}

static void show_nothing(const json_t *r)
{
    (void)r;
}

int shoal_cmd_connect(int argc, char **argv)
{
    ctl c = {.name = "connect"};
    if (!options(&c, &argc, argv,
                 "usage: shoal connect ADDRESS [--home DIR] [--json]\n\n"
                 "Has the daemon dial a peer over net: (net:HOST:PORT~shs:KEY) and replicate with\n"
                 "it as with any peer; answers once the peer has proved its key.\n"))
        return SHOAL_EXIT_OK;
    if (argc != 2) {
        fprintf(stderr, "shoal connect: one address (see --help)\n");
        return SHOAL_EXIT_USAGE;
    }
    return run(&c, json_pack("{s:s, s:s}", "cmd", "connect", "address", argv[1]), show_nothing);
}

static void show_hubs(const json_t *r)
{
    size_t i;
    json_t *v;
    printf("HUB%-37s STATE         SOURCE\n", "");
    json_array_foreach(json_object_get(r, "hubs"), i, v)
        printf("%-40s %-13s %s\n", str(v, "address"), str(v, "state"), str(v, "source"));
    json_array_foreach(json_object_get(r, "blocked"), i, v)
        printf("%-40s blocked\n", json_string_value(v));
}

int shoal_cmd_hubs(int argc, char **argv)
{
    ctl c = {.name = "hubs"};
    if (!options(&c, &argc, argv,
                 "usage: shoal hubs ls [--home DIR] [--json]\n"
                 "       shoal hubs add|rm|announce|block URL [--home DIR] [--json]\n\n"
                 "ls: the daemon's hubs, their states and who named them (config, command, or\n"
                 "a feed). add: joins one until the daemon stops (config.json keeps hubs for\n"
                 "good). rm: leaves one now, whoever named it, until it is named again.\n"
                 "announce: publishes {\"type\":\"rtc-hub\",\"address\":URL} on the\n"
                 "daemon's feed, so every peer that replicates it joins the hub too. block: never\n"
                 "joins it again, whoever names it.\n"))
        return SHOAL_EXIT_OK;
    if (argc == 2 && strcmp(argv[1], "ls") == 0)
        return run(&c, json_pack("{s:s}", "cmd", "status"), show_hubs);
    static const char *const verbs[] = {"add", "announce", "block", "rm"};
    for (size_t i = 0; argc == 3 && i < sizeof verbs / sizeof *verbs; i++)
        if (strcmp(argv[1], verbs[i]) == 0) {
            char cmd[32];
            snprintf(cmd, sizeof cmd, "hubs.%s", verbs[i]);
            return run(&c, json_pack("{s:s, s:s}", "cmd", cmd, "address", argv[2]),
                       i == 1 ? show_published : show_nothing);
        }
    fprintf(stderr, "shoal hubs: ls, or add|rm|announce|block URL (see --help)\n");
    return SHOAL_EXIT_USAGE;
}

/* STUN and TURN from the config, with Debian's coturn on 127.0.0.1 (started here, a fresh user
 * and realm). The relay path: both peers gather relayed candidates only (as behind symmetric
 * NATs) and the channel opens through the relay, every candidate signalled a relay one. STUN:
 * the configured server is asked for the peers' reflexive addresses. */
#include "harness.h"
#include "shoal/rtc.h"

#include <gio/gio.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <glib/gstdio.h>

typedef struct side {
    shoal_rtc_peer *peer;
    struct side *other;
    bool open;
    int candidates, relayed;
    GString *got;
    int closed;
} side;

static GMainLoop *loop;
static side a, b;

static void on_description(shoal_rtc_peer *p, bool offer, const char *sdp, void *ud)
{
    (void)p;
    side *s = ud;
    CHECK_EQ_ERR(shoal_rtc_peer_set_remote(s->other->peer, offer, sdp, strlen(sdp)), SHOAL_OK);
}

static void on_candidate(shoal_rtc_peer *p, const char *candidate, void *ud)
{
    (void)p;
    side *s = ud;
    s->candidates++;
    s->relayed += strstr(candidate, " typ relay") != NULL;
    if (s->other->peer)
        CHECK_EQ_ERR(shoal_rtc_peer_add_candidate(s->other->peer, candidate), SHOAL_OK);
}

static void on_open(shoal_rtc_peer *p, void *ud)
{
    side *s = ud;
    s->open = true;
    if (s == &a)
        CHECK_EQ_ERR(shoal_rtc_peer_send(p, (const uint8_t *)"through the relay", 17, false),
                     SHOAL_OK);
}

static void on_message(shoal_rtc_peer *p, const uint8_t *data, size_t len, bool binary, void *ud)
{
    (void)p, (void)binary;
    side *s = ud;
    g_string_append_len(s->got, (const char *)data, (gssize)len);
    g_main_loop_quit(loop);
}

static void on_closed(shoal_rtc_peer *p, int err, void *ud)
{
    (void)p;
    side *s = ud;
    s->closed = err;
    s->peer = NULL;
    if (a.closed != -1 && b.closed != -1)
        g_main_loop_quit(loop);
}

static gboolean give_up(gpointer ud)
{
    (void)ud;
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

static uint16_t free_port(void)
{
    GSocket *s = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, 0, NULL);
    GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *addr = g_inet_socket_address_new(lo, 0);
    g_socket_bind(s, addr, TRUE, NULL);
    GSocketAddress *bound = g_socket_get_local_address(s, NULL);
    uint16_t port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    g_object_unref(bound), g_object_unref(addr), g_object_unref(lo), g_object_unref(s);
    return port;
}

/* Waits until something accepts TCP connections on 127.0.0.1:port. */
static bool listening(uint16_t port)
{
    for (int i = 0; i < 100; i++) {
        GSocketClient *c = g_socket_client_new();
        g_socket_client_set_enable_proxy(c, FALSE);
        GSocketConnection *conn = g_socket_client_connect_to_host(c, "127.0.0.1", port, NULL, NULL);
        g_object_unref(c);
        if (conn) {
            g_object_unref(conn);
            return true;
        }
        g_usleep(50000);
    }
    return false;
}

static uint16_t turn_port;
static GPid turn;
static char *turn_dir, *turn_pid, *turn_log;

/* Debian's coturn on 127.0.0.1: TURN with a long-term user, and STUN on the same port. */
static bool start_turn(void)
{
    turn_port = free_port();
    turn_dir = g_dir_make_tmp("shoal-turn-XXXXXX", NULL);
    g_chmod(turn_dir, 0777); /* coturn may drop root for its own user before it logs */
    turn_pid = g_build_filename(turn_dir, "pid", NULL);
    turn_log = g_build_filename(turn_dir, "log", NULL);
    char *port_arg = g_strdup_printf("%u", turn_port);
    char *log_arg = g_strdup_printf("--log-file=%s", turn_log);
    char *argv[] = {"turnserver",
                    "-n",
                    "--listening-ip=127.0.0.1",
                    "--relay-ip=127.0.0.1",
                    "-p",
                    port_arg,
                    "--allow-loopback-peers",
                    "--lt-cred-mech",
                    "--user=shoal:relay-secret",
                    "--realm=shoal.test",
                    "--no-tls",
                    "--no-dtls",
                    "--no-cli",
                    "--min-port=49200",
                    "--max-port=49400",
                    "--pidfile",
                    turn_pid,
                    log_arg,
                    "--simple-log",
                    "-V",
                    NULL};
    GError *err = NULL;
    bool started = g_spawn_async(NULL, argv, NULL,
                                 G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                                     G_SPAWN_STDERR_TO_DEV_NULL | G_SPAWN_DO_NOT_REAP_CHILD,
                                 NULL, NULL, &turn, &err);
    g_free(port_arg);
    g_free(log_arg);
    if (!started) {
        fprintf(stderr, "turnserver: %s (scripts/setup-debian installs coturn)\n",
                err ? err->message : "?");
        g_clear_error(&err);
        return false;
    }
    return listening(turn_port);
}

static void stop_turn(void)
{
    kill(turn, SIGTERM);
    waitpid(turn, NULL, 0);
    g_spawn_close_pid(turn);
    remove(turn_pid);
    remove(turn_log);
    g_rmdir(turn_dir);
    g_free(turn_pid), g_free(turn_log), g_free(turn_dir);
}

/* Opens a channel between two peers of `cfg`, sends one message, closes. */
static void open_pair(const shoal_rtc_config *cfg)
{
    shoal_rtc *rtc;
    CHECK_EQ_ERR(shoal_rtc_new(cfg, &rtc), SHOAL_OK);
    static const shoal_rtc_callbacks cb = {on_description, on_candidate, on_open,
                                           on_message,     NULL,         on_closed};
    a = (side){.other = &b, .got = g_string_new(""), .closed = -1};
    b = (side){.other = &a, .got = g_string_new(""), .closed = -1};
    b.peer = shoal_rtc_peer_new(rtc, false, NULL, &cb, &b);
    a.peer = shoal_rtc_peer_new(rtc, true, "relayed", &cb, &a);
    guint guard = g_timeout_add_seconds(30, give_up, NULL);
    g_main_loop_run(loop);
    CHECK(a.open && b.open);
    CHECK_EQ_STR(b.got->str, "through the relay");
    if (a.peer)
        shoal_rtc_peer_close(a.peer);
    if (b.peer)
        shoal_rtc_peer_close(b.peer);
    while (a.closed == -1 || b.closed == -1)
        g_main_loop_run(loop);
    g_source_remove(guard);
    for (int i = 0; i < 10; i++)
        g_main_context_iteration(NULL, FALSE);
    shoal_rtc_free(rtc);
    g_string_free(a.got, TRUE);
    g_string_free(b.got, TRUE);
}

static const char *const loopback[] = {"127.0.0.1", NULL};

static void a_channel_opens_through_a_turn_relay(void)
{
    shoal_rtc_config cfg = {.local_addresses = loopback,
                            .turn_host = "127.0.0.1",
                            .turn_port = turn_port,
                            .turn_user = "shoal",
                            .turn_password = "relay-secret",
                            .relay_only = true};
    open_pair(&cfg);
    CHECK(a.candidates > 0 && b.candidates > 0);
    CHECK_EQ_INT(a.relayed, a.candidates);
    CHECK_EQ_INT(b.relayed, b.candidates);
}

/* STUN binding requests the server has answered, as its verbose log tells. */
static int bindings_answered(void)
{
    gchar *text = NULL;
    int n = 0;
    if (g_file_get_contents(turn_log, &text, NULL, NULL))
        for (const char *at = text; (at = strstr(at, "handle_turn_binding:")) != NULL; at++)
            n++;
    g_free(text);
    return n;
}

static void the_configured_stun_server_is_asked(void)
{
    /* on loopback a reflexive address is the host's own, so libnice keeps none: the server's
     * log shows the binding requests instead */
    int before = bindings_answered();
    shoal_rtc_config cfg = {
        .local_addresses = loopback, .stun_host = "127.0.0.1", .stun_port = turn_port};
    open_pair(&cfg);
    CHECK(bindings_answered() > before);
    CHECK_EQ_INT(a.relayed + b.relayed, 0);
}

int main(void)
{
    loop = g_main_loop_new(NULL, FALSE);
    if (CHECK(start_turn())) {
        RUN(a_channel_opens_through_a_turn_relay);
        RUN(the_configured_stun_server_is_asked);
        stop_turn();
    }
    g_main_loop_unref(loop);
    return harness_finish();
}

/* The hub client against real hubs: shoal hub and the npm signalhub 4.9 server (interop (b):
 * shoal's client through signalhub's server), on 127.0.0.1. It subscribes on both, hears each
 * message once however many hubs carry it, learns recipients from shoal hub, comes back after a
 * hub restarts, and drops a stream that goes silent.
 * Usage: test_hub_client SHOAL_BINARY NODE_MODULES_DIR */
#include "harness.h"

#include "shoal/hub_client.h"

#include <gio/gio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static const char *shoal_bin, *modules;

typedef struct proc {
    GPid pid;
    int port;
} proc;

/* Starts a hub and reads the port it says. */
static proc spawn(char **argv, bool shoal)
{
    proc p = {0, 0};
    int out = -1;
    GError *err = NULL;
    if (!g_spawn_async_with_pipes(NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD,
                                  NULL, NULL, &p.pid, NULL, &out, NULL, &err)) {
        printf("    spawn %s: %s\n", argv[0], err->message);
        g_error_free(err);
        return p;
    }
    char line[256] = {0};
    size_t n = 0;
    while (n < sizeof line - 1 && read(out, line + n, 1) == 1 && line[n] != '\n')
        n++;
    close(out);
    const char *at = strrchr(line, shoal ? ':' : ' ');
    p.port = at ? atoi(at + 1) : 0;
    return p;
}

static void stop(proc *p)
{
    if (p->pid <= 0)
        return;
    kill(p->pid, SIGTERM);
    waitpid(p->pid, NULL, 0);
    g_spawn_close_pid(p->pid);
    p->pid = 0;
}

static proc start_shoal(int port)
{
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    char *argv[] = {(char *)shoal_bin, "hub", "--listen", listen, NULL};
    return spawn(argv, true);
}

static proc start_signalhub(void)
{
    char *bin = g_build_filename(modules, "signalhub", "bin.js", NULL);
    char *argv[] = {"node", bin, "listen", "-p", "0", "-h", "127.0.0.1", "-q", NULL};
    proc p = spawn(argv, false);
    g_free(bin);
    return p;
}

/* ---- What the client reports ---- */

typedef struct seen {
    int connected[4], failed[4], disconnected[4];
    char messages[1024];
    int nmessages;
    unsigned status;
    long recipients;
    int sent;
} seen;

static void on_state(size_t hub, shoal_hub_stream_state st, void *ud)
{
    seen *s = ud;
    if (hub >= 4)
        return;
    if (st == SHOAL_HUB_STREAM_CONNECTED)
        s->connected[hub]++;
    else if (st == SHOAL_HUB_STREAM_FAILED)
        s->failed[hub]++;
    else
        s->disconnected[hub]++;
}

static void on_message(size_t hub, const char *data, size_t len, void *ud)
{
    seen *s = ud;
    size_t n = strlen(s->messages);
    snprintf(s->messages + n, sizeof s->messages - n, "[%zu:%.*s]", hub, (int)len, data);
    s->nmessages++;
}

static void on_sent(size_t hub, unsigned status, long recipients, void *ud)
{
    (void)hub;
    seen *s = ud;
    s->status = status;
    s->recipients = recipients;
    s->sent++;
}

/* Runs the main loop until *flag reaches want or the time runs out. */
static bool wait_for(int *flag, int want, int ms)
{
    gint64 until = g_get_monotonic_time() + (gint64)ms * 1000;
    while (*flag < want && g_get_monotonic_time() < until)
        g_main_context_iteration(NULL, FALSE) || (g_usleep(1000), 0);
    return *flag >= want;
}

static void run_for(int ms)
{
    gint64 until = g_get_monotonic_time() + (gint64)ms * 1000;
    while (g_get_monotonic_time() < until)
        g_main_context_iteration(NULL, FALSE) || (g_usleep(1000), 0);
}

static shoal_hub_addr hub_at(int port)
{
    char text[64];
    int n = snprintf(text, sizeof text, "http://127.0.0.1:%d", port);
    shoal_hub_addr a;
    if (shoal_hub_addr_parse(&a, text, (size_t)n, NULL) != SHOAL_OK)
        abort();
    return a;
}

static shoal_hub_client *client(seen *s, int shoal_port, int signalhub_port)
{
    shoal_hub_client_config cfg;
    shoal_hub_client_config_default(&cfg);
    cfg.app = "shoal-test";
    cfg.reconnect_base_ms = 200;
    cfg.reconnect_cap_ms = 1000;
    shoal_hub_client_callbacks cb = {on_state, on_message, s};
    shoal_hub_client *cl = NULL;
    if (shoal_hub_client_new(&cl, &cfg, &cb) != SHOAL_OK)
        abort();
    shoal_hub_addr a = hub_at(shoal_port), b = hub_at(signalhub_port);
    CHECK_EQ_INT(shoal_hub_client_add_hub(cl, &a), 0);
    CHECK_EQ_INT(shoal_hub_client_add_hub(cl, &b), 1);
    return cl;
}

static void messages_arrive_once_through_both_hubs(void)
{
    proc sh = start_shoal(0), sg = start_signalhub();
    if (!CHECK(sh.port > 0 && sg.port > 0))
        return;
    seen a = {0}, b = {0};
    shoal_hub_client *listener = client(&a, sh.port, sg.port);
    shoal_hub_client *sender = client(&b, sh.port, sg.port);
    const char *channels[] = {"all", "me"};
    CHECK_EQ_ERR(shoal_hub_client_subscribe(listener, channels, 2), SHOAL_OK);
    shoal_hub_client_connect(listener, 0);
    shoal_hub_client_connect(listener, 1);
    CHECK(wait_for(&a.connected[0], 1, 5000));
    CHECK(wait_for(&a.connected[1], 1, 5000));

    /* Through shoal hub, which counts recipients. */
    shoal_hub_client_broadcast(sender, 0, "all", "{\"n\":1}", 7, on_sent, &b);
    CHECK(wait_for(&b.sent, 1, 5000));
    CHECK_EQ_INT(b.status, 200);
    CHECK_EQ_INT(b.recipients, 1);
    CHECK(wait_for(&a.nmessages, 1, 5000));
    /* Through signalhub's own server, which does not. */
    shoal_hub_client_broadcast(sender, 1, "me", "{\"n\":2}", 7, on_sent, &b);
    CHECK(wait_for(&b.sent, 2, 5000));
    CHECK_EQ_INT(b.status, 200);
    CHECK_EQ_INT(b.recipients, -1);
    CHECK(wait_for(&a.nmessages, 2, 5000));
    /* The same message through both: heard once. */
    shoal_hub_client_broadcast(sender, 0, "all", "{\"n\":3}", 7, on_sent, &b);
    shoal_hub_client_broadcast(sender, 1, "all", "{\"n\":3}", 7, on_sent, &b);
    CHECK(wait_for(&b.sent, 4, 5000));
    run_for(300);
    /* whichever hub carried it first (the two POSTs race), and that one only */
    CHECK(strcmp(a.messages, "[0:{\"n\":1}][1:{\"n\":2}][0:{\"n\":3}]") == 0 ||
          strcmp(a.messages, "[0:{\"n\":1}][1:{\"n\":2}][1:{\"n\":3}]") == 0);
    CHECK_EQ_INT(a.nmessages, 3);
    /* A channel it did not subscribe to stays silent. */
    shoal_hub_client_broadcast(sender, 0, "other", "{\"n\":4}", 7, on_sent, &b);
    CHECK(wait_for(&b.sent, 5, 5000));
    CHECK_EQ_INT(b.recipients, 0);

    /* shoal hub restarts on the same port: the stream drops, and comes back by itself. */
    int port = sh.port;
    stop(&sh);
    CHECK(wait_for(&a.disconnected[0], 1, 5000));
    sh = start_shoal(port);
    CHECK(wait_for(&a.connected[0], 2, 10000));
    shoal_hub_client_broadcast(sender, 0, "me", "{\"n\":5}", 7, on_sent, &b);
    CHECK(wait_for(&a.nmessages, 4, 5000));
    CHECK_EQ_INT(a.connected[1], 1); /* the other hub never noticed */

    shoal_hub_client_free(listener);
    shoal_hub_client_free(sender);
    stop(&sh);
    stop(&sg);
}

/* A "hub" that answers the stream's head and then says nothing at all. */
static gboolean silent_incoming(GSocketService *service, GSocketConnection *conn, GObject *src,
                                gpointer ud)
{
    (void)service;
    (void)src;
    GPtrArray *held = ud;
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";
    GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
    g_output_stream_write_all(out, head, sizeof head - 1, NULL, NULL, NULL);
    g_ptr_array_add(held, g_object_ref(conn));
    return TRUE;
}

/* A listener of such "hubs" on a port of its own; `held` its connections, in order. */
typedef struct silent_hub {
    GSocketService *service;
    GPtrArray *held;
    guint16 port;
} silent_hub;

static silent_hub silent_hub_start(void)
{
    silent_hub h = {g_socket_service_new(), g_ptr_array_new_with_free_func(g_object_unref), 0};
    h.port = g_socket_listener_add_any_inet_port(G_SOCKET_LISTENER(h.service), NULL, NULL);
    g_signal_connect(h.service, "incoming", G_CALLBACK(silent_incoming), h.held);
    g_socket_service_start(h.service);
    return h;
}

static void silent_hub_stop(silent_hub *h)
{
    g_socket_service_stop(h->service);
    g_object_unref(h->service);
    g_ptr_array_unref(h->held);
}

static void a_silent_stream_is_dropped_and_retried(void)
{
    silent_hub hub = silent_hub_start();

    seen s = {0};
    shoal_hub_client_config cfg;
    shoal_hub_client_config_default(&cfg);
    cfg.heartbeat_timeout_ms = 400;
    cfg.reconnect_base_ms = 100;
    cfg.reconnect_cap_ms = 200;
    shoal_hub_client_callbacks cb = {on_state, on_message, &s};
    shoal_hub_client *cl = NULL;
    CHECK_EQ_ERR(shoal_hub_client_new(&cl, &cfg, &cb), SHOAL_OK);
    shoal_hub_addr a = hub_at(hub.port);
    shoal_hub_client_add_hub(cl, &a);
    const char *channels[] = {"all"};
    CHECK_EQ_ERR(shoal_hub_client_subscribe(cl, channels, 1), SHOAL_OK);
    shoal_hub_client_connect(cl, 0);
    CHECK(wait_for(&s.connected[0], 1, 3000));
    CHECK(wait_for(&s.disconnected[0], 1, 3000));
    CHECK(wait_for(&s.connected[0], 2, 3000));
    shoal_hub_client_free(cl);
    silent_hub_stop(&hub);
}

/* After a network change nothing waits on a connection of the old network: a broadcast hanging
 * on one hears status 0, and the stream, connected again, comes back on a new connection. */
static void a_network_change_drops_what_hangs(void)
{
    silent_hub hub = silent_hub_start();

    seen s = {0};
    shoal_hub_client_config cfg;
    shoal_hub_client_config_default(&cfg);
    shoal_hub_client_callbacks cb = {on_state, on_message, &s};
    shoal_hub_client *cl = NULL;
    CHECK_EQ_ERR(shoal_hub_client_new(&cl, &cfg, &cb), SHOAL_OK);
    shoal_hub_addr a = hub_at(hub.port);
    shoal_hub_client_add_hub(cl, &a);
    const char *channels[] = {"all"};
    CHECK_EQ_ERR(shoal_hub_client_subscribe(cl, channels, 1), SHOAL_OK);
    shoal_hub_client_connect(cl, 0);
    CHECK(wait_for(&s.connected[0], 1, 3000));
    shoal_hub_client_broadcast(cl, 0, "all", "{}", 2, on_sent, &s); /* its answer never ends */
    int conns = 0;
    while (hub.held->len < 2 && conns++ < 3000)
        run_for(1);
    CHECK_EQ_INT(hub.held->len, 2);
    CHECK_EQ_INT(s.sent, 0);
    shoal_hub_client_network_changed(cl);
    CHECK(wait_for(&s.sent, 1, 3000));
    CHECK_EQ_INT(s.status, 0);
    run_for(300);
    CHECK_EQ_INT(hub.held->len, 2); /* the stream is closed, not retried on its own */
    shoal_hub_client_connect(cl, 0);
    CHECK(wait_for(&s.connected[0], 2, 3000)); /* reopened ... */
    CHECK_EQ_INT(hub.held->len, 3);            /* ... on a connection of its own */
    CHECK_EQ_INT(s.disconnected[0] + s.failed[0], 0);
    shoal_hub_client_free(cl);
    silent_hub_stop(&hub);
}

/* A hub that takes a POST and never answers holds nothing up: the broadcast is given up at
 * post_timeout_ms, with status 0. */
static void a_broadcast_never_answered_is_given_up(void)
{
    silent_hub hub = silent_hub_start();
    seen s = {0};
    shoal_hub_client_config cfg;
    shoal_hub_client_config_default(&cfg);
    cfg.post_timeout_ms = 300;
    shoal_hub_client_callbacks cb = {on_state, on_message, &s};
    shoal_hub_client *cl = NULL;
    CHECK_EQ_ERR(shoal_hub_client_new(&cl, &cfg, &cb), SHOAL_OK);
    shoal_hub_addr a = hub_at(hub.port);
    shoal_hub_client_add_hub(cl, &a);
    gint64 began = g_get_monotonic_time();
    shoal_hub_client_broadcast(cl, 0, "all", "{}", 2, on_sent, &s); /* its answer never ends */
    CHECK(wait_for(&s.sent, 1, 3000));
    CHECK_EQ_INT(s.status, 0);
    CHECK(g_get_monotonic_time() - began >= 300 * 1000);
    shoal_hub_client_free(cl);
    silent_hub_stop(&hub);
}

static void a_hub_that_is_not_there_fails(void)
{
    seen s = {0};
    shoal_hub_client_config cfg;
    shoal_hub_client_config_default(&cfg);
    cfg.auto_reconnect = false;
    shoal_hub_client_callbacks cb = {on_state, on_message, &s};
    shoal_hub_client *cl = NULL;
    CHECK_EQ_ERR(shoal_hub_client_new(&cl, &cfg, &cb), SHOAL_OK);
    shoal_hub_addr a = hub_at(1); /* nothing listens on port 1 */
    shoal_hub_client_add_hub(cl, &a);
    const char *channels[] = {"all"};
    CHECK_EQ_ERR(shoal_hub_client_subscribe(cl, channels, 1), SHOAL_OK);
    shoal_hub_client_connect(cl, 0);
    CHECK(wait_for(&s.failed[0], 1, 5000));
    run_for(300);
    CHECK_EQ_INT(s.failed[0], 1); /* no retry without auto_reconnect */
    shoal_hub_client_free(cl);
}

typedef struct ice_answer {
    int calls;
    unsigned status;
    bool body;
} ice_answer;

static void on_ice(size_t hub, unsigned status, const char *body, size_t len, void *ud)
{
    (void)hub, (void)len;
    ice_answer *a = ud;
    a->calls++;
    a->status = status;
    a->body = body != NULL;
}

/* Asking a hub for its ICE servers: shoal hub without any answers 404; a plain signalhub takes
 * /v1/ice for a subscription and streams forever, which is cut at its head, at once. */
static void asking_hubs_without_ice_servers_ends_at_once(void)
{
    proc sh = start_shoal(0), sg = start_signalhub();
    if (!CHECK(sh.port > 0 && sg.port > 0))
        return;
    seen s = {0};
    shoal_hub_client *cl = client(&s, sh.port, sg.port);
    shoal_keypair keys;
    uint8_t seed[32] = {3};
    shoal_keypair_from_seed(&keys, seed);
    ice_answer shoal_answer = {0}, signalhub_answer = {0};
    gint64 t0 = g_get_monotonic_time();
    shoal_hub_client_get_ice(cl, 0, &keys, on_ice, &shoal_answer);
    shoal_hub_client_get_ice(cl, 1, &keys, on_ice, &signalhub_answer);
    CHECK(wait_for(&shoal_answer.calls, 1, 5000));
    CHECK(wait_for(&signalhub_answer.calls, 1, 5000));
    CHECK(g_get_monotonic_time() - t0 < 2 * G_USEC_PER_SEC);
    CHECK_EQ_INT(shoal_answer.status, 404);
    CHECK(!shoal_answer.body);
    CHECK_EQ_INT(signalhub_answer.status, 200);
    CHECK(!signalhub_answer.body);
    run_for(200);
    CHECK_EQ_INT(shoal_answer.calls + signalhub_answer.calls, 2);
    char *host = shoal_hub_client_host(cl, 0);
    char want[32];
    snprintf(want, sizeof want, "127.0.0.1:%d", sh.port);
    CHECK_EQ_STR(host, want);
    g_free(host);
    shoal_hub_client_free(cl);
    stop(&sh);
    stop(&sg);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_hub_client SHOAL_BINARY NODE_MODULES_DIR\n");
        return 2;
    }
    shoal_bin = argv[1];
    modules = argv[2];
    signal(SIGPIPE, SIG_IGN);
    RUN(messages_arrive_once_through_both_hubs);
    RUN(a_silent_stream_is_dropped_and_retried);
    RUN(a_network_change_drops_what_hangs);
    RUN(a_broadcast_never_answered_is_given_up);
    RUN(a_hub_that_is_not_there_fails);
    RUN(asking_hubs_without_ice_servers_ends_at_once);
    return harness_finish();
}

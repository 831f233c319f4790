/* STUN and TURN, with Debian's coturn on 127.0.0.1 (started here, with a fresh realm, coturn's
 * REST credentials from a shared secret, and a certificate of its own for TLS). The relay path:
 * both peers gather relayed candidates only (as behind symmetric NATs) and the channel opens
 * through the relay, reached over UDP, over TCP, and over TLS (the server's certificate checked),
 * every candidate signalled a relay one, and the path each peer reports says so. STUN: the server
 * is asked for the peers' reflexive addresses. */
#include "coturn.h"
#include "harness.h"
#include "shoal/rtc.h"

#include <gio/gio.h>
#include <string.h>

typedef struct side {
    shoal_rtc_peer *peer;
    struct side *other;
    bool open;
    int candidates, relayed;
    GString *got;
    bool has_path;
    shoal_rtc_path path;
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

static guint guard; /* the time a test gives the channel to open */

static gboolean give_up(gpointer ud)
{
    (void)ud;
    guard = 0;
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

static test_coturn turn;
static const char secret[] = "shared-with-the-hub";

/* One server, from its URL, with REST credentials for a day. */
static shoal_ice_servers one_server(const char *fmt, uint16_t port)
{
    shoal_ice_servers l = {.n = 1};
    char *url = g_strdup_printf(fmt, port);
    CHECK_EQ_ERR(shoal_ice_url_parse(&l.s[0], url, strlen(url)), SHOAL_OK);
    g_free(url);
    if (l.s[0].scheme != SHOAL_ICE_STUN)
        shoal_ice_rest_credentials(&l.s[0], (const uint8_t *)secret, strlen(secret),
                                   "@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25519",
                                   g_get_real_time() / G_USEC_PER_SEC + 86400);
    return l;
}

/* Opens a channel between two peers of `cfg` (or fails to, if !opens), sends one message, reads
 * each side's path, closes. */
static void open_pair(const shoal_rtc_config *cfg, bool opens)
{
    shoal_rtc *rtc;
    CHECK_EQ_ERR(shoal_rtc_new(cfg, &rtc), SHOAL_OK);
    static const shoal_rtc_callbacks cb = {on_description, on_candidate, on_open, on_message,
                                           NULL,           on_closed,    NULL};
    a = (side){.other = &b, .got = g_string_new(""), .closed = -1};
    b = (side){.other = &a, .got = g_string_new(""), .closed = -1};
    b.peer = shoal_rtc_peer_new(rtc, false, NULL, NULL, &cb, &b);
    a.peer = shoal_rtc_peer_new(rtc, true, "relayed", NULL, &cb, &a);
    guard = g_timeout_add_seconds(opens ? 30 : 12, give_up, NULL);
    g_main_loop_run(loop);
    CHECK(opens == (a.open && b.open));
    CHECK_EQ_STR(b.got->str, opens ? "through the relay" : "");
    a.has_path = a.peer && shoal_rtc_peer_path(a.peer, &a.path);
    b.has_path = b.peer && shoal_rtc_peer_path(b.peer, &b.path);
    if (a.peer)
        shoal_rtc_peer_close(a.peer);
    if (b.peer)
        shoal_rtc_peer_close(b.peer);
    while (a.closed == -1 || b.closed == -1)
        g_main_loop_run(loop);
    if (guard)
        g_source_remove(guard);
    guard = 0;
    for (int i = 0; i < 10; i++)
        g_main_context_iteration(NULL, FALSE);
    shoal_rtc_free(rtc);
    g_string_free(a.got, TRUE);
    g_string_free(b.got, TRUE);
}

static const char *const loopback[] = {"127.0.0.1", NULL};

/* Both peers relayed, their relays reached by `transport`: what each path says. */
static void check_relayed(const char *transport)
{
    CHECK(a.candidates > 0 && b.candidates > 0);
    CHECK_EQ_INT(a.relayed, a.candidates);
    CHECK_EQ_INT(b.relayed, b.candidates);
    for (side *s = &a; s; s = s == &a ? &b : NULL) {
        if (!CHECK(s->has_path))
            continue;
        CHECK_EQ_STR(s->path.local_type, "relay");
        CHECK_EQ_STR(s->path.remote_type, "relay");
        CHECK_EQ_STR(s->path.relay, transport);
        CHECK(strncmp(s->path.local, "127.0.0.1:", 10) == 0);
        CHECK(strncmp(s->path.remote, "127.0.0.1:", 10) == 0);
        CHECK(s->path.bytes_in > 17 && s->path.bytes_out > 17);
        CHECK(s->path.rtt_ms < 1000);
    }
}

static void a_channel_opens_through_a_turn_relay_over_udp(void)
{
    shoal_ice_servers ice = one_server("turn:127.0.0.1:%u", turn.port);
    shoal_rtc_config cfg = {.local_addresses = loopback, .ice = &ice, .relay_only = true};
    open_pair(&cfg, true);
    check_relayed("udp");
}

static void a_channel_opens_through_a_turn_relay_over_tcp(void)
{
    shoal_ice_servers ice = one_server("turn:127.0.0.1:%u?transport=tcp", turn.port);
    shoal_rtc_config cfg = {.local_addresses = loopback, .ice = &ice, .relay_only = true};
    open_pair(&cfg, true);
    check_relayed("tcp");
}

static void a_channel_opens_through_a_turn_relay_over_tls(void)
{
    shoal_ice_servers ice = one_server("turns:127.0.0.1:%u", turn.tls_port);
    shoal_rtc_config cfg = {
        .local_addresses = loopback, .ice = &ice, .tls_ca_file = turn.cert, .relay_only = true};
    open_pair(&cfg, true);
    check_relayed("tls");
}

/* Several relays: the path names the one taken (the second, the first being unreachable). */
static void the_path_names_the_relay_taken(void)
{
    shoal_ice_servers ice = one_server("turn:127.0.0.1:%u", test_free_port());
    shoal_ice_servers tcp = one_server("turn:127.0.0.1:%u?transport=tcp", turn.port);
    ice.s[ice.n++] = tcp.s[0];
    shoal_rtc_config cfg = {.local_addresses = loopback, .ice = &ice, .relay_only = true};
    open_pair(&cfg, true);
    check_relayed("tcp");
}

/* A TLS server whose certificate nobody vouches for is not used: nothing is relayed. */
static void an_untrusted_tls_relay_is_not_used(void)
{
    shoal_ice_servers ice = one_server("turns:127.0.0.1:%u", turn.tls_port);
    shoal_rtc_config cfg = {.local_addresses = loopback, .ice = &ice, .relay_only = true};
    open_pair(&cfg, false);
    CHECK_EQ_INT(a.relayed + b.relayed, 0);
}

/* A peer given servers of its own uses them, not the context's. */
static void a_peers_own_servers_come_first(void)
{
    shoal_ice_servers none = {0}, ice = one_server("turn:127.0.0.1:%u", turn.port);
    shoal_rtc_config cfg = {.local_addresses = loopback, .ice = &none, .relay_only = true};
    shoal_rtc *rtc;
    CHECK_EQ_ERR(shoal_rtc_new(&cfg, &rtc), SHOAL_OK);
    static const shoal_rtc_callbacks cb = {on_description, on_candidate, on_open, on_message,
                                           NULL,           on_closed,    NULL};
    a = (side){.other = &b, .got = g_string_new(""), .closed = -1};
    b = (side){.other = &a, .got = g_string_new(""), .closed = -1};
    b.peer = shoal_rtc_peer_new(rtc, false, NULL, &ice, &cb, &b);
    a.peer = shoal_rtc_peer_new(rtc, true, "relayed", &ice, &cb, &a);
    guard = g_timeout_add_seconds(30, give_up, NULL);
    g_main_loop_run(loop);
    CHECK(a.open && b.open);
    CHECK(a.relayed > 0 && b.relayed > 0);
    shoal_rtc_peer_close(a.peer);
    shoal_rtc_peer_close(b.peer);
    while (a.closed == -1 || b.closed == -1)
        g_main_loop_run(loop);
    if (guard)
        g_source_remove(guard);
    guard = 0;
    shoal_rtc_free(rtc);
    g_string_free(a.got, TRUE);
    g_string_free(b.got, TRUE);
}

/* STUN binding requests the server has answered, as its verbose log tells. */
static int bindings_answered(void)
{
    gchar *text = NULL;
    int n = 0;
    if (g_file_get_contents(turn.log, &text, NULL, NULL))
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
    shoal_ice_servers ice = one_server("stun:127.0.0.1:%u", turn.port);
    shoal_rtc_config cfg = {.local_addresses = loopback, .ice = &ice};
    open_pair(&cfg, true);
    CHECK(a.has_path && b.has_path);
    CHECK_EQ_STR(a.path.local_type, "host");
    CHECK(a.path.relay == NULL);
    CHECK(bindings_answered() > before);
    CHECK_EQ_INT(a.relayed + b.relayed, 0);
}

int main(void)
{
    loop = g_main_loop_new(NULL, FALSE);
    if (CHECK(test_coturn_start(&turn, secret))) {
        RUN(a_channel_opens_through_a_turn_relay_over_udp);
        RUN(a_channel_opens_through_a_turn_relay_over_tcp);
        RUN(a_channel_opens_through_a_turn_relay_over_tls);
        RUN(the_path_names_the_relay_taken);
        RUN(an_untrusted_tls_relay_is_not_used);
        RUN(a_peers_own_servers_come_first);
        RUN(the_configured_stun_server_is_asked);
        test_coturn_stop(&turn);
    }
    g_main_loop_unref(loop);
    return harness_finish();
}

/* A shoal node as a process, for the tests that kill and restart peers: it joins the hubs
 * named, tells every log line, connection and disconnection as a JSON line on standard output,
 * and on SIGTERM stops cleanly and prints its counters ({"event":"stats",...}). With --compat
 * it also meets plain webrtc-swarm peers: it says "hello from shoal" when a plain channel opens
 * and answers each message with "echo: " and the message, telling the channel's path
 * ({"event":"plain-path",...}). With --mdns hide|off, its host candidates are signalled as
 * mDNS names (or .local candidates ignored): see shoal_rtc_mdns. With --verbose, the library's
 * own log lines from info up are told too ({"event":"shoal-log",...}).
 * Candidates are gathered on 127.0.0.1, or on the addresses given with --address. With --db it
 * replicates: it serves the feeds of that store and asks every peer for each --follow feed,
 * telling each message appended as {"event":"progress","feed","head"}.
 * Usage: node-peer --secret FILE [--negotiation-ms N] [--compat] [--mdns hide|off] [--address
 * IP]...
 *                  [--db FILE [--follow FEED_ID]...] HUB_URL... */
#include "say.h"
#include "shoal/identity.h"
#include "shoal/node.h"

#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static GMainLoop *loop;

static void on_log(shoal_node *node, const char *line, void *ud)
{
    (void)node, (void)ud;
    say(json_pack("{s:s, s:s}", "event", "log", "line", line));
}

static void on_connected(shoal_node *node, shoal_node_peer *peer, void *ud)
{
    (void)node, (void)ud;
    char id[SHOAL_REF_STRSIZE];
    shoal_identity_feed_id(shoal_node_peer_feed(peer), id);
    say(json_pack("{s:s, s:s}", "event", "connected", "id", id));
}

static void on_disconnected(shoal_node *node, const uint8_t feed[32], int err, void *ud)
{
    (void)node, (void)ud;
    char id[SHOAL_REF_STRSIZE];
    shoal_identity_feed_id(feed, id);
    say(json_pack("{s:s, s:s, s:s}", "event", "disconnected", "id", id, "error",
                  shoal_errname(err)));
}

static void on_plain_open(shoal_node *node, shoal_node_peer *peer, void *ud)
{
    (void)node, (void)ud;
    say(json_pack("{s:s}", "event", "plain-open"));
    if (shoal_node_peer_send_plain(peer, (const uint8_t *)"hello from shoal", 16, false) !=
        SHOAL_OK)
        say(json_pack("{s:s}", "event", "plain-send-failed"));
}

/* What the library itself logs (--verbose: from info up), as {"event":"shoal-log",...}. */
static void on_shoal_log(shoal_log_level level, const char *module, const char *msg, void *ud)
{
    (void)ud;
    say(json_pack("{s:s, s:s, s:s, s:s}", "event", "shoal-log", "level",
                  shoal_log_level_name(level), "module", module, "line", msg));
}

static void on_plain_message(shoal_node *node, shoal_node_peer *peer, const uint8_t *data,
                             size_t len, void *ud)
{
    (void)ud;
    say(json_pack("{s:s, s:s%}", "event", "plain-message", "data", (const char *)data, len));
    shoal_rtc_path path;
    if (shoal_node_peer_path(node, shoal_node_peer_feed(peer), &path))
        say(json_pack("{s:s, s:s, s:s, s:s, s:s}", "event", "plain-path", "local", path.local_type,
                      "remote", path.remote_type, "localAddress", path.local, "remoteAddress",
                      path.remote));
    GString *echo = g_string_new("echo: ");
    g_string_append_len(echo, (const char *)data, (gssize)len);
    if (shoal_node_peer_send_plain(peer, (const uint8_t *)echo->str, echo->len, false) != SHOAL_OK)
        say(json_pack("{s:s}", "event", "plain-send-failed"));
    g_string_free(echo, TRUE);
}

static void on_progress(shoal_node *node, shoal_node_peer *peer, const uint8_t feed[32],
                        int64_t head, void *ud)
{
    (void)node, (void)peer, (void)ud;
    char id[SHOAL_REF_STRSIZE];
    shoal_identity_feed_id(feed, id);
    say(json_pack("{s:s, s:s, s:I}", "event", "progress", "feed", id, "head", (json_int_t)head));
}

static void on_stopped(void *ud)
{
    (void)ud;
    g_main_loop_quit(loop);
}

static gboolean on_term(gpointer node)
{
    shoal_node_stop(node, on_stopped, NULL);
    return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
    const char *secret = NULL;
    uint32_t negotiation_ms = 0;
    bool compat = false;
    shoal_rtc_mdns mdns = SHOAL_RTC_MDNS_RESOLVE;
    const char *addresses[8] = {NULL};
    int naddresses = 0;
    const char *db = NULL;
    uint8_t follows[8][32];
    size_t nfollows = 0;
    int first_hub = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--secret") == 0 && i + 1 < argc)
            secret = argv[++i];
        else if (strcmp(argv[i], "--negotiation-ms") == 0 && i + 1 < argc)
            negotiation_ms = (uint32_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--compat") == 0)
            compat = true;
        else if (strcmp(argv[i], "--verbose") == 0) {
            shoal_log_set_level(SHOAL_LOG_INFO);
            shoal_log_set_sink(on_shoal_log, NULL);
        } else if (strcmp(argv[i], "--mdns") == 0 && i + 1 < argc)
            mdns = strcmp(argv[++i], "hide") == 0 ? SHOAL_RTC_MDNS_HIDE
                   : strcmp(argv[i], "off") == 0  ? SHOAL_RTC_MDNS_OFF
                                                  : SHOAL_RTC_MDNS_RESOLVE;
        else if (strcmp(argv[i], "--address") == 0 && i + 1 < argc && naddresses < 7)
            addresses[naddresses++] = argv[++i];
        else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            db = argv[++i];
        else if (strcmp(argv[i], "--follow") == 0 && i + 1 < argc && nfollows < 8) {
            shoal_ref f;
            const char *id = argv[++i];
            if (shoal_ref_parse(&f, id, strlen(id), NULL) != SHOAL_OK || f.kind != SHOAL_REF_FEED)
                return 2;
            memcpy(follows[nfollows++], f.key, 32);
        } else {
            first_hub = i;
            break;
        }
    }
    shoal_keypair keys;
    bool created;
    shoal_feed_store *store = NULL;
    if (!secret || shoal_identity_load_or_create(secret, &keys, &created) != SHOAL_OK ||
        (db && shoal_feed_store_open(db, &store) != SHOAL_OK))
        return 2;
    static const char *const loopback[] = {"127.0.0.1", NULL};
    shoal_rtc_config rtc = {.local_addresses = naddresses ? addresses : loopback, .mdns = mdns};
    shoal_conn_config conn;
    shoal_conn_config_default(&conn);
    if (negotiation_ms)
        conn.timeout_rtc = negotiation_ms;
    shoal_node_config cfg = {.keys = &keys,
                             .rtc = &rtc,
                             .conn = &conn,
                             .compat = compat,
                             .store = store,
                             .follows = (const uint8_t(*)[32])follows,
                             .nfollows = nfollows};
    shoal_node_callbacks cb = {.connected = on_connected,
                               .disconnected = on_disconnected,
                               .log = on_log,
                               .plain_open = on_plain_open,
                               .plain_message = on_plain_message,
                               .progress = on_progress};
    shoal_node *node;
    if (shoal_node_new(&cfg, &cb, NULL, &node) != SHOAL_OK)
        return 3;
    for (int i = first_hub; i < argc; i++) {
        shoal_hub_addr addr;
        if (shoal_hub_addr_parse(&addr, argv[i], strlen(argv[i]), NULL) != SHOAL_OK ||
            shoal_node_add_hub(node, &addr) != SHOAL_OK)
            return 2;
    }
    loop = g_main_loop_new(NULL, FALSE);
    g_unix_signal_add(SIGTERM, on_term, node);
    g_main_loop_run(loop);
    const shoal_node_stats *st = shoal_node_get_stats(node);
    say(json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "event", "stats", "messages_refused",
                  (json_int_t)st->messages_refused, "announces_replayed",
                  (json_int_t)st->announces_replayed, "signals_dropped",
                  (json_int_t)st->signals_dropped, "signals_refused",
                  (json_int_t)st->signals_refused, "offers_turned_away",
                  (json_int_t)st->offers_turned_away, "negotiations_failed",
                  (json_int_t)st->negotiations_failed, "connections", (json_int_t)st->connections));
    shoal_node_free(node);
    shoal_feed_store_close(store);
    g_main_loop_unref(loop);
    return 0;
}

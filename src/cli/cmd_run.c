/* shoal run: the daemon. One SSB peer in a home folder: its identity, its feed store and its
 * configuration; it joins its hubs and meets peers over WebRTC, serves net: (TCP), replicates,
 * and takes commands on a Unix socket (see control.h for the protocol). */
#include "cli.h"
#include "control.h"
#include "status_page.h"

#include "shoal/config.h"
#include "shoal/conn_store.h"
#include "shoal/identity.h"
#include "shoal/net.h"
#include "shoal/node.h"

#include <errno.h>
#include <sodium.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NETWORK_SETTLE_MS 1000 /* after the last of a burst of network changes */
#define CLOCK_CHECK_S     5
#define SLEPT_US          (3 * G_USEC_PER_SEC) /* the clocks drifted apart this much: a sleep */
#define SAVE_MS           2000 /* the tables' changes are written at most this long after */

static const char help[] =
    "usage: shoal run [--home DIR]\n"
    "\n"
    "Runs shoal's daemon: an SSB peer that joins the signal hubs of its configuration, meets\n"
    "peers over WebRTC and net: (TCP), replicates the feeds it follows and its own, and takes\n"
    "commands from `shoal status`, `shoal publish`, `shoal feed`, `shoal follow`, `shoal hubs`\n"
    "and the others (see shoal --help).\n"
    "\n"
    "Its home (--home, else $SHOAL_HOME, else ~/.shoal; created mode 0700) holds:\n"
    "  config.json    the configuration (optional; documented in include/shoal/config.h)\n"
    "  secret         the identity, unless ~/.ssb/secret exists (then that one is used)\n"
    "  feeds.db       the feed store (SQLite)\n"
    "  conn.db        the hubs and peers known, their failures and backoffs (SQLite)\n"
    "  control.sock   the command socket, while running\n"
    "Its status page (hubs, peers, feeds, recent changes; HTML and JSON) is on 127.0.0.1, port "
    "8009\n"
    "unless config.json says otherwise (statusPort); `shoal status` tells its address.\n"
    "\n"
    "A network change (an address or a route comes or goes) or a wake-up from sleep (logind,\n"
    "or the clocks drifting apart) tears every connection down at once and dials again.\n"
    "SIGTERM or SIGINT stops it cleanly (a signed leave at every hub, goodbyes to every peer).\n"
    "While replication stores messages, its progress goes to standard error once a second: a bar\n"
    "on a terminal (once the peers said how much there is), plain lines otherwise.\n"
    "exit status: 0 stopped, 2 usage or configuration error, 3 failure\n";

typedef struct daemon_state {
    GMainLoop *loop;
    shoal_node *node;
    shoal_net_server *server;
    shoal_config cfg;
    shoal_keypair keys;
    GList *conns; /* shoal_net_conn: the net: connections open */
    shoal_control *control;
    shoal_conn_store *tables; /* the state manager's hubs and peers, kept between runs */
    guint save;               /* the tables' next write */
    guint settle;             /* a network change waits this out: changes come in bursts */
    guint clock_check;        /* the wake-up fallback: a jump between the two clocks */
    gint64 clock_gap;         /* CLOCK_BOOTTIME - CLOCK_MONOTONIC, µs, at the last check */
    GDBusConnection *system_bus;
    /* sync progress: what replication stored, told once a second while it goes on */
    guint progress_tick;
    int64_t synced, synced_told; /* messages */
    GHashTable *synced_feeds;    /* feed key (32 bytes, GBytes) of this run's feeds */
    gint64 sync_began;           /* µs, monotonic, of this run of activity; 0 idle */
    bool tty;                    /* stderr is a terminal: one line updated in place */
    guint sleep_watch;           /* logind's PrepareForSleep */
    bool stopping, node_stopped;
} daemon_state;

static void finish_progress(daemon_state *d, double secs);

/* A peer over net: is the state manager's as any other: it is admitted (or turned away), then
 * answers the basics and createHistoryStream, and is asked for what we follow and for our own
 * feed, as over WebRTC. */
static void net_established(shoal_net_conn *conn, void *ud)
{
    daemon_state *d = ud;
    if (!g_list_find(d->conns, conn)) /* one we dialled is listed from the dial on */
        d->conns = g_list_prepend(d->conns, conn);
    if (!shoal_node_net_up(d->node, conn, shoal_net_conn_rpc(conn), shoal_net_conn_remote(conn)))
        shoal_net_conn_close(conn);
}

/* A dial asked for over the control socket: answered once the peer proved its key, or failed. */
typedef struct dialling {
    daemon_state *d;
    shoal_control_call *call;
    int refused; /* why the state manager would not have it dialled, or SHOAL_OK */
} dialling;

static void dial_established(shoal_net_conn *conn, void *ud)
{
    dialling *x = ud;
    net_established(conn, x->d);
    shoal_control_call_done(x->call, NULL);
    x->call = NULL;
}

static void net_closed(shoal_net_conn *conn, int err, void *ud);

static void dial_closed(shoal_net_conn *conn, int err, void *ud)
{
    dialling *x = ud;
    if (x->call)
        shoal_control_call_done(x->call, shoal_strerror(x->refused ? x->refused
                                                        : err      ? err
                                                                   : SHOAL_E_NET_CONNECT));
    net_closed(conn, err, x->d);
    g_free(x);
}

static void dial(const char *host, uint16_t port, const uint8_t key[32], shoal_control_call *call,
                 void *ud)
{
    daemon_state *d = ud;
    dialling *x = g_new(dialling, 1);
    *x = (dialling){d, call, SHOAL_OK};
    shoal_net_config net = {.keys = &d->keys};
    shoal_net_conn *conn =
        d->stopping ? NULL
                    : shoal_net_dial(&net, host, port, key,
                                     &(shoal_net_callbacks){dial_established, dial_closed}, x);
    if (!conn) {
        shoal_control_call_done(call, d->stopping ? "the daemon is stopping" : "cannot dial");
        g_free(x);
        return;
    }
    d->conns = g_list_prepend(d->conns, conn); /* closed with the others if we stop first */
    x->refused = shoal_node_net_dial(d->node, key, conn);
    if (x->refused != SHOAL_OK)
        shoal_net_conn_close(conn); /* dial_closed tells why */
}

/* The state manager lets a net: connection go. */
static void close_net(shoal_node *node, void *conn, shoal_close_reason reason, void *ud)
{
    (void)node, (void)reason, (void)ud;
    shoal_net_conn_close(conn);
}

/* Stopping is done once the node has left and every net: connection has closed. */
static void maybe_done(daemon_state *d)
{
    if (d->stopping && d->node_stopped && !d->conns)
        g_main_loop_quit(d->loop);
}

static void net_closed(shoal_net_conn *conn, int err, void *ud)
{
    daemon_state *d = ud;
    if (g_list_find(d->conns, conn)) {
        shoal_node_net_down(d->node, conn, err);
        d->conns = g_list_remove(d->conns, conn);
    }
    maybe_done(d);
}

/* ---- network changes and wake-ups ---------------------------------------------------------- */

static gboolean network_settled(gpointer ud)
{
    daemon_state *d = ud;
    d->settle = 0;
    if (!d->stopping && g_network_monitor_get_network_available(g_network_monitor_get_default()))
        shoal_node_network_changed(d->node, false);
    return G_SOURCE_REMOVE;
}

static void on_network_changed(GNetworkMonitor *monitor, gboolean available, gpointer ud)
{
    (void)monitor, (void)available;
    daemon_state *d = ud;
    g_clear_handle_id(&d->settle, g_source_remove);
    d->settle = g_timeout_add(NETWORK_SETTLE_MS, network_settled, d);
}

static gint64 clock_gap(void)
{
    struct timespec boot, mono;
    clock_gettime(CLOCK_BOOTTIME, &boot);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    return (gint64)(boot.tv_sec - mono.tv_sec) * 1000000 + (boot.tv_nsec - mono.tv_nsec) / 1000;
}

/* CLOCK_MONOTONIC stops while the system sleeps and CLOCK_BOOTTIME does not: a grown gap is a
 * sleep, for systems without logind. */
static gboolean check_clocks(gpointer ud)
{
    daemon_state *d = ud;
    gint64 gap = clock_gap();
    if (gap - d->clock_gap > SLEPT_US && !d->stopping)
        shoal_node_network_changed(d->node, true);
    d->clock_gap = gap;
    return G_SOURCE_CONTINUE;
}

static void on_prepare_for_sleep(GDBusConnection *bus, const char *sender, const char *path,
                                 const char *iface, const char *signal, GVariant *params,
                                 gpointer ud)
{
    (void)bus, (void)sender, (void)path, (void)iface, (void)signal;
    daemon_state *d = ud;
    gboolean going = TRUE;
    if (g_variant_is_of_type(params, G_VARIANT_TYPE("(b)")))
        g_variant_get(params, "(b)", &going);
    if (!going && !d->stopping) {
        d->clock_gap = clock_gap(); /* told already: the clocks need not tell it again */
        shoal_node_network_changed(d->node, true);
    }
}

/* GNetworkMonitor for changes of address or route; logind's PrepareForSleep over D-Bus when
 * there is a system bus, and the clocks' gap in any case, for wake-ups. */
static void watch_system(daemon_state *d)
{
    g_signal_connect(g_network_monitor_get_default(), "network-changed",
                     G_CALLBACK(on_network_changed), d);
    d->clock_gap = clock_gap();
    d->clock_check = g_timeout_add_seconds(CLOCK_CHECK_S, check_clocks, d);
    d->system_bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, NULL);
    if (d->system_bus)
        d->sleep_watch = g_dbus_connection_signal_subscribe(
            d->system_bus, "org.freedesktop.login1", "org.freedesktop.login1.Manager",
            "PrepareForSleep", "/org/freedesktop/login1", NULL, G_DBUS_SIGNAL_FLAGS_NONE,
            on_prepare_for_sleep, d, NULL);
    else
        shoal_log(SHOAL_LOG_INFO, "run", "no system bus: wake-ups are seen by the clocks alone");
}

static void unwatch_system(daemon_state *d)
{
    if (d->progress_tick) { /* stopped in the middle of a sync: its closing line now */
        g_source_remove(d->progress_tick);
        finish_progress(d, (double)(g_get_monotonic_time() - d->sync_began) / 1e6);
    }
    g_signal_handlers_disconnect_by_data(g_network_monitor_get_default(), d);
    g_clear_handle_id(&d->settle, g_source_remove);
    g_clear_handle_id(&d->clock_check, g_source_remove);
    if (d->system_bus) {
        g_dbus_connection_signal_unsubscribe(d->system_bus, d->sleep_watch);
        g_clear_object(&d->system_bus);
    }
}

static void on_log(shoal_node *node, const char *line, void *ud)
{
    (void)node, (void)ud;
    shoal_log(SHOAL_LOG_INFO, "node", "%s", line);
}

/* What the peers said is left of this run's feeds (-1: none said). */
static int64_t sync_left(daemon_state *d)
{
    int64_t left = -1;
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, d->synced_feeds);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        int64_t one = shoal_control_left(d->control, g_bytes_get_data(key, NULL));
        if (one >= 0)
            left = (left < 0 ? 0 : left) + one;
    }
    return left;
}

#define BAR_WIDTH 30

/* Once a second while replication stores messages: on a terminal one line kept up to date (a
 * bar once the peers said how much there is), otherwise a plain line each time; and a closing
 * line once a second passes with nothing new. */
static gboolean tell_progress(gpointer ud)
{
    daemon_state *d = ud;
    double secs = (double)(g_get_monotonic_time() - d->sync_began) / 1e6;
    if (d->synced <= d->synced_told) {
        finish_progress(d, secs - 1); /* the last second brought nothing */
        return G_SOURCE_REMOVE;
    }
    guint feeds = g_hash_table_size(d->synced_feeds);
    int64_t left = sync_left(d);
    long long done = d->synced, total = left < 0 ? 0 : done + left;
    const char *s = feeds == 1 ? "" : "s";
    double rate = secs > 0 ? (double)done / secs : 0;
    if (d->tty && total > 0) {
        char bar[BAR_WIDTH + 1];
        int filled = (int)(BAR_WIDTH * done / total);
        memset(bar, '#', (size_t)filled);
        memset(bar + filled, '-', (size_t)(BAR_WIDTH - filled));
        bar[BAR_WIDTH] = '\0';
        fprintf(stderr, "\r\033[Ksyncing [%s] %lld/%lld messages from %u feed%s, %.0f/s", bar, done,
                total, feeds, s, rate);
    } else if (d->tty) {
        fprintf(stderr, "\r\033[Ksyncing: %lld messages from %u feed%s, %.0f/s", done, feeds, s,
                rate);
    } else if (total > 0) {
        fprintf(stderr, "shoal: syncing: %lld of %lld messages from %u feed%s so far, %.0f/s\n",
                done, total, feeds, s, rate);
    } else {
        fprintf(stderr, "shoal: syncing: %lld messages from %u feed%s so far, %.0f/s\n", done,
                feeds, s, rate);
    }
    d->synced_told = d->synced;
    return G_SOURCE_CONTINUE;
}

/* The closing line of a run of sync activity. */
static void finish_progress(daemon_state *d, double secs)
{
    guint feeds = g_hash_table_size(d->synced_feeds);
    fprintf(stderr, "%sshoal: synced %lld messages from %u feed%s in %.1f s\n",
            d->tty ? "\r\033[K" : "", (long long)d->synced, feeds, feeds == 1 ? "" : "s", secs);
    d->synced = d->synced_told = 0;
    d->sync_began = 0;
    g_hash_table_remove_all(d->synced_feeds);
    d->progress_tick = 0;
}

/* Messages of `feed` were stored: the hubs they name join the table, and the count goes to the
 * sync progress. */
static void on_progress(shoal_node *node, shoal_node_peer *peer, const uint8_t feed[32],
                        int64_t head, void *ud)
{
    (void)node, (void)peer, (void)head;
    daemon_state *d = ud;
    int64_t n = shoal_control_scan(d->control, feed);
    if (n <= 0)
        return;
    g_hash_table_add(d->synced_feeds, g_bytes_new(feed, 32));
    d->synced += n;
    if (!d->progress_tick) {
        d->sync_began = g_get_monotonic_time();
        d->progress_tick = g_timeout_add_seconds(1, tell_progress, d);
    }
}

/* A peer said how far it holds a feed: how much the sync has left. */
static void on_head_known(shoal_node *node, const uint8_t feed[32], int64_t head, void *ud)
{
    (void)node;
    shoal_control_head_known(((daemon_state *)ud)->control, feed, head);
}

static gboolean save_tables(gpointer ud)
{
    daemon_state *d = ud;
    d->save = 0;
    if (shoal_conn_store_flush(d->tables) != SHOAL_OK)
        shoal_log(SHOAL_LOG_WARN, "run",
                  "conn.db cannot be written: the hubs and peers of this "
                  "run may be forgotten by the next");
    return G_SOURCE_REMOVE;
}

static void on_changed(shoal_node *node, const shoal_conn_fx *event, void *ud)
{
    (void)node;
    daemon_state *d = ud;
    if (d->tables && shoal_conn_store_note(d->tables, event) == SHOAL_OK && !d->save &&
        shoal_conn_store_pending(d->tables) > 0)
        d->save = g_timeout_add(SAVE_MS, save_tables, d);
    shoal_control_changed(d->control, event);
}

/* What the last run saved of the hubs and peers, back into the state manager; the addresses
 * of the hubs restored go to `hubs`. */
typedef struct restoring {
    daemon_state *d;
    GArray *hubs; /* shoal_hub_addr */
} restoring;

static int restore_one(const shoal_conn_action *a, void *ud)
{
    restoring *r = ud;
    if (shoal_node_restore(r->d->node, a) == SHOAL_OK && a->type == SHOAL_ACT_HUB_RESTORED)
        g_array_append_val(r->hubs, a->hub_record->addr);
    return SHOAL_OK; /* one that does not fit is left out; the others come back */
}

static GArray *restore_tables(daemon_state *d, const char *home)
{
    char *path = g_build_filename(home, "conn.db", NULL);
    shoal_buf aside = SHOAL_BUF_INIT;
    restoring r = {d, g_array_new(FALSE, FALSE, sizeof(shoal_hub_addr))};
    int rc = shoal_conn_store_open(&d->tables, path, &aside);
    if (aside.len)
        shoal_log(SHOAL_LOG_WARN, "run", "%s was damaged: set aside as %s, and a new one begun",
                  path, aside.data);
    if (rc == SHOAL_OK) {
        shoal_conn_store_set_clock(d->tables, g_get_real_time() / 1000 - shoal_node_now(d->node));
        rc = shoal_conn_store_load(d->tables, restore_one, &r);
    }
    if (rc != SHOAL_OK) {
        shoal_log(SHOAL_LOG_WARN, "run",
                  "%s: %s: the hubs and peers of earlier runs are not "
                  "restored, and this run's are not saved",
                  path, shoal_strerror(rc));
        shoal_conn_store_close(d->tables);
        d->tables = NULL;
    }
    shoal_buf_free(&aside);
    g_free(path);
    return r.hubs;
}

static void on_stopped(void *ud)
{
    daemon_state *d = ud;
    d->node_stopped = true;
    maybe_done(d);
}

static gboolean on_signal(gpointer ud)
{
    daemon_state *d = ud;
    if (d->stopping)
        return G_SOURCE_CONTINUE;
    d->stopping = true;
    shoal_log(SHOAL_LOG_INFO, "run", "stopping");
    GList *open = g_list_copy(d->conns);
    for (GList *l = open; l; l = l->next)
        shoal_net_conn_close(l->data);
    g_list_free(open);
    shoal_node_stop(d->node, on_stopped, d);
    return G_SOURCE_CONTINUE;
}

/* The configuration file, if there is one; false (said why) when it cannot be used. */
static bool load_config(const char *home, shoal_config *cfg)
{
    char *path = g_build_filename(home, "config.json", NULL);
    char *text = NULL;
    gsize len = 0;
    GError *error = NULL;
    bool ok = true;
    if (!g_file_get_contents(path, &text, &len, &error)) {
        ok = g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
        if (!ok)
            fprintf(stderr, "shoal run: %s\n", error->message);
        shoal_config_default(cfg);
        g_error_free(error);
    } else {
        char why[512];
        ok = shoal_config_parse(cfg, text, len, why, sizeof why) == SHOAL_OK;
        if (!ok)
            fprintf(stderr, "shoal run: %s: %s\n", path, why);
    }
    g_free(text);
    g_free(path);
    return ok;
}

/* ~/.ssb/secret when it exists (the user's SSB identity), else the home's own. */
static bool load_identity(const char *home, shoal_keypair *keys)
{
    char *ssb = g_build_filename(g_get_home_dir(), ".ssb", "secret", NULL);
    char *own = g_build_filename(home, "secret", NULL);
    const char *path = g_file_test(ssb, G_FILE_TEST_EXISTS) ? ssb : own;
    bool created;
    int rc = shoal_identity_load_or_create(path, keys, &created);
    if (rc != SHOAL_OK)
        fprintf(stderr, "shoal run: %s: %s\n", path, shoal_strerror(rc));
    else if (created)
        shoal_log(SHOAL_LOG_INFO, "run", "a new identity in %s", path);
    g_free(ssb);
    g_free(own);
    return rc == SHOAL_OK;
}

int shoal_cmd_run(int argc, char **argv)
{
    const char *given = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(help, stdout);
            return SHOAL_EXIT_OK;
        }
        if (strcmp(argv[i], "--home") == 0 && i + 1 < argc) {
            given = argv[++i];
        } else {
            fprintf(stderr, "shoal run: unexpected '%s' (see --help)\n", argv[i]);
            return SHOAL_EXIT_USAGE;
        }
    }
    char *home = shoal_control_home(given);
    if (g_mkdir_with_parents(home, 0700) != 0) {
        fprintf(stderr, "shoal run: cannot create %s: %s\n", home, g_strerror(errno));
        g_free(home);
        return SHOAL_EXIT_FAILURE;
    }
    daemon_state d = {0};
    GArray *saved_hubs = NULL;
    int status = SHOAL_EXIT_USAGE;
    shoal_feed_store *store = NULL;
    shoal_status_page *page = NULL;
    char *db = g_build_filename(home, "feeds.db", NULL);
    if (!load_config(home, &d.cfg))
        goto out;
    status = SHOAL_EXIT_FAILURE;
    if (!load_identity(home, &d.keys))
        goto out;
    int rc = shoal_feed_store_open(db, &store);
    if (rc != SHOAL_OK) {
        fprintf(stderr, "shoal run: %s: %s\n", db, shoal_strerror(rc));
        goto out;
    }
    shoal_rtc_config rtc = {0};
    if (d.cfg.stun.host[0])
        rtc.stun_host = d.cfg.stun.host, rtc.stun_port = d.cfg.stun.port;
    if (d.cfg.turn.host[0]) {
        rtc.turn_host = d.cfg.turn.host, rtc.turn_port = d.cfg.turn.port;
        rtc.turn_user = d.cfg.turn_user, rtc.turn_password = d.cfg.turn_password;
    }
    shoal_node_config ncfg = {.keys = &d.keys,
                              .rtc = &rtc,
                              .conn = &d.cfg.conn,
                              .store = store,
                              .follows = (const uint8_t(*)[32])d.cfg.follows,
                              .nfollows = d.cfg.nfollows,
                              .replicate_peers = d.cfg.replicate_peers};
    d.loop = g_main_loop_new(NULL, FALSE);
    d.synced_feeds =
        g_hash_table_new_full(g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref, NULL);
    d.tty = isatty(STDERR_FILENO);
    if ((rc = shoal_node_new(&ncfg,
                             &(shoal_node_callbacks){.log = on_log,
                                                     .changed = on_changed,
                                                     .close_net = close_net,
                                                     .progress = on_progress,
                                                     .head_known = on_head_known},
                             &d, &d.node)) != SHOAL_OK) {
        fprintf(stderr, "shoal run: %s\n", shoal_strerror(rc));
        goto out;
    }
    saved_hubs = restore_tables(&d, home);
    for (size_t i = 0; i < d.cfg.nhubs; i++)
        if (shoal_node_add_hub(d.node, &d.cfg.hubs[i]) != SHOAL_OK)
            fprintf(stderr,
                    "shoal run: more hubs than the state manager holds: some are left out\n");
    char id[SHOAL_REF_STRSIZE];
    shoal_identity_feed_id(d.keys.pub, id);
    uint16_t port = 0;
    if (d.cfg.listen.host[0]) {
        shoal_net_config net = {.keys = &d.keys};
        if (shoal_net_listen(&net, d.cfg.listen.host, d.cfg.listen.port,
                             &(shoal_net_callbacks){net_established, net_closed}, &d,
                             &d.server) != SHOAL_OK) {
            fprintf(stderr, "shoal run: cannot listen on %s:%u\n", d.cfg.listen.host,
                    d.cfg.listen.port);
            goto out;
        }
        port = shoal_net_server_port(d.server);
    }
    if ((rc = shoal_control_start(home, d.node, store, &d.keys, &d.cfg, port, dial, &d,
                                  &d.control)) != SHOAL_OK) {
        fprintf(stderr, "shoal run: the control socket: %s\n", shoal_strerror(rc));
        goto out;
    }
    for (guint i = 0; i < saved_hubs->len; i++) /* those the configuration does not name */
        shoal_control_hold_saved(d.control, &g_array_index(saved_hubs, shoal_hub_addr, i));
    page = shoal_status_page_start(d.control, d.cfg.status_port);
    shoal_control_set_page(d.control, shoal_status_page_url(page));
    shoal_control_scan(d.control, d.keys.pub); /* the hubs our feeds name, from before */
    for (size_t i = 0; i < d.cfg.nfollows; i++)
        shoal_control_scan(d.control, d.cfg.follows[i]);
    printf("shoal %s running as %s in %s\n", SHOAL_VERSION, id, home);
    fflush(stdout);
    watch_system(&d);
    g_unix_signal_add(SIGTERM, on_signal, &d);
    g_unix_signal_add(SIGINT, on_signal, &d);
    g_main_loop_run(d.loop);
    unwatch_system(&d);
    status = SHOAL_EXIT_OK;
out:
    if (saved_hubs)
        g_array_free(saved_hubs, TRUE);
    g_clear_handle_id(&d.save, g_source_remove);
    shoal_status_page_free(page);
    shoal_control_free(d.control);
    d.control = NULL;
    while (g_main_context_iteration(NULL, FALSE)) /* cancelled clients finish */
        ;
    shoal_net_server_free(d.server);
    shoal_node_free(d.node);
    shoal_conn_store_close(d.tables); /* what is pending is written */
    shoal_feed_store_close(store);
    shoal_config_free(&d.cfg);
    if (d.loop)
        g_main_loop_unref(d.loop);
    if (d.synced_feeds)
        g_hash_table_destroy(d.synced_feeds);
    sodium_memzero(&d.keys, sizeof d.keys);
    g_free(db);
    g_free(home);
    return status;
}

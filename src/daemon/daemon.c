/* shoal's daemon (shoal/daemon.h): one SSB peer in a home folder, its identity, its feed store
 * and its configuration. It joins its hubs and meets peers over WebRTC (the node), serves and
 * dials net: (TCP), replicates, and takes commands on a Unix socket (control.c). This file
 * wires the parts together on GLib's main loop and stops them in order; the other files of
 * src/daemon each hold one concern (see daemon_internal.h). */
#include "daemon_internal.h"

#include "control.h"
#include "status_page.h"

#include "shoal/identity.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

char *shoal_daemon_home(const char *given)
{
    if (given)
        return g_strdup(given);
    const char *env = getenv("SHOAL_HOME");
    if (env && *env)
        return g_strdup(env);
    return g_build_filename(g_get_home_dir(), ".shoal", NULL);
}

char *shoal_daemon_socket_path(const char *home)
{
    return g_build_filename(home, "control.sock", NULL);
}

/* A peer over net: is the state manager's as any other: it is admitted (or turned away), then
 * answers the basics and createHistoryStream, and is asked for what we follow and for our own
 * feed, as over WebRTC. */
static void net_established(shoal_net_conn *conn, void *ud)
{
    shoal_daemon *d = ud;
    if (!g_list_find(d->conns, conn)) /* one we dialled is listed from the dial on */
        d->conns = g_list_prepend(d->conns, conn);
    if (!shoal_node_net_up(d->node, conn, shoal_net_conn_rpc(conn), shoal_net_conn_remote(conn)))
        shoal_net_conn_close(conn);
}

/* Stopping is done once the node has left and every net: connection has closed. */
static void maybe_done(shoal_daemon *d)
{
    if (d->stopping && d->node_stopped && !d->conns)
        g_main_loop_quit(d->loop);
}

static void net_closed(shoal_net_conn *conn, int err, void *ud)
{
    shoal_daemon *d = ud;
    if (g_list_find(d->conns, conn)) {
        shoal_node_net_down(d->node, conn, err);
        d->conns = g_list_remove(d->conns, conn);
    }
    maybe_done(d);
}

/* Every net: connection's, dialled or accepted: the configuration's limits, one account. */
static shoal_net_config daemon_net_config(shoal_daemon *d)
{
    return (shoal_net_config){.keys = &d->keys,
                              .limits = {.max_backlog = d->cfg.limits.queued,
                                         .idle_ms = d->cfg.limits.silent,
                                         .account = &d->account},
                              .max_pending = d->cfg.limits.handshakes};
}

/* A dial asked for over the control socket: answered once the peer proved its key, or failed. */
typedef struct dialling {
    shoal_daemon *d;
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

void daemon_dial(shoal_daemon *d, const char *host, uint16_t port, const uint8_t key[32],
                 shoal_control_call *call)
{
    dialling *x = g_new(dialling, 1);
    *x = (dialling){d, call, SHOAL_OK};
    shoal_net_config net = daemon_net_config(d);
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

static void on_log(shoal_node *node, const char *line, void *ud)
{
    (void)node, (void)ud;
    shoal_log(SHOAL_LOG_INFO, "node", "%s", line);
}

/* Messages of `feed` were stored (replicated): each is read once, for the follows and hubs it
 * names, and counted for the sync progress. */
static void on_progress(shoal_node *node, shoal_node_peer *peer, const uint8_t feed[32],
                        int64_t head, void *ud)
{
    (void)node, (void)peer, (void)head;
    shoal_daemon *d = ud;
    int64_t n = daemon_feeds_appended(d, feed);
    if (n > 0)
        daemon_progress_add(d, feed, n);
}

/* A peer said how far it holds a feed: how much the sync has left. */
static void on_head_known(shoal_node *node, const uint8_t feed[32], int64_t head, void *ud)
{
    (void)node;
    daemon_feeds_head_known(ud, feed, head);
}

static void on_changed(shoal_node *node, const shoal_conn_fx *event, void *ud)
{
    (void)node;
    shoal_daemon *d = ud;
    daemon_tables_note(d, event);
    daemon_reach_note(d, event);
    shoal_control_changed(d->control, event);
}

static void on_stopped(void *ud)
{
    shoal_daemon *d = ud;
    d->node_stopped = true;
    maybe_done(d);
}

static gboolean on_signal(gpointer ud)
{
    shoal_daemon *d = ud;
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

/* The node, with the configuration's WebRTC servers, knobs and follows. */
static int start_node(shoal_daemon *d)
{
    shoal_rtc_config rtc = {.ice = &d->cfg.ice,
                            .tls_ca_file = d->cfg.tls_ca_file[0] ? d->cfg.tls_ca_file : NULL,
                            .mdns = d->cfg.mdns == SHOAL_CONFIG_MDNS_HIDE ? SHOAL_RTC_MDNS_HIDE
                                    : d->cfg.mdns == SHOAL_CONFIG_MDNS_OFF
                                        ? SHOAL_RTC_MDNS_OFF
                                        : SHOAL_RTC_MDNS_RESOLVE};
    shoal_net_config net = daemon_net_config(d); /* its links' limits, for the channels' too */
    shoal_node_config ncfg = {.keys = &d->keys,
                              .rtc = &rtc,
                              .no_stun = d->cfg.no_stun,
                              .no_turn = d->cfg.no_turn,
                              .conn = &d->cfg.conn,
                              .store = d->store,
                              .follows = (const uint8_t(*)[32])d->cfg.follows,
                              .nfollows = d->cfg.nfollows,
                              .replicate_peers = d->cfg.replicate_peers,
                              .no_ebt = d->cfg.no_ebt,
                              .limits = &net.limits,
                              .max_streams = d->cfg.limits.streams,
                              .max_streams_per_feed = d->cfg.limits.streams_per_feed,
                              .max_negotiations = d->cfg.limits.negotiations};
    return shoal_node_new(&ncfg,
                          &(shoal_node_callbacks){.log = on_log,
                                                  .changed = on_changed,
                                                  .close_net = close_net,
                                                  .progress = on_progress,
                                                  .head_known = on_head_known},
                          d, &d->node);
}

/* Everything up to the main loop; the status to exit with when it fails (said why). */
static int start(shoal_daemon *d)
{
    if (!load_config(d->home, &d->cfg))
        return SHOAL_DAEMON_CONFIG;
    if (!load_identity(d->home, &d->keys))
        return SHOAL_DAEMON_FAILED;
    char *db = g_build_filename(d->home, "feeds.db", NULL);
    int rc = shoal_feed_store_open(db, &d->store);
    if (rc != SHOAL_OK)
        fprintf(stderr, "shoal run: %s: %s\n", db, shoal_strerror(rc));
    g_free(db);
    if (rc != SHOAL_OK)
        return SHOAL_DAEMON_FAILED;
    d->loop = g_main_loop_new(NULL, FALSE);
    d->account.max_queued = d->cfg.limits.queued_total;
    daemon_progress_init(d);
    daemon_feeds_init(d);
    daemon_reach_init(d);
    if ((rc = start_node(d)) != SHOAL_OK) {
        fprintf(stderr, "shoal run: %s\n", shoal_strerror(rc));
        return SHOAL_DAEMON_FAILED;
    }
    GArray *saved = g_array_new(FALSE, FALSE, sizeof(shoal_hub_addr));
    daemon_tables_restore(d, saved);
    for (size_t i = 0; i < d->cfg.nhubs; i++)
        if (shoal_node_add_hub(d->node, &d->cfg.hubs[i]) != SHOAL_OK)
            fprintf(stderr,
                    "shoal run: more hubs than the state manager holds: some are left out\n");
    if (d->cfg.listen.host[0]) {
        shoal_net_config net = daemon_net_config(d);
        if (shoal_net_listen(&net, d->cfg.listen.host, d->cfg.listen.port,
                             &(shoal_net_callbacks){net_established, net_closed}, d,
                             &d->server) != SHOAL_OK) {
            fprintf(stderr, "shoal run: cannot listen on %s:%u\n", d->cfg.listen.host,
                    d->cfg.listen.port);
            g_array_free(saved, TRUE);
            return SHOAL_DAEMON_FAILED;
        }
        d->net_port = shoal_net_server_port(d->server);
    }
    daemon_hubs_init(d);
    if ((rc = shoal_control_start(d, &d->control)) != SHOAL_OK) {
        fprintf(stderr, "shoal run: the control socket: %s\n", shoal_strerror(rc));
        g_array_free(saved, TRUE);
        return SHOAL_DAEMON_FAILED;
    }
    for (guint i = 0; i < saved->len; i++) /* those the configuration does not name */
        daemon_hubs_hold_saved(d, &g_array_index(saved, shoal_hub_addr, i));
    g_array_free(saved, TRUE);
    d->page = shoal_status_page_start(d->control, d->cfg.status_port);
    daemon_feeds_appended(d, d->keys.pub); /* the hubs and follows our feeds name, from before */
    for (size_t i = 0; i < d->cfg.nfollows; i++)
        daemon_feeds_appended(d, d->cfg.follows[i]);
    return SHOAL_DAEMON_STOPPED;
}

/* Narrows `path` to `mode` when others may read it, and says so; false when it cannot. */
static bool narrow(const char *path, mode_t mode)
{
    struct stat st;
    if (g_lstat(path, &st) != 0 || S_ISLNK(st.st_mode) || (st.st_mode & 077) == 0)
        return true; /* missing (made later, under our umask), a link, or the user's alone */
    if (g_chmod(path, mode) != 0) {
        fprintf(stderr, "shoal run: cannot make %s the user's alone: %s\n", path,
                g_strerror(errno));
        return false;
    }
    shoal_log(SHOAL_LOG_WARN, "run", "%s was mode %03o, open to others: now %03o", path,
              (unsigned)(st.st_mode & 0777), (unsigned)mode);
    return true;
}

/* The home and everything the daemon keeps in it are the user's alone, whoever made them: the
 * home 0700, its files 0600 (those an earlier run or the user made are narrowed, and every
 * file made from now on is, by the process's umask; SQLite gives a database's -wal and -shm
 * the database's mode). */
static bool private_home(const char *home)
{
    static const char *const files[] = {"config.json",  "secret",       "feeds.db",
                                        "feeds.db-wal", "feeds.db-shm", "conn.db",
                                        "conn.db-wal",  "conn.db-shm",  "blocked-hubs.json"};
    umask(0077);
    if (g_mkdir_with_parents(home, 0700) != 0) {
        fprintf(stderr, "shoal run: cannot create %s: %s\n", home, g_strerror(errno));
        return false;
    }
    bool ok = narrow(home, 0700);
    for (size_t i = 0; ok && i < sizeof files / sizeof *files; i++) {
        char *path = g_build_filename(home, files[i], NULL);
        ok = narrow(path, 0600);
        g_free(path);
    }
    return ok;
}

int shoal_daemon_run(const char *home)
{
    if (!private_home(home))
        return SHOAL_DAEMON_FAILED;
    /* descriptors up to what the system allows (the soft limit is often 1,024): connections are
     * bounded by the state manager and net's handshake cap, not by running out of them */
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &files);
    }
    shoal_daemon d = {.home = g_strdup(home)};
    int status = start(&d);
    if (status == SHOAL_DAEMON_STOPPED) {
        char id[SHOAL_REF_STRSIZE];
        shoal_identity_feed_id(d.keys.pub, id);
        printf("shoal %s running as %s in %s\n", SHOAL_VERSION, id, home);
        fflush(stdout);
        daemon_watch_start(&d);
        guint term = g_unix_signal_add(SIGTERM, on_signal, &d);
        guint intr = g_unix_signal_add(SIGINT, on_signal, &d);
        g_main_loop_run(d.loop);
        g_source_remove(term);
        g_source_remove(intr);
        daemon_progress_finish(&d); /* stopped in the middle of a sync: its closing line now */
        daemon_watch_stop(&d);
    }
    shoal_status_page_free(d.page);
    shoal_control_free(d.control);
    d.control = NULL;
    while (g_main_context_iteration(NULL, FALSE)) /* cancelled clients finish */
        ;
    shoal_net_server_free(d.server);
    shoal_node_free(d.node);
    daemon_tables_close(&d);
    shoal_feed_store_close(d.store);
    daemon_hubs_free(&d);
    daemon_feeds_free(&d);
    daemon_reach_free(&d);
    daemon_progress_free(&d);
    shoal_config_free(&d.cfg);
    if (d.loop)
        g_main_loop_unref(d.loop);
    sodium_memzero(&d.keys, sizeof d.keys);
    g_free(d.home);
    return status;
}

/* The daemon's state, shared by its files:
 *   daemon.c      the wiring: home, configuration, identity, stores, node, net:, signals
 *   tables.c      the state manager's hubs and peers kept in conn.db between runs
 *   hubs.c        the hub table: who named each hub, and the hubs blocked
 *   feeds.c       what we know of each feed; each message appended read once, for discover
 *   progress.c    replication's progress on standard error
 *   watch.c       network changes and wake-ups
 *   resources.c   the resource manager's figures: limits, what is held, what was refused
 *   control.c     the control socket (control.h); status_page.c the status page
 * Everything runs on GLib's default main context, one callback at a time. */
#ifndef SHOAL_DAEMON_INTERNAL_H
#define SHOAL_DAEMON_INTERNAL_H

#include "shoal/config.h"
#include "shoal/conn_store.h"
#include "shoal/daemon.h"
#include "shoal/net.h"
#include "shoal/node.h"

#include <gio/gio.h>
#include <jansson.h>

typedef struct shoal_control shoal_control;
typedef struct shoal_status_page shoal_status_page;
typedef struct shoal_control_call shoal_control_call;

/* A hub held, and who named it. */
typedef struct daemon_hub {
    shoal_hub_addr addr;
    char source[SHOAL_REF_STRSIZE]; /* "config", "command", "saved", or the feed that named it */
} daemon_hub;

/* Replication's progress: what was stored in this run of activity, told once a second. */
typedef struct daemon_progress {
    guint tick;
    int64_t synced, told; /* messages */
    GHashTable *feeds;    /* feed key (32 bytes, GBytes) of this run's feeds */
    gint64 began;         /* µs, monotonic, of this run of activity; 0 idle */
    bool tty;             /* stderr is a terminal: one line updated in place */
} daemon_progress;

/* The system watchers: network changes and wake-ups. */
typedef struct daemon_watch {
    guint settle;      /* a network change waits this out: changes come in bursts */
    guint clock_check; /* the wake-up fallback: a jump between the two clocks */
    gint64 clock_gap;  /* CLOCK_BOOTTIME - CLOCK_MONOTONIC, µs, at the last check */
    GDBusConnection *system_bus;
    guint sleep_watch; /* logind's PrepareForSleep */
} daemon_watch;

typedef struct shoal_daemon {
    char *home;
    GMainLoop *loop;
    shoal_node *node;
    shoal_feed_store *store;
    shoal_net_server *server;
    uint16_t net_port; /* the port net: listens on; 0: none */
    shoal_config cfg;
    shoal_keypair keys;
    GList *conns;               /* shoal_net_conn: the net: connections open */
    shoal_link_account account; /* what every connection's link holds, and what was let go */
    shoal_control *control;
    shoal_status_page *page;
    shoal_conn_store *tables; /* the state manager's hubs and peers, kept between runs */
    guint save;               /* the tables' next write */
    /* the hub table: the configuration's, those added by command, those found in feeds */
    daemon_hub hubs[SHOAL_CONFIG_MAX_HUBS];
    size_t nhubs;
    GPtrArray *blocked; /* char*: canonical hub URLs never to join */
    char *blocked_path; /* <home>/blocked-hubs.json */
    GHashTable *feeds;  /* feed (32 bytes) → daemon_feed: the feeds we hold or are fetching */
    GHashTable *unreachable; /* feed (32 bytes): peers we warned of (reach.c) */
    daemon_progress progress;
    daemon_watch watch;
    bool stopping, node_stopped;
} shoal_daemon;

/* ---- reach.c ---- */
void daemon_reach_init(shoal_daemon *d);
void daemon_reach_free(shoal_daemon *d);
/* A peer's record changed: one that keeps failing is told of once, at warn level, with why. */
void daemon_reach_note(shoal_daemon *d, const shoal_conn_fx *event);

/* ---- resources.c ---- */
/* {"limits": {...}, "queued": bytes, "refused": {...}} for status (see shoal/daemon.h). */
json_t *daemon_resources_json(shoal_daemon *d);
/* The same as Prometheus text, for the status page's /metrics (g_free it). */
char *daemon_metrics(shoal_daemon *d);

/* ---- daemon.c ---- */
/* A dial asked for over the control socket ("connect"): `call` is answered once the peer has
 * proved `key`, or the dial failed. */
void daemon_dial(shoal_daemon *d, const char *host, uint16_t port, const uint8_t key[32],
                 shoal_control_call *call);

/* ---- tables.c ---- */
/* What the last run saved in <home>/conn.db, back into the node (before the configuration's
 * hubs are added); the hubs restored are appended to `saved` (shoal_hub_addr). Said in the log
 * when it cannot: the run goes on without the tables. */
void daemon_tables_restore(shoal_daemon *d, GArray *saved);
/* A change of the state manager's records, for the tables (written within two seconds). */
void daemon_tables_note(shoal_daemon *d, const shoal_conn_fx *event);
/* Writes what is pending and closes the tables. */
void daemon_tables_close(shoal_daemon *d);

/* ---- hubs.c ---- */
/* The configuration's hubs (source "config") and the hubs blocked, from the home. */
void daemon_hubs_init(shoal_daemon *d);
void daemon_hubs_free(shoal_daemon *d);
/* Joins a hub unless it is held already or blocked; `source` says who named it: "config",
 * "command", or a feed's id (a hub held only because an earlier run saved it takes the name of
 * whoever names it again). SHOAL_E_INVAL when it is blocked, SHOAL_E_CONN_TOO_MANY_HUBS when
 * the table is full, or when `source` is a feed and feeds have named their share (half the
 * table) or, for a feed not ours, this one has named its three. */
SHOAL_MUST_CHECK int daemon_hubs_hold(shoal_daemon *d, const shoal_hub_addr *addr,
                                      const char *source);
/* A hub an earlier run saved, which the node has restored: listed as "saved" until something
 * names it again; left at once if it was blocked since. */
void daemon_hubs_hold_saved(shoal_daemon *d, const shoal_hub_addr *addr);
/* Leaves a hub held; false when it is not held. */
bool daemon_hubs_leave(shoal_daemon *d, const shoal_hub_addr *addr);
/* Leaves every hub `feed` named (we no longer follow it). */
void daemon_hubs_leave_named_by(shoal_daemon *d, const uint8_t feed[32]);
/* Never joins it again (kept in blocked-hubs.json), and leaves it now if held; false when the
 * file cannot be written. */
bool daemon_hubs_block(shoal_daemon *d, const shoal_hub_addr *addr);
/* The canonical URL; free with g_free. */
char *daemon_hub_url(const shoal_hub_addr *addr);

/* ---- feeds.c ---- */
/* Tables keyed by a feed's 32 bytes. */
guint daemon_feed_hash(gconstpointer key);
gboolean daemon_feed_equal(gconstpointer a, gconstpointer b);
void daemon_feeds_init(shoal_daemon *d);
void daemon_feeds_free(shoal_daemon *d);
/* Messages of `feed` were appended (replicated, published, or stored by an earlier run): each
 * not read yet is read once and given to shoal_discover, and what it says is done: hubs named
 * by our own feed or one we follow join the table (within its bounds, daemon_hubs_hold); our own
 * contact messages follow a feed (which is then read in turn, from its start for the hubs it
 * names) or unfollow it (and its hubs are left). How many messages were read. */
int64_t daemon_feeds_appended(shoal_daemon *d, const uint8_t feed[32]);
/* A peer said how far it holds `feed`. */
void daemon_feeds_head_known(shoal_daemon *d, const uint8_t feed[32], int64_t head);
/* How many messages of `feed` we have yet to fetch, by what a peer said (-1: none said). */
int64_t daemon_feeds_left(shoal_daemon *d, const uint8_t feed[32]);
/* Status's "feeds": [{"id","sequence","peerSequence"}] (a new reference). */
json_t *daemon_feeds_json(shoal_daemon *d);

/* ---- progress.c ---- */
void daemon_progress_init(shoal_daemon *d);
/* `n` messages of `feed` were stored: counted, and told within a second. */
void daemon_progress_add(shoal_daemon *d, const uint8_t feed[32], int64_t n);
/* Tells the closing line of a sync still going on (the daemon stops in the middle of one). */
void daemon_progress_finish(shoal_daemon *d);
/* daemon_progress_finish, then frees what progress holds. */
void daemon_progress_free(shoal_daemon *d);

/* ---- watch.c ---- */
/* GNetworkMonitor for changes of address or route; logind's PrepareForSleep over D-Bus when
 * there is a system bus, and the clocks' gap in any case, for wake-ups. Each tells the node. */
void daemon_watch_start(shoal_daemon *d);
void daemon_watch_stop(shoal_daemon *d);

#endif

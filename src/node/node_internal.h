/* The node's parts, shared by its files (see shoal/node.h):
 *
 *   node.c       the hubs, what they bring, the state manager's effects, the life cycle
 *   channels.c   the WebRTC shell: the negotiation core's effects carried out, the data
 *                channels and the links over them
 *   net_peers.c  net: connections, as the state manager's peers
 *   replication.c  the replicator over every session, EBT's ticks, the feeds followed
 *
 * How this works. Two pure reducers decide everything: the state manager (shoal/conn.h) which
 * peers to hold, the negotiation core (shoal/negotiate.h) how each WebRTC negotiation goes. The
 * node feeds them what happens (hub messages, WebRTC and link events, POSTs done, timers) and
 * carries out their effects. Neither reducer may be called while its effects are being carried
 * out (they are borrowed until its next call), and one reducer's effects feed the other: so every
 * input goes through one queue (node_conn, node_negotiate), drained in order by whoever arrived
 * first, and what arises while effects are carried out waits its turn there. */
#ifndef SHOAL_NODE_INTERNAL_H
#define SHOAL_NODE_INTERNAL_H

#include "shoal/hub_client.h"
#include "shoal/identity.h"
#include "shoal/link_driver.h"
#include "shoal/negotiate.h"
#include "shoal/node.h"
#include "shoal/swarm.h"

#include <gio/gio.h>

typedef struct hub {
    uint32_t id;  /* the state manager's */
    size_t index; /* the hub client's */
    shoal_hub_addr addr;
    bool known; /* id learnt */
    /* its ICE servers (ice.c): good until ice_until, asked again from ice_renew (monotonic µs) */
    shoal_ice_servers ice;
    gint64 ice_until, ice_renew;
    bool ice_asking;
    bool join_held; /* its stream is open; the state manager hears so once ICE is asked */
} hub;

/* One negotiation's WebRTC peer and the link over its channel: the shell's side of a record of
 * the negotiation core, named by the same id. */
struct shoal_node_peer {
    int refs; /* the table's, and an input's while it runs */
    shoal_node *node;
    uint32_t id;
    uint8_t feed[32]; /* a plain peer's is a stand-in: sha256 of its id */
    bool plain, initiator;
    shoal_rtc_peer *rtc;       /* NULL once closed */
    shoal_link_driver *driver; /* the link over the channel, once it is open */
};

/* A net: connection (TCP) the state manager counts: one we dial from the dial on, one that
 * dialled us from its handshake on. `conn` is the shell's handle. */
typedef struct net_peer {
    void *conn;
    shoal_rpc *rpc; /* once up */
    uint8_t feed[32];
    bool dialled;
} net_peer;

/* An input waiting its turn: an action for the state manager, an event for the negotiation core
 * (with copies of the channel and text it borrows), or an admission to settle (the state manager
 * hears `action`, and the core hears whether it was let in). None borrows anything else: what
 * arises inside a drain is about peers (a feed, a reason), and the entry points whose actions
 * borrow records or addresses (adding or restoring a hub or a peer, net: dials) refuse while a
 * drain runs. */
typedef enum pending_kind { PENDING_CONN, PENDING_NEGOTIATE, PENDING_ADMIT } pending_kind;

typedef struct pending {
    pending_kind kind;
    shoal_conn_action action;
    shoal_negotiate_event event;
    char channel[SHOAL_SWARM_MAX_FROM + 1];
    char *text; /* owned */
} pending;

/* A POST of a signal, until its outcome. */
typedef struct posting {
    shoal_node *node;
    uint32_t id;
} posting;

struct shoal_node {
    shoal_keypair keys;
    char *app;
    char channel[SHOAL_SWARM_CHANNEL_SIZE];
    shoal_basics basics;
    shoal_shs_keycache keycache;
    shoal_rtc *rtc;
    shoal_conn *conn;
    shoal_negotiate *negotiate;
    shoal_hub_client *client;
    GArray *hubs;               /* hub */
    GHashTable *peers;          /* id → shoal_node_peer */
    GHashTable *posts;          /* posting*, those in flight */
    GHashTable *last_seen;      /* channel → newest announce time (gint64*), within the window */
    shoal_swarm_replay *replay; /* the sealed signals taken lately */
    bool compat;
    GHashTable *plain_ids; /* hex of a plain peer's stand-in feed → its id, while it has a record */
    GArray *nets;          /* net_peer */
    GArray *queue;         /* pending */
    GPtrArray *reasks;     /* reask (reask.c) */
    bool draining;
    shoal_repl *repl; /* NULL without a store */
    uint8_t (*follows)[32];
    size_t nfollows;
    bool replicate_peers;
    guint conn_tick, negotiate_tick, ebt_tick;
    guint intake_watch; /* the replicator's intake, while it has a pool */
    shoal_node_callbacks cb;
    void *ud;
    shoal_node_stats stats;      /* the node's own counts; the core's are added when read */
    uint64_t net_turned_away;    /* net: peers turned away, every slot taken */
    uint64_t signals_dropped;    /* signals the node dropped before the core saw them */
    shoal_link_limits limits;    /* of every data channel's link */
    shoal_ice_servers own_named; /* the configuration's STUN and TURN servers, as it names them */
    shoal_ice_servers own_ice;   /* ... their names looked up (ice.c) */
    GCancellable *ice_cancel;    /* the names being looked up (ice.c) */
    bool no_stun, no_turn;       /* none at all: a hub's neither */
    bool stopping;
    void (*stopped)(void *ud);
    void *stopped_ud;
};

/* node.c */
void node_say(shoal_node *n, const char *fmt, ...) SHOAL_PRINTF(2, 3);
shoal_time node_now(void);
hub *node_hub_by_id(shoal_node *n, uint32_t id);
hub *node_hub_by_index(shoal_node *n, size_t index);
/* Feeds the state manager an action, or the core an event (its pointers borrowed for the call:
 * copied into the queue if it must wait), and drains the queue. */
void node_conn(shoal_node *n, const shoal_conn_action *a);
void node_negotiate(shoal_node *n, const shoal_negotiate_event *ev);
/* Queues an admission to settle (see pending). */
void node_admit(shoal_node *n, uint32_t id, const shoal_conn_action *a);
/* The core's next TICK at `at` (SHOAL_TIME_NEVER: none). */
void node_schedule_negotiate_tick(shoal_node *n, shoal_time at);

/* Wall-clock time, ms since 1970. */
int64_t node_wall_clock(void *ud);

/* replication.c: the replicator of a node with a store (see shoal_node_config). */
int node_replication_start(shoal_node *n, const shoal_node_config *cfg,
                           const shoal_node_callbacks *cb);

/* The peer whose session `rpc` is (a WebRTC peer into *peer, or NULL for a net: one), or NULL
 * when it is none of ours. */
const uint8_t *node_remote_of_rpc(shoal_node *n, shoal_rpc *rpc, shoal_node_peer **peer);

/* reask.c: a stream that ended while its session goes on is asked for again. */
void node_ask_again(shoal_node *n, shoal_rpc *rpc, const uint8_t feed[32]);
void node_reask_progress(shoal_node *n, shoal_rpc *rpc, const uint8_t feed[32]);
/* The session is gone: nothing is asked of it again. */
void node_reask_forget(shoal_node *n, shoal_rpc *rpc);
void node_reask_free(gpointer reask); /* the reasks array's free function */

/* ice.c: the configuration's servers' names are looked up (libnice takes addresses alone): at
 * the start, and again after a network change (a name that did not resolve then may now). */
void node_ice_start(shoal_node *n);
/* The hub we joined is asked for its ICE servers, unless asked lately: true when the
 * question is out (the hub's join is told to the state manager when it is answered). */
bool node_ice_joined(shoal_node *n, hub *h);
/* The STUN and TURN servers for a peer met through hub `hub_id`: that hub's, then our own, in
 * *out; NULL when there are none. */
const shoal_ice_servers *node_ice_for(shoal_node *n, uint32_t hub_id, shoal_ice_servers *out);

/* channels.c */
void channels_carry_out(shoal_node *n, const shoal_negotiate_fx *fx, size_t count);
/* Drops every WebRTC peer without a word (the node is freed). */
void channels_abandon_all(shoal_node *n);

/* net_peers.c */
net_peer *net_of_feed(shoal_node *n, const uint8_t feed[32]);

#endif

/* shoal conn: the peer state manager.
 *
 * One pure reducer decides which hubs to hold and which peers to dial:
 *
 *     shoal_conn_reduce(state, action, now) -> effects
 *
 * The state is changed in place and the effects are returned; nothing else happens. The reducer
 * reads no clock (time is `now`, in milliseconds on the caller's monotonic clock), does no I/O,
 * and draws randomness (jitter) from a generator seeded at creation, so the same seed and the
 * same actions at the same times give the same effects, byte for byte.
 *
 * The shell that drives it carries out the effects (dial a hub, announce, open a WebRTC
 * connection, close one, arm a timer) and reports what happened as further actions. Every hub or
 * peer record that an action changed comes out as exactly one event effect carrying a copy of
 * the record: that is the live stream of hubs and peers. */
#ifndef SHOAL_CONN_H
#define SHOAL_CONN_H

#include "shoal/core.h"
#include "shoal/ref.h"

/* ---- Policy -------------------------------------------------------------------------------- */

/* How the wait before redialling a failed peer grows with its failures f (f >= 1):
 *   SHOAL:    min(cap, base * 2^(f-1)) * (1/2 + r/2), r uniform in [0,1): "equal jitter"
 *   SSB_CONN: 4 s + min(64, f)^3 * 10 s (ssb-conn 6's formula)
 *   LIBP2P:   min(5 min, 5 s + f^2 * 1 s) (go-libp2p's swarm dial backoff)
 * shoal's formula gets to its cap in a few steps like ssb-conn's, but the cap is real (ssb-conn
 * waits days after 60 failures, so a peer back from a long outage stays unreachable), and the
 * jitter spreads the redials of many peers that failed together (after a hub restart, say),
 * which neither reference does. `shoal sim --backoff` compares the three. */
typedef enum shoal_backoff_kind {
    SHOAL_BACKOFF_SHOAL,
    SHOAL_BACKOFF_SSB_CONN,
    SHOAL_BACKOFF_LIBP2P,
} shoal_backoff_kind;

/* Every knob of the policy. shoal_conn_config_default fills in the defaults given here. */
typedef struct shoal_conn_config {
    uint32_t max_peers;             /* 4: connections held (connecting ones count) */
    uint32_t inbound_pending;       /* 0: half of max_peers, at least 1: strangers negotiating
                                       with us at once (peers that dial us, not connected yet,
                                       not protected); one more is turned away as when full.
                                       Keys are free to make: without this bound, offers from
                                       made-up peers could hold every slot */
    shoal_time heartbeat;           /* 60 s, scaled per process by a factor in [0.9, 1.1): the
                                       longest the manager goes without a tick; every timer of its
                                       own asks for a tick at its exact time */
    shoal_time announce_alone;      /* 3 s: announce period with no peer connected ... */
    shoal_time announce_peered;     /* 13 s: ... and with some (webrtc-swarm's cadence) */
    shoal_time announce_jitter;     /* 2 s: added at random to each period */
    shoal_time timeout_rtc;         /* 30 s: a WebRTC negotiation that takes longer has failed */
    shoal_time timeout_net;         /* 10 s: likewise for a direct TCP connection */
    shoal_time hub_timeout;         /* 15 s: likewise for a hub subscription */
    shoal_time timeout_restart;     /* 15 s: after a network change a WebRTC connection is kept
                                       and its ICE restarted (RESTART_PEER, once its hub is back);
                                       a restart not done by then is closed as the change's
                                       (network-reset). 0: no restarts, every connection closed */
    shoal_backoff_kind backoff;     /* SHOAL_BACKOFF_SHOAL */
    shoal_time backoff_base;        /* 10 s (chosen with shoal sim: bench/README.md) */
    shoal_time backoff_cap;         /* 10 min */
    shoal_time hub_backoff_base;    /* 3 s (the signalhub client's reconnect delay) */
    shoal_time hub_backoff_cap;     /* 2 min */
    shoal_time reconnect_delay;     /* 5 s: wait after a peer closed a working connection */
    shoal_time forget_after;        /* 60 s unannounced (4 peered announce periods): forgotten */
    uint32_t forget_failures;       /* 5 failures in a row, then silent for one peered announce
                                       period (15 s): forgotten */
    shoal_time grace;               /* 60 s: a new connection is never cut before this */
    shoal_time lifetime;            /* 30 min (each connection's jittered by +-10%) ... */
    shoal_time rest_after_rotation; /* 10 min: ... after which it rotates out and rests */
    shoal_time download_window;     /* 500 ms: DOWNLOAD_PROGRESS keeps a peer "downloading" */
    bool inbound_when_full;         /* false: with every slot taken, a peer that dials us is
                                       turned away (CLOSE_PEER "full") unless protected, or a
                                       connection past its lifetime rotates out for it (unless
                                       anything downloads); true: it is let in and the excess
                                       trimmed after its grace period */
} shoal_conn_config;

void shoal_conn_config_default(shoal_conn_config *cfg);
/* A formula by its name ("shoal", "ssb-conn", "libp2p"); false for any other. */
bool shoal_backoff_parse(const char *name, shoal_backoff_kind *out);
/* SHOAL_E_CONN_CONFIG when a value is out of range (zero periods, max_peers 0, cap < base). */
SHOAL_MUST_CHECK int shoal_conn_config_check(const shoal_conn_config *cfg);
/* The wait after the f-th failure in a row under cfg's formula; r in [0, 1) is the jitter draw. */
shoal_time shoal_conn_backoff(const shoal_conn_config *cfg, uint32_t failures, double r);

/* ---- Records ------------------------------------------------------------------------------
 * The reducer stores these, its events carry copies of them, and every accessor returns them. */

#define SHOAL_CONN_NO_HUB UINT32_MAX

typedef enum shoal_hub_state {
    SHOAL_HUB_DISCONNECTED,
    SHOAL_HUB_CONNECTING,
    SHOAL_HUB_CONNECTED,
} shoal_hub_state;

typedef struct shoal_conn_hub {
    uint32_t id; /* stable while the hub is in the table */
    shoal_hub_addr addr;
    /* What follows changes over the hub's life; the fields above do not. */
    shoal_hub_state state;
    uint32_t failures;       /* failed connects since the last success */
    shoal_time next_attempt; /* DISCONNECTED: when it is dialled again */
    shoal_time deadline;     /* CONNECTING: when the attempt counts as failed */
    shoal_time last_message; /* when a peer's announce last came through it, to within 10 s (it
                                is updated at most every 10 s); 0 never */
    int32_t score;           /* health 0-1000: moves a quarter of the way to 1000 on each
                                success, a quarter of the way to 0 on each failure */
    uint32_t successes, total_failures;
} shoal_conn_hub;

typedef enum shoal_peer_state {
    SHOAL_PEER_DISCONNECTED,
    SHOAL_PEER_CONNECTING,
    SHOAL_PEER_CONNECTED,
    SHOAL_PEER_DISCONNECTING,
} shoal_peer_state;

typedef enum shoal_transport {
    SHOAL_TRANSPORT_RTC, /* a WebRTC data channel signalled through a hub */
    SHOAL_TRANSPORT_NET, /* a direct TCP connection */
} shoal_transport;

/* A hub the peer was announced on, and when. */
typedef struct shoal_conn_route {
    uint32_t hub;
    shoal_time announced;
} shoal_conn_route;

#define SHOAL_CONN_MAX_ROUTES 4

typedef struct shoal_conn_peer {
    uint8_t feed[32];
    shoal_peer_state state;
    shoal_transport transport; /* of the current or last connection */
    uint32_t route;            /* hub of the current or last connection, or SHOAL_CONN_NO_HUB */
    uint32_t nroutes;          /* the freshest SHOAL_CONN_MAX_ROUTES hubs that announced it */
    shoal_conn_route routes[SHOAL_CONN_MAX_ROUTES];
    uint32_t failures;            /* failed attempts in a row */
    bool protected;               /* never cut by rotation or trimming */
    bool inbound;                 /* the peer dialled us */
    shoal_time last_announce;     /* freshest announce on any hub; 0 never */
    shoal_time last_attempt;      /* when the last connection attempt started; 0 never */
    shoal_time backoff_until;     /* not dialled before this */
    shoal_time deadline;          /* CONNECTING: when the attempt counts as failed */
    shoal_time connected_since;   /* CONNECTED */
    shoal_time rotate_at;         /* CONNECTED: lifetime end (jittered) */
    shoal_time downloading_until; /* downloading from it while now < this */
    uint32_t successes, total_failures;
    shoal_time connected_total; /* time spent connected, over finished connections */
    int last_error; /* why the last attempt failed, or the last connection broke (SHOAL_OK: none
                       told); kept while this process runs */
    shoal_time restart_by; /* CONNECTED, after a network change: its ICE restart must be done by
                              then (REMOTE_PEER_RESTARTED), or it is closed; 0: none under way */
    bool restart_asked;    /* ... and RESTART_PEER went out (its hub was back) */
} shoal_conn_peer;

/* ---- Actions ------------------------------------------------------------------------------ */

typedef enum shoal_conn_act_type {
    SHOAL_ACT_HUB_ADDRESS_ADDED,                /* addr */
    SHOAL_ACT_HUB_ADDRESS_REMOVED,              /* hub */
    SHOAL_ACT_HUB_CONNECTION_SUCCEEDED,         /* hub */
    SHOAL_ACT_HUB_CONNECTION_FAILED,            /* hub */
    SHOAL_ACT_HUB_DID_DISCONNECT,               /* hub */
    SHOAL_ACT_REMOTE_PEER_DID_ANNOUNCE,         /* feed, hub */
    SHOAL_ACT_REMOTE_PEER_DID_LEAVE,            /* feed, hub */
    SHOAL_ACT_REMOTE_PEER_CONNECTING,           /* feed, hub (or NO_HUB), transport: they dial us */
    SHOAL_ACT_REMOTE_PEER_CONNECTION_SUCCEEDED, /* feed */
    SHOAL_ACT_REMOTE_PEER_CONNECTION_FAILED,    /* feed */
    SHOAL_ACT_REMOTE_PEER_DISCONNECT,           /* feed: someone asks us to close it */
    SHOAL_ACT_REMOTE_PEER_DID_DISCONNECT,       /* feed: the connection is gone */
    SHOAL_ACT_REMOTE_PEER_CLIENT_DID_CONNECT,   /* feed, transport: an inbound connection is up */
    SHOAL_ACT_DOWNLOAD_PROGRESS,                /* feed */
    SHOAL_ACT_PEER_CONNECTION_TIMER_TICKED,
    SHOAL_ACT_NETWORK_DID_RECONNECT, /* an address or route changed: connections through hubs
                                        are kept and restarted (timeout_restart), the rest closed,
                                        the old network's failures forgiven, every hub dialled */
    SHOAL_ACT_SYSTEM_DID_WAKE,       /* likewise, but every connection is closed */
    SHOAL_ACT_CONFIG_CHANGED,        /* config */
    SHOAL_ACT_PEER_PROTECT,          /* feed */
    SHOAL_ACT_PEER_UNPROTECT,        /* feed */
    SHOAL_ACT_HUB_RESTORED,     /* hub_record: a hub saved by an earlier run (address, stats, and
                                   next_attempt on this run's clock: dialled then, or at once if
                                   that is past, never later than hub_backoff_cap from now) */
    SHOAL_ACT_PEER_RESTORED,    /* peer_record: a peer saved by an earlier run (protected flag,
                                   totals, failures and backoff_until on this run's clock, kept
                                   up to backoff_cap from now); it counts as heard at restore
                                   time, and has no route until it is announced again */
    SHOAL_ACT_REMOTE_PEER_BUSY, /* feed: a peer we dial answered that every slot of its is taken:
                                   the slot is freed at once, no failure is counted, and it is
                                   not dialled again for an announce period */
    SHOAL_ACT_PEER_DIAL,        /* feed, transport: we dial the peer directly, without a hub (a
                                   net: address the user gave): CONNECTING, outbound, with the
                                   transport's deadline; its outcome is reported as a dial's.
                                   With every slot taken it is turned away as a peer that dials
                                   us would be (CLOSE_PEER "full"); a peer connecting or
                                   connected already is left as it is */
    SHOAL_ACT_REMOTE_PEER_RESTARTED, /* feed: its connection took a path on the new network */
} shoal_conn_act_type;

typedef struct shoal_conn_action {
    shoal_conn_act_type type;
    uint32_t hub;
    uint8_t feed[32];
    shoal_transport transport;
    const shoal_hub_addr *addr;         /* borrowed for the call */
    const shoal_conn_config *config;    /* borrowed for the call */
    const shoal_conn_hub *hub_record;   /* HUB_RESTORED: borrowed for the call */
    const shoal_conn_peer *peer_record; /* PEER_RESTORED: borrowed for the call */
    int err; /* REMOTE_PEER_CONNECTION_FAILED, _DID_DISCONNECT: why (SHOAL_OK: not told) */
} shoal_conn_action;

/* ---- Effects ------------------------------------------------------------------------------ */

typedef enum shoal_conn_fx_type {
    SHOAL_FX_CONNECT_TO_HUB,  /* hub: subscribe to it */
    SHOAL_FX_DISCONNECT_HUB,  /* hub */
    SHOAL_FX_ANNOUNCE_TO_HUB, /* hub */
    SHOAL_FX_DIAL_PEER,       /* feed, hub (the route) */
    SHOAL_FX_CLOSE_PEER,      /* feed, reason */
    SHOAL_FX_SCHEDULE_TICK,   /* at: deliver PEER_CONNECTION_TIMER_TICKED then (replaces any
                                 earlier schedule). The manager asks for a tick exactly when a
                                 timer of its own runs out (an announce, a deadline, a backoff,
                                 a lifetime, a silence), and at least every forget_after. */
    SHOAL_FX_HUB_CHANGED,     /* hub_record */
    SHOAL_FX_HUB_REMOVED,     /* hub_record: its last state */
    SHOAL_FX_PEER_CHANGED,    /* peer_record */
    SHOAL_FX_PEER_FORGOTTEN,  /* peer_record: its last state */
    SHOAL_FX_RESTART_PEER,    /* feed, hub: after a network change, restart the connection's
                                 ICE, signalling through the hub (connected again) */
} shoal_conn_fx_type;

typedef enum shoal_close_reason {
    SHOAL_CLOSE_REQUESTED,     /* REMOTE_PEER_DISCONNECT */
    SHOAL_CLOSE_TIMEOUT,       /* the attempt took too long */
    SHOAL_CLOSE_ROTATED,       /* past its lifetime while others wait */
    SHOAL_CLOSE_TRIMMED,       /* above max_peers (a protected peer came in, max_peers fell) */
    SHOAL_CLOSE_NETWORK_RESET, /* network change or wake-up */
    SHOAL_CLOSE_FULL,          /* it dialled us with every slot taken */
} shoal_close_reason;

typedef struct shoal_conn_fx {
    shoal_conn_fx_type type;
    uint32_t hub;
    uint8_t feed[32];
    shoal_close_reason reason;
    shoal_time at;
    const shoal_conn_hub *hub_record;   /* events: borrowed until the next call */
    const shoal_conn_peer *peer_record; /* events: borrowed until the next call */
} shoal_conn_fx;

/* ---- The state manager -------------------------------------------------------------------- */

typedef struct shoal_conn shoal_conn;

/* Counters since creation. */
typedef struct shoal_conn_stats {
    uint64_t dials, successes, failures, timeouts, rotations, trims, forgotten, resets;
    uint64_t busy;     /* dials answered "busy" */
    uint64_t restarts; /* connections kept through a network change (REMOTE_PEER_RESTARTED) */
} shoal_conn_stats;

/* A state manager for the feed `self` (never dialled), its jitter seeded by `seed`.
 * `cfg` is copied. SHOAL_E_CONN_CONFIG or SHOAL_E_NOMEM on failure. */
SHOAL_MUST_CHECK int shoal_conn_new(shoal_conn **out, const shoal_conn_config *cfg,
                                    const uint8_t self[32], uint64_t seed);
void shoal_conn_free(shoal_conn *c);

/* Applies one action at time `now` (never earlier than a previous call's). On success *fx and
 * *nfx are the effects, in the order to carry them out, borrowed until the next call. Errors:
 * SHOAL_E_NOMEM (the state is unchanged), SHOAL_E_CONN_UNKNOWN_HUB, SHOAL_E_CONN_TOO_MANY_HUBS,
 * SHOAL_E_CONN_CONFIG, SHOAL_E_INVAL (an unknown action type). Actions about peers that are not
 * known, or that do not fit a peer's state (a late DID_DISCONNECT, say), change nothing. */
SHOAL_MUST_CHECK int shoal_conn_reduce(shoal_conn *c, const shoal_conn_action *a, shoal_time now,
                                       const shoal_conn_fx **fx, size_t *nfx);

/* Accessors: records are borrowed until the next shoal_conn_reduce. */
const shoal_conn_config *shoal_conn_get_config(const shoal_conn *c);
const shoal_conn_stats *shoal_conn_get_stats(const shoal_conn *c);
size_t shoal_conn_peer_count(const shoal_conn *c);
/* i < shoal_conn_peer_count; the order changes as peers come and go. */
const shoal_conn_peer *shoal_conn_peer_at(const shoal_conn *c, size_t i);
const shoal_conn_peer *shoal_conn_peer_find(const shoal_conn *c, const uint8_t feed[32]);
/* Hub ids are below this bound; shoal_conn_hub_get gives NULL for a free id. */
uint32_t shoal_conn_hub_id_bound(const shoal_conn *c);
const shoal_conn_hub *shoal_conn_hub_get(const shoal_conn *c, uint32_t id);
const shoal_conn_hub *shoal_conn_hub_find(const shoal_conn *c, const shoal_hub_addr *addr);
/* Connected plus connecting peers: what max_peers limits. */
uint32_t shoal_conn_slots_used(const shoal_conn *c);
/* When we next announce on every connected hub (webrtc-swarm broadcasts to all its hubs at once);
 * SHOAL_TIME_NEVER while no hub is connected. */
shoal_time shoal_conn_next_announce(const shoal_conn *c);

/* Field-by-field equality of records (their padding may differ). */
bool shoal_conn_peer_equal(const shoal_conn_peer *a, const shoal_conn_peer *b);
bool shoal_conn_hub_equal(const shoal_conn_hub *a, const shoal_conn_hub *b);

const char *shoal_conn_act_name(shoal_conn_act_type type);
const char *shoal_conn_fx_name(shoal_conn_fx_type type);
const char *shoal_peer_state_name(shoal_peer_state state);
const char *shoal_hub_state_name(shoal_hub_state state);
const char *shoal_close_reason_name(shoal_close_reason reason);

#endif

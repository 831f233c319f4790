/* shoal node: one SSB peer on the network of hubs.
 *
 * The shell that joins the parts on GLib's main loop: the peer state manager (conn) decides;
 * the hub client carries announces and signals (swarm); WebRTC data channels (rtc) carry links
 * (shs, box stream, muxrpc) to the peers it dials or that dial it. Every connection proves the
 * other side's key is the one its channel names, and answers whoami, manifest and gossip.ping.
 *
 *   hub message ─▶ swarm ─▶ REMOTE_PEER_* ─▶ conn ─▶ DIAL_PEER ─▶ rtc offer ─▶ signals via hub
 *   data channel open ─▶ link (shs) ─▶ established ─▶ CONNECTION_SUCCEEDED ─▶ `connected`
 */
#ifndef SHOAL_NODE_H
#define SHOAL_NODE_H

#include "shoal/conn.h"
#include "shoal/link.h"
#include "shoal/link_driver.h"
#include "shoal/repl.h"
#include "shoal/rtc.h"

/* The hub app name: the signalling protocol's major version is in it, so peers that cannot
 * understand each other never meet. */
#define SHOAL_NODE_APP "shoal-swarm-2"

typedef struct shoal_node shoal_node;
typedef struct shoal_node_peer shoal_node_peer;

typedef struct shoal_node_config {
    const shoal_keypair *keys;   /* our identity; copied */
    const char *app;             /* NULL: SHOAL_NODE_APP */
    const shoal_rtc_config *rtc; /* candidates, STUN, TURN; NULL: every interface */
    /* Each hub joined is asked for its STUN and TURN servers (GET /v1/ice, signed), and a peer
     * met through it uses them before rtc's own; no_stun, no_turn: none of that kind at all. */
    bool no_stun, no_turn;
    const shoal_conn_config *conn; /* NULL: the defaults; its timeout_rtc is every WebRTC
                                      negotiation's deadline */
    /* Compatibility mode: plain webrtc-swarm peers (unsigned announces, random channel ids, no
     * SSB identity) are dialled and answered too. Their channels carry raw messages, no
     * handshake: see plain_open. Off by default. */
    bool compat;
    /* Replication (NULL: none): the store (borrowed) every connected peer is served from, and
     * the feeds replicated with every peer, live: those followed, our own (a peer may hold what
     * we lost), and with replicate_peers each peer's own. With EBT (ssb-ebt's ebt.replicate,
     * started by whoever dialled) when the peer speaks it, else with createHistoryStream;
     * no_ebt: always the latter. */
    shoal_feed_store *store;
    const uint8_t (*follows)[32];
    size_t nfollows;
    bool replicate_peers;
    bool no_ebt;
    /* Bounds: every data channel's link's (NULL: shoal/link_driver.h's defaults; its account,
     * if any, borrowed while the node lives), and the streams of ours a peer may hold open, of
     * all feeds and of one (0: shoal/repl.h's defaults). */
    const shoal_link_limits *limits;
    uint32_t max_streams, max_streams_per_feed;
    uint32_t max_negotiations; /* WebRTC negotiations held at once (0: shoal/negotiate.h's) */
} shoal_node_config;

typedef struct shoal_node_callbacks {
    /* A peer's handshake completed over its data channel: its RPC session is ready. */
    void (*connected)(shoal_node *node, shoal_node_peer *peer, void *ud);
    /* A connected peer is gone (SHOAL_OK: closed cleanly). */
    void (*disconnected)(shoal_node *node, const uint8_t feed[32], int err, void *ud);
    /* A line about what happens (hubs, announces heard, dials, refusals), for the curious. */
    void (*log)(shoal_node *node, const char *line, void *ud);
    /* Compatibility mode: a plain webrtc-swarm peer's channel is open, and a message from one
     * (text or binary, borrowed for the call). Its feed is a stand-in, sha256 of its id. */
    void (*plain_open)(shoal_node *node, shoal_node_peer *peer, void *ud);
    void (*plain_message)(shoal_node *node, shoal_node_peer *peer, const uint8_t *data, size_t len,
                          void *ud);
    /* Replication: messages of `feed` came from `peer` (the state manager hears that we are
     * downloading from it; NULL: a session of another transport, see shoal_node_replicate);
     * `head` is the feed's new head. */
    void (*progress)(shoal_node *node, shoal_node_peer *peer, const uint8_t feed[32], int64_t head,
                     void *ud);
    /* A peer holds `feed` up to `head` (see shoal_repl_callbacks.head_known): how much there is
     * to fetch. NULL: peers are not asked. */
    void (*head_known)(shoal_node *node, const uint8_t feed[32], int64_t head, void *ud);
    /* The state manager's record of a hub or a peer changed, or went (the event effects of
     * shoal/conn.h: SHOAL_FX_HUB_CHANGED, _HUB_REMOVED, _PEER_CHANGED, _PEER_FORGOTTEN; the
     * records are borrowed for the call). */
    void (*changed)(shoal_node *node, const shoal_conn_fx *event, void *ud);
    /* The state manager closes a net: connection (rotated, trimmed, timed out, a network
     * change): the shell closes `conn`, and reports the end with shoal_node_net_down. */
    void (*close_net)(shoal_node *node, void *conn, shoal_close_reason reason, void *ud);
} shoal_node_callbacks;

/* SHOAL_E_RTC_INIT, SHOAL_E_INVAL (a bad conn config), SHOAL_E_NOMEM. Callbacks are copied. */
SHOAL_MUST_CHECK int shoal_node_new(const shoal_node_config *cfg, const shoal_node_callbacks *cb,
                                    void *ud, shoal_node **out);
/* Joins a hub (the state manager decides when to connect); one held already stays as it is.
 * SHOAL_E_CONN_TOO_MANY_HUBS when the table is full. */
SHOAL_MUST_CHECK int shoal_node_add_hub(shoal_node *node, const shoal_hub_addr *hub);
/* Hands the state manager a hub or a peer that an earlier run saved (a HUB_RESTORED or
 * PEER_RESTORED action, as shoal_conn_store_load gives them): call it before adding the hubs of
 * the configuration, so that a saved hub comes back with its health. SHOAL_E_INVAL for any
 * other action; SHOAL_E_CONN_TOO_MANY_HUBS as above. */
SHOAL_MUST_CHECK int shoal_node_restore(shoal_node *node, const shoal_conn_action *a);
/* Leaves a hub: its subscription ends and its peers are reached through other hubs.
 * SHOAL_E_CONN_UNKNOWN_HUB when the node does not hold it. */
SHOAL_MUST_CHECK int shoal_node_remove_hub(shoal_node *node, const shoal_hub_addr *hub);
/* ---- net: connections -------------------------------------------------------------------
 * The shell dials and accepts TCP connections (shoal/net.h); the state manager counts them
 * against max_peers, protects one we download from, rotates, backs off and closes them as any
 * other (close_net). `conn` is the shell's handle for one connection, the same in every call. */

/* We are about to dial `feed` over net: (the user asked): SHOAL_OK, it is the state manager's
 * attempt now, with timeout_net as its deadline; SHOAL_E_CONN_ALREADY, connected or being
 * connected already; SHOAL_E_CONN_FULL, every slot is taken (or the node is stopping). */
SHOAL_MUST_CHECK int shoal_node_net_dial(shoal_node *node, const uint8_t feed[32], void *conn);
/* A net: connection's handshake completed with `feed`: the state manager hears of it (our dial
 * succeeded, or a peer dialled us and is admitted as any such peer), the basics are served on
 * `rpc` and replication starts. False: turned away (every slot taken, connected already, our
 * dial timed out): close it, then shoal_node_net_down. */
bool shoal_node_net_up(shoal_node *node, void *conn, shoal_rpc *rpc, const uint8_t feed[32]);
/* A net: connection closed (`err` why; SHOAL_OK cleanly), or a dial failed. Unknown `conn`s
 * (turned away) are ignored. */
void shoal_node_net_down(shoal_node *node, void *conn, int err);

/* The calls above (adding or restoring hubs and peers, net: dials and connections up) are for
 * the shell's own events, not for the node's callbacks: made from inside one they refuse
 * (SHOAL_E_INVAL, SHOAL_E_CONN_FULL, false). The node must not be freed from its callbacks
 * either (stop's `done` included: free it once the loop has returned). */

/* Leaves every hub (with a signed leave) and closes every peer; `done` runs once all are
 * closed. Then free the node. */
void shoal_node_stop(shoal_node *node, void (*done)(void *ud), void *ud);
/* NULL is a no-op. After shoal_node_stop's `done` for a clean leave; a node freed without it
 * vanishes as a killed process would (its peers hear nothing, and must find out). */
void shoal_node_free(shoal_node *node);

/* Publishes a message of our own (content: JSON text) into the store and to live streams. */
SHOAL_MUST_CHECK int shoal_node_publish(shoal_node *node, const char *content, size_t len,
                                        shoal_msg_info *info, const char **reason);

/* What the node refused or lost, counted: bad input never crashes it, and never goes unseen. */
typedef struct shoal_node_stats {
    uint64_t messages_refused;    /* hub messages dropped: malformed, forged, stale, unsigned */
    uint64_t messages_forged;     /* of those: a signature or a seal that does not verify */
    uint64_t messages_replayed;   /* of those: taken before, or too old to tell */
    uint64_t messages_unsealed;   /* of those: an unsigned announce, or a signal not sealed to us */
    uint64_t announces_replayed;  /* announces no newer than one seen before */
    uint64_t signals_dropped;     /* signals for a negotiation we do not have */
    uint64_t signals_refused;     /* signals the WebRTC stack could not take (SDP, candidate) */
    uint64_t offers_turned_away;  /* offers refused with every slot taken (net: dials too) */
    uint64_t offers_over_cap;     /* offers dropped with max_negotiations under way */
    uint64_t negotiations_failed; /* attempts that ended before the handshake (timeouts too) */
    uint64_t connections;         /* handshakes completed over data channels */
} shoal_node_stats;

const shoal_node_stats *shoal_node_get_stats(shoal_node *node);
const shoal_conn *shoal_node_conn(const shoal_node *node);
/* The state manager's clock, to read its records' times against (downloading_until, …). */
shoal_time shoal_node_now(const shoal_node *node);
/* Replication over a session of another transport (net:, say) as over the node's channels,
 * `dialled` when we dialled `remote` (shoal/repl.h's shoal_repl_start): what we follow, our own
 * feed, and, with replicate_peers, its own. SHOAL_E_INVAL without a store; else the session's
 * errors. */
SHOAL_MUST_CHECK int shoal_node_replicate(shoal_node *node, shoal_rpc *rpc,
                                          const uint8_t remote[32], bool dialled);

/* Follows `feed` (every peer connected is asked for it at once, and every peer met later), or
 * stops following it (streams open go on until their connections end; it is not asked for
 * again). SHOAL_E_INVAL without a store. */
SHOAL_MUST_CHECK int shoal_node_follow(shoal_node *node, const uint8_t feed[32], bool following);
/* The feeds followed: the configuration's, then those followed since. */
const uint8_t (*shoal_node_follows(const shoal_node *node, size_t *count))[32];

/* The network changed (an address or a route came or went), or the system woke from sleep:
 * every connection is stale. The state manager's NETWORK_DID_RECONNECT or SYSTEM_DID_WAKE:
 * every peer's channel is torn down at once, the hubs are joined anew, backoffs are forgiven,
 * and the peers are dialled again. */
void shoal_node_network_changed(shoal_node *node, bool woke);

/* The replicator the node runs over its data channels (NULL without a store), for other
 * transports to share: what one publishes reaches every live stream. */
shoal_repl *shoal_node_repl(shoal_node *node);
const uint8_t *shoal_node_peer_feed(const shoal_node_peer *peer);
/* The path of the WebRTC channel we hold to `feed` (its handshake done; for a plain webrtc-swarm
 * peer, its stand-in feed and its channel open): false when there is none, or ICE has not told
 * yet. */
bool shoal_node_peer_path(shoal_node *node, const uint8_t feed[32], shoal_rtc_path *out);
/* The peer's RPC session; NULL for a plain webrtc-swarm peer. */
shoal_rpc *shoal_node_peer_rpc(shoal_node_peer *peer);
/* Sends a raw message to a plain webrtc-swarm peer (SHOAL_E_RTC_STATE for any other). */
SHOAL_MUST_CHECK int shoal_node_peer_send_plain(shoal_node_peer *peer, const uint8_t *data,
                                                size_t len, bool binary);

#endif

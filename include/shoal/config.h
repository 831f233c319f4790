/* shoal config: the daemon's configuration file, read into one struct.
 *
 * The file is JSON; every key is optional, and one the file does not name keeps its default.
 * A key shoal does not know is an error (a misspelt knob must not be silently ignored):
 *
 *   {
 *     "listen": "0.0.0.0:8008",            net: (TCP) address to serve, an IP address and a
 *                                           port (0: any free one); "" for none
 *     "hubs": ["https://hub.example/"],     signal hubs to join (see shoal addr; one listed
 *                                           twice, in any of its forms, counts once; at most 64)
 *     "follow": ["@…=.ed25519"],            feeds replicated from every peer, besides our own
 *     "replicatePeers": false,              also replicate each peer's own feed
 *     "statusPort": 8009,                   the status page, on 127.0.0.1 (0: any free port)
 *     "stun": ["stun:stun.example:3478"],   STUN servers for WebRTC, after those of the hubs
 *                                           joined ([]: none at all, not even a hub's)
 *     "turn": [{"urls": "turns:turn.example", TURN servers, after the hubs' ([]: none at all);
 *               "username": "…",             urls: one or a list of turn:/turns: URLs
 *               "credential": "…"}],         (shoal/ice.h), as WebRTC's RTCIceServer
 *     "tlsCaFile": "/path/ca.pem",          CAs for TURN over TLS (default: the system's)
 *     "mdns": "resolve",                    the <uuid>.local candidates browsers send: looked
 *                                           up on the LAN ("resolve"); that, and our own host
 *                                           addresses signalled as such names ("hide"); or
 *                                           neither ("off")
 *     "peers": {                            the peer state manager's policy (shoal/conn.h):
 *       "maxPeers": 4, "heartbeat": "60s", "announceAlone": "3s", "announcePeered": "13s",
 *       "announceJitter": "2s", "timeoutRtc": "30s", "timeoutNet": "10s", "hubTimeout": "15s",
 *       "backoff": "shoal", "backoffBase": "10s", "backoffCap": "10m",
 *       "hubBackoffBase": "3s", "hubBackoffCap": "2m", "reconnectDelay": "5s",
 *       "forgetAfter": "60s", "forgetFailures": 5, "grace": "60s", "lifetime": "30m",
 *       "restAfterRotation": "10m", "downloadWindow": "500ms", "inboundWhenFull": false,
 *       "inboundPending": 0
 *     },
 *     "limits": {                           the resource manager's bounds: what strangers can
 *                                           make us hold (see shoal_config_limits)
 *       "handshakes": 64, "queued": "16MiB", "queuedTotal": "48MiB", "silent": "60s",
 *       "streams": 1024, "streamsPerFeed": 4, "negotiations": 64
 *     }
 *   }
 *
 * The older forms "stun": "host:port" and "turn": {"server": "host:port", "user", "password"}
 * are read too. At most SHOAL_ICE_MAX_SERVERS STUN and TURN servers together.
 * Sizes are whole bytes or strings with a unit ("512KiB", "16MiB", "1GiB").
 * Durations are strings with a unit ("250ms", "30s", "10m", "24h", "7d") or whole
 * milliseconds; "backoff" is "shoal", "ssb-conn" or "libp2p". Values are checked as the state
 * manager checks them (shoal_conn_config_check). */
#ifndef SHOAL_CONFIG_H
#define SHOAL_CONFIG_H

#include "shoal/conn.h"
#include "shoal/ice.h"
#include "shoal/ref.h"

#define SHOAL_CONFIG_MAX_HUBS     64
#define SHOAL_CONFIG_MAX_FOLLOWS  100000
#define SHOAL_CONFIG_DEFAULT_PORT 8008
#define SHOAL_CONFIG_STATUS_PORT  8009

typedef struct shoal_config_server {
    char host[256]; /* "" when none */
    uint16_t port;
} shoal_config_server;

/* The resource manager's bounds. Connections themselves are bounded by the state manager:
 * maxPeers (and inboundPending for strangers' offers) after the handshake. */
typedef struct shoal_config_limits {
    uint32_t handshakes;       /* net: connections in their handshake at once; past it, accepting
                                  waits (the rest wait in the system's backlog) */
    size_t queued;             /* output one connection may hold for a peer that does not read */
    size_t queued_total;       /* all connections together; past either, the connection is let go */
    shoal_time silent;         /* a peer silent this long after the handshake is asked whoami,
                                  and let go if silent as long again */
    uint32_t streams;          /* streams of ours one peer may hold open (live ones included; at
                                  most 8,192, what one muxrpc session holds open) */
    uint32_t streams_per_feed; /* of one feed */
    uint32_t negotiations;     /* WebRTC negotiations held at once (closing ones too: each holds a
                                  WebRTC peer); an offer past it is dropped */
} shoal_config_limits;

typedef enum shoal_config_mdns {
    SHOAL_CONFIG_MDNS_RESOLVE,
    SHOAL_CONFIG_MDNS_HIDE,
    SHOAL_CONFIG_MDNS_OFF,
} shoal_config_mdns;

typedef struct shoal_config {
    shoal_conn_config conn;
    shoal_config_limits limits;
    shoal_config_server listen; /* default 0.0.0.0:8008 */
    shoal_hub_addr hubs[SHOAL_CONFIG_MAX_HUBS];
    size_t nhubs;
    uint8_t (*follows)[32]; /* owned: shoal_config_free */
    size_t nfollows;
    bool replicate_peers;
    bool no_ebt;            /* "ebt": false: createHistoryStream with every peer */
    uint16_t status_port;   /* default 8009 */
    shoal_ice_servers ice;  /* STUN and TURN servers of its own */
    bool no_stun, no_turn;  /* "stun": [], "turn": []: none, a hub's neither */
    char tls_ca_file[4096]; /* "" for the system's CAs */
    shoal_config_mdns mdns; /* default: resolve */
} shoal_config;

/* The defaults: listening on 0.0.0.0:8008, the status page on 127.0.0.1:8009, no hubs, no
 * follows, the state manager's defaults. */
void shoal_config_default(shoal_config *cfg);
/* Whether the limits are in range (as shoal_config_parse checks them). */
bool shoal_config_limits_check(const shoal_config_limits *l);
void shoal_config_free(shoal_config *cfg);

/* Reads a configuration from JSON text over the defaults. On failure (SHOAL_E_CONFIG, or
 * SHOAL_E_NOMEM) *cfg holds the defaults and `why` (when not NULL, `why_size` bytes) says what
 * is wrong and where: "line 3, column 12: ..." for JSON that does not parse, else the key's
 * path ("peers.backoffBase: a duration like \"10s\" is expected"). */
SHOAL_MUST_CHECK int shoal_config_parse(shoal_config *cfg, const char *text, size_t len, char *why,
                                        size_t why_size);

#endif

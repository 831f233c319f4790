/* shoal hub_server: the signal hub (`shoal hub`), an I/O shell on GLib's main loop around the
 * pure cores of shoal/hub.h.
 *
 * Wire-compatible with signalhub 4.9: GET / (status JSON), GET /v1/<app>/<ch>,... (one event
 * stream subscribed to every channel named), POST /v1/<app>/<channel> (the body goes to every
 * subscriber of that channel), CORS on every answer, 404 outside /v1/. Additions: GET /metrics
 * (Prometheus text), an X-Shoal-Recipients header on each POST's answer, GET /v1/ice (the
 * hub's STUN and TURN servers, to peers that sign the request), and limits with clear answers
 * (413, 400, 431, 429, 408) instead of unbounded buffering.
 *
 * Fan-out: a broadcast is encoded once, into one reference-counted buffer that every subscriber's
 * write queue shares; queued buffers go out with one vectored write per subscriber per main-loop
 * iteration. A subscriber whose unsent bytes pass max_unsent is dropped, never buffered without
 * bound.
 *
 * Scale-out (redis in the configuration): every POST is also published on a Redis channel that
 * every hub of the group subscribes to, and each hands what the others published to its own
 * subscribers; while Redis is away a hub serves its own clients alone and keeps trying. */
#ifndef SHOAL_HUB_SERVER_H
#define SHOAL_HUB_SERVER_H

#include "shoal/ice.h"

typedef struct shoal_hub_server shoal_hub_server;

typedef struct shoal_hub_server_config {
    const char *host;      /* address to listen on ("127.0.0.1", "::", "0.0.0.0") */
    uint16_t port;         /* 0: any free port (see shoal_hub_server_port) */
    const char *cert_file; /* with key_file: HTTPS (PEM files) */
    const char *key_file;
    size_t max_body;          /* 64 KiB: larger POST bodies get 413 */
    size_t max_unsent;        /* 1 MiB: a subscriber further behind is dropped */
    uint32_t max_per_address; /* 256 connections from one client address (429 beyond) */
    uint32_t heartbeat_ms;    /* 30 s: ":heartbeat signal" on every stream */
    uint32_t request_ms;      /* 10 s: a request head and body must arrive within this (408) */
    uint32_t idle_ms;         /* 60 s: an idle keep-alive connection is closed */
    /* 200 requests a second from one client address, in bursts of up to twice that; beyond,
     * its connections are not read until its bucket refills (TCP holds the flood back at the
     * client's end; the hub spends nothing on it). 0: no limit. */
    uint32_t max_rate;
    /* Scale-out: hubs behind one name share their broadcasts through Redis pub/sub, so that a
     * subscriber on one gets what was posted to another. "HOST:PORT" or "unix:PATH" of the Redis
     * server; NULL: this hub runs alone. redis_channel: the Redis channel the group shares
     * (NULL: SHOAL_HUB_REDIS_CHANNEL); hubs of one group name the same. */
    const char *redis;
    const char *redis_channel;
    /* ICE servers handed to the peers that ask (GET /v1/ice, signed with their feed key:
     * shoal/ice.h): STUN ones as they are, TURN ones with credentials made for the asking feed
     * from turn_secret by coturn's REST scheme (use-auth-secret), good for ice_ttl_s (12 h).
     * NULL (or none listed): the route answers 404. Copied. */
    const shoal_ice_servers *ice;
    const uint8_t *turn_secret; /* needed when `ice` names a TURN server */
    size_t turn_secret_len;
    uint32_t ice_ttl_s;
} shoal_hub_server_config;

#define SHOAL_HUB_REDIS_CHANNEL "shoal-hub"

void shoal_hub_server_config_default(shoal_hub_server_config *cfg);

/* Starts listening, on the thread-default GMainContext. Errors: SHOAL_E_INVAL (a bad address,
 * an unusable certificate, TURN servers without a secret), SHOAL_E_HUB_LISTEN (cannot bind), with
 * the reason in *why when `why` is not NULL (free it with g_free). */
SHOAL_MUST_CHECK int shoal_hub_server_start(shoal_hub_server **out,
                                            const shoal_hub_server_config *cfg, char **why);
uint16_t shoal_hub_server_port(const shoal_hub_server *srv);
/* Stops accepting, ends every stream once its queued bytes are out (or after 5 s), then calls
 * done(ud) from the main loop. */
void shoal_hub_server_shutdown(shoal_hub_server *srv, void (*done)(void *ud), void *ud);
/* Closes everything at once and frees the server. NULL is a no-op. */
void shoal_hub_server_free(shoal_hub_server *srv);

#endif

/* shoal net: SSB connections over TCP (`net:` addresses), on GLib's main loop.
 *
 * A thin shell around a shoal_link: it dials or accepts a TCP connection, feeds the link what
 * arrives, writes what the link produces (after each input, and whenever the link says it has
 * output: calls and items queued from anywhere go out without a flush), gives the handshake a
 * deadline, and reports the end. Everything runs on the thread-default GMainContext at the time of
 * the call. */
#ifndef SHOAL_NET_H
#define SHOAL_NET_H

#include "shoal/link_driver.h"

typedef struct shoal_net_conn shoal_net_conn;
typedef struct shoal_net_server shoal_net_server;

typedef struct shoal_net_callbacks {
    /* The handshake is complete; the remote is known (shoal_net_conn_remote). This runs before
     * any RPC packet is read, so handlers registered here answer the first call. */
    void (*established)(shoal_net_conn *conn, void *ud);
    /* The connection is over: SHOAL_OK after a clean goodbye, else why (SHOAL_E_NET_*,
     * SHOAL_E_SHS_*, SHOAL_E_BOXS_*, ...). The connection is freed when this returns. */
    void (*closed)(shoal_net_conn *conn, int err, void *ud);
} shoal_net_callbacks;

typedef struct shoal_net_config {
    const shoal_keypair *keys;    /* our identity; copied */
    const uint8_t *network;       /* NULL: the main SSB network; copied */
    shoal_time handshake_ms;      /* 0: 10 s */
    shoal_shs_keycache *keycache; /* NULL: none; borrowed while connections last */
    shoal_rpc_config rpc;
    shoal_link_limits limits; /* zeros: shoal/link_driver.h's defaults; its account, if any,
                                 counts the bytes in the socket's write buffer too */
    unsigned max_pending;     /* a server: connections in their handshake at once (0: 64); past it
                                 the server stops accepting until one is through or over */
} shoal_net_config;

/* Dials host:port and runs the handshake with the server `server_pub`. The callbacks (copied)
 * report how it goes; the connection's RPC session takes calls at once. */
shoal_net_conn *shoal_net_dial(const shoal_net_config *cfg, const char *host, uint16_t port,
                               const uint8_t server_pub[32], const shoal_net_callbacks *cb,
                               void *ud);

/* Listens on host:port (port 0 picks a free one: shoal_net_server_port). Every connection
 * accepted gets the callbacks (copied) with `ud`. SHOAL_E_NET_LISTEN when the address cannot
 * be bound. */
SHOAL_MUST_CHECK int shoal_net_listen(const shoal_net_config *cfg, const char *host, uint16_t port,
                                      const shoal_net_callbacks *cb, void *ud,
                                      shoal_net_server **out);
uint16_t shoal_net_server_port(const shoal_net_server *server);

/* What a server met before the handshakes: counted from the start. */
typedef struct shoal_net_stats {
    uint64_t accepted;          /* connections accepted */
    uint64_t handshakes_failed; /* of those, over before their handshake was done (timeouts too) */
    uint64_t accept_paused;     /* times max_pending handshakes were under way and accepting
                                   stopped until one was through */
} shoal_net_stats;

const shoal_net_stats *shoal_net_server_stats(const shoal_net_server *server);
/* Stops listening; connections already accepted go on. NULL is a no-op. */
void shoal_net_server_free(shoal_net_server *server);

shoal_rpc *shoal_net_conn_rpc(shoal_net_conn *conn);
/* The other side's long-term key (all zeros before the handshake completes). */
const uint8_t *shoal_net_conn_remote(const shoal_net_conn *conn);
/* Says goodbye and closes once both sides have, or after a few seconds; `closed` follows. */
void shoal_net_conn_close(shoal_net_conn *conn);

#endif

/* The hub server's internals, shared by server.c (connections, requests) and fanout.c
 * (channels, broadcasts, writes). */
#ifndef SHOAL_HUB_SERVER_INTERNAL_H
#define SHOAL_HUB_SERVER_INTERNAL_H

#include "shoal/hub.h"
#include "shoal/hub_server.h"

#include <gio/gio.h>

enum { CONN_HEAD, CONN_BODY, CONN_STREAM, CONN_DONE };
enum { DROP_SLOW, DROP_PER_ADDRESS, DROP_TIMEOUT, DROP_COUNT };

#define LINGER_MS       2000
#define ACCEPT_BATCH    256 /* connections accepted in one main-loop turn, at most */
#define ACCEPT_PAUSE_MS 100 /* out of file descriptors: accepting waits this long */
#define THROTTLE_MS     50  /* a throttled connection is looked at again this often */

typedef struct hub_channel hub_channel;
typedef struct hub_conn hub_conn;
typedef struct hub_relay hub_relay;

/* A client address: its connections, and its requests' token bucket. Kept while it has
 * connections, and after the last one until its bucket has refilled. */
typedef struct hub_addr {
    guint conns;
    double tokens;
    gint64 refilled; /* µs, monotonic */
} hub_addr;

struct hub_conn {
    shoal_hub_server *srv;
    GIOStream *stream;
    GPollableInputStream *in;
    GPollableOutputStream *out;
    /* What we wait for: input (a request, or a stream's client going), and room to write.
     * Plain connections wait in the server's epoll set; TLS ones (whose stream may hold
     * decrypted bytes the socket does not show) on pollable GSources. */
    bool watch_in, watch_out;
    GSource *in_src, *out_src; /* TLS only */
    char *address;
    hub_addr *from; /* the server's record of the address (lives while it has connections) */
    bool throttled; /* its address is over its request rate: reading waits */
    int state;
    bool closing, close_after_write, close_now, dirty, head_only;
    bool asked; /* a whole request has come (until then, the request timeout runs) */
    /* After a final answer: our side is shut, and input is read and dropped until the client
     * closes too (a close with unread input would reset the connection, and the answer with
     * it), or until LINGER_MS pass. */
    bool lingering;
    gint64 linger_since;
    GSocket *socket; /* the TCP socket under any TLS */

    GByteArray *rbuf; /* unread input */
    GByteArray *body; /* the body so far */
    shoal_http_request req;
    char *target; /* the request's target, owned (req.target points here) */
    shoal_hub_route route;
    int ice_auth;         /* GET /v1/ice: the signature's check, made while the head is here */
    uint8_t ice_feed[32]; /* ... and who signed it */
    uint64_t remaining;   /* of a Content-Length body */
    shoal_http_chunked chunked;
    gint64 request_started, last_activity;

    GQueue outq;       /* GBytes to write, shared with other connections */
    size_t out_offset; /* into the head of `out` */
    size_t unsent;

    /* A stream's channels, and its place in each channel's subscriber array. */
    hub_channel **channels;
    guint *slots;
    size_t nchannels;
};

struct shoal_hub_server {
    shoal_hub_server_config cfg;
    GSocket *listener; /* non-blocking; accepted from in batches */
    int epfd;          /* the plain connections' readiness: one source for them all */
    guint epoll_id;
    GSource *accept_src; /* NULL while paused (out of descriptors) or stopped */
    guint accept_pause_id;
    GTlsCertificate *tls;
    uint16_t port;
    GHashTable *conns;       /* hub_conn* set */
    GHashTable *per_address; /* address -> hub_addr */
    GPtrArray *throttled;    /* connections waiting for their address's bucket to refill */
    guint throttle_id;
    GHashTable *channels; /* "app/channel" -> hub_channel* */
    GPtrArray *dirty;     /* connections with queued output */
    GPtrArray *closed;    /* connections to free after the flush */
    hub_relay *relay;     /* NULL: no other hubs to share broadcasts with */
    GBytes *heartbeat;
    guint flush_id, sweep_id, heartbeat_id, shutdown_id;
    bool stopping;
    void (*on_done)(void *ud);
    void *done_ud;
    gint64 shutdown_deadline;
    uint64_t subscriptions, streams;
    shoal_ice_servers ice; /* handed out on GET /v1/ice; n == 0: none */
    uint8_t *turn_secret;  /* owned */
    struct {
        uint64_t connections, messages_in, bytes_in, events_out, bytes_out, heartbeats;
        uint64_t accept_errors, throttled;
        uint64_t ice_answered, ice_refused; /* GET /v1/ice signed well, or not */
        uint64_t responses[6];
        uint64_t drops[DROP_COUNT];
    } stats;
};

/* server.c */
/* Applies c->watch_in and c->watch_out. */
void shoal__hub_watch(hub_conn *c);
void shoal__hub_queue(hub_conn *c, GBytes *bytes);
void shoal__hub_close(hub_conn *c);
void shoal__hub_conn_free(hub_conn *c);
/* The answer is out: shut our side and wait for the client's close. */
void shoal__hub_linger(hub_conn *c);

/* fanout.c */
void shoal__hub_registry_init(shoal_hub_server *srv);
void shoal__hub_registry_free(shoal_hub_server *srv);
void shoal__hub_subscribe(hub_conn *c, const shoal_hub_route *r);
void shoal__hub_unsubscribe(hub_conn *c);
/* A POST's body: queued for every subscriber of the route's channel, and shared with the other
 * hubs of the group; the number of our subscribers it went to. */
uint64_t shoal__hub_broadcast(shoal_hub_server *srv, const shoal_hub_route *r, const void *body,
                              size_t len);
/* Queues the body for every subscriber of the route's channel (a broadcast from here or from
 * another hub); the number of recipients. */
uint64_t shoal__hub_deliver(shoal_hub_server *srv, const shoal_hub_route *r, const void *body,
                            size_t len);
void shoal__hub_schedule_flush(shoal_hub_server *srv);
/* c can be written to again. */
void shoal__hub_writable(hub_conn *c);
void shoal__hub_flush_now(shoal_hub_server *srv);
/* The Prometheus text of the counters (free with g_free). */
char *shoal__hub_metrics(shoal_hub_server *srv);

/* relay.c: broadcasts shared with the other hubs of a group through Redis pub/sub. `address`
 * is HOST:PORT or unix:PATH; connecting goes on in the background (and again whenever Redis goes
 * away). SHOAL_E_INVAL for an address that is not one, with the reason in *why. */
SHOAL_MUST_CHECK int shoal__hub_relay_start(shoal_hub_server *srv, const char *address,
                                            const char *channel, hub_relay **out, char **why);
void shoal__hub_relay_publish(hub_relay *r, const shoal_hub_route *route, const void *body,
                              size_t len);
/* Appends the relay's counters, in Prometheus text. NULL: nothing. */
void shoal__hub_relay_metrics(const hub_relay *r, GString *m);
void shoal__hub_relay_free(hub_relay *r);

/* requests.c: answers with an error and closes; takes what was read, request after request. */
void shoal__hub_fail(hub_conn *c, int status, const char *reason, const char *message);
void shoal__hub_process(hub_conn *c);

#endif

/* The hub server's internals, shared by server.c (connections, requests) and fanout.c
 * (channels, broadcasts, writes). */
#ifndef SHOAL_HUB_SERVER_INTERNAL_H
#define SHOAL_HUB_SERVER_INTERNAL_H

#include "shoal/hub.h"
#include "shoal/hub_server.h"

#include <gio/gio.h>

enum { CONN_HEAD, CONN_BODY, CONN_STREAM, CONN_DONE };
enum { DROP_SLOW, DROP_PER_ADDRESS, DROP_TIMEOUT, DROP_COUNT };

#define LINGER_MS 2000

typedef struct hub_channel hub_channel;
typedef struct hub_conn hub_conn;

struct hub_conn {
    shoal_hub_server *srv;
    GIOStream *stream;
    GPollableInputStream *in;
    GPollableOutputStream *out;
    GSource *in_src, *out_src;
    char *address;
    int state;
    bool closing, close_after_write, close_now, dirty, head_only;
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
    uint64_t remaining; /* of a Content-Length body */
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
    GSocketService *service;
    GTlsCertificate *tls;
    uint16_t port;
    GHashTable *conns;       /* hub_conn* set */
    GHashTable *per_address; /* address -> connection count */
    GHashTable *channels;    /* "app/channel" -> hub_channel* */
    GPtrArray *dirty;        /* connections with queued output */
    GPtrArray *closed;       /* connections to free after the flush */
    GBytes *heartbeat;
    guint flush_id, sweep_id, heartbeat_id, shutdown_id;
    bool stopping;
    void (*on_done)(void *ud);
    void *done_ud;
    gint64 shutdown_deadline;
    uint64_t subscriptions, streams;
    struct {
        uint64_t connections, messages_in, bytes_in, events_out, bytes_out, heartbeats;
        uint64_t responses[6];
        uint64_t drops[DROP_COUNT];
    } stats;
};

/* server.c */
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
/* Queues the body for every subscriber of the route's channel; the number of recipients. */
uint64_t shoal__hub_broadcast(shoal_hub_server *srv, const shoal_hub_route *r, const void *body,
                              size_t len);
void shoal__hub_schedule_flush(shoal_hub_server *srv);
void shoal__hub_flush_now(shoal_hub_server *srv);
/* The Prometheus text of the counters (free with g_free). */
char *shoal__hub_metrics(shoal_hub_server *srv);

#endif

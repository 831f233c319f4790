/* shoal hub_client: the signal-hub client, an I/O shell (libsoup 3, on the thread-default GLib
 * main context) around the SSE parser of shoal/hub.h.
 *
 * It holds one event stream per hub, subscribed to the same channels on each; hands every
 * message up once, however many hubs carried it; POSTs broadcasts to a hub; notices a stream
 * gone silent (no byte, not even a heartbeat, for heartbeat_timeout) and drops it; and, with
 * auto_reconnect, comes back after a jittered backoff. Under the peer state manager,
 * auto_reconnect is off: the client reports each stream's state (HUB_CONNECTION_SUCCEEDED,
 * HUB_CONNECTION_FAILED, HUB_DID_DISCONNECT) and the manager's CONNECT_TO_HUB effects call
 * shoal_hub_client_connect. HTTPS comes from glib-networking. */
#ifndef SHOAL_HUB_CLIENT_H
#define SHOAL_HUB_CLIENT_H

#include "shoal/ice.h"
#include "shoal/ref.h"

typedef struct shoal_hub_client shoal_hub_client;

typedef enum shoal_hub_stream_state {
    SHOAL_HUB_STREAM_CONNECTED,    /* the stream is open (HUB_CONNECTION_SUCCEEDED) */
    SHOAL_HUB_STREAM_FAILED,       /* it could not be opened (HUB_CONNECTION_FAILED) */
    SHOAL_HUB_STREAM_DISCONNECTED, /* an open stream ended or went silent (HUB_DID_DISCONNECT) */
} shoal_hub_stream_state;

typedef struct shoal_hub_client_callbacks {
    void (*state)(size_t hub, shoal_hub_stream_state state, void *ud);
    /* A message (an SSE event's data), once, from the first hub that carried it. */
    void (*message)(size_t hub, const char *data, size_t len, void *ud);
    void *ud;
} shoal_hub_client_callbacks;

typedef struct shoal_hub_client_config {
    const char *app;               /* the signalhub app name (copied) */
    uint32_t heartbeat_timeout_ms; /* 75 s: two and a half heartbeats */
    bool auto_reconnect;           /* true: come back by itself after a failure or a drop */
    uint32_t reconnect_base_ms;    /* 3 s (signalhub's own client waits 3 s) ... */
    uint32_t reconnect_cap_ms;     /* 60 s: doubling per failure in a row, with jitter */
    uint32_t dedupe_window_ms;     /* 60 s: a message seen again within this is dropped */
    uint32_t post_timeout_ms;      /* 15 s: a broadcast not answered by then is given up (its
                                      `done` hears status 0), so a hub that takes a POST and
                                      never answers holds up no signal behind it */
    size_t max_event;              /* 64 KiB: a larger event ends the stream */
    const char *ca_file;           /* NULL: trust the system's CAs; else only these (PEM) */
} shoal_hub_client_config;

void shoal_hub_client_config_default(shoal_hub_client_config *cfg);

/* SHOAL_E_INVAL for an empty app name, zero periods or an unreadable ca_file. */
SHOAL_MUST_CHECK int shoal_hub_client_new(shoal_hub_client **out,
                                          const shoal_hub_client_config *cfg,
                                          const shoal_hub_client_callbacks *cb);
/* Closes every stream; no callback runs after this. NULL is a no-op. */
void shoal_hub_client_free(shoal_hub_client *cl);

/* Adds a hub; its index (0, 1, ...) names it in callbacks. Streams start with connect. */
size_t shoal_hub_client_add_hub(shoal_hub_client *cl, const shoal_hub_addr *hub);
/* The channels every stream subscribes to (1 to SHOAL_HUB_MAX_CHANNELS; copied). Open streams
 * are reopened on the new set. */
SHOAL_MUST_CHECK int shoal_hub_client_subscribe(shoal_hub_client *cl, const char *const *channels,
                                                size_t n);
/* Opens (or reopens) the stream to one hub. */
void shoal_hub_client_connect(shoal_hub_client *cl, size_t hub);
/* Closes the stream to one hub (and stops reconnecting to it). */
void shoal_hub_client_disconnect(shoal_hub_client *cl, size_t hub);
/* The network changed: a connection made on the old one may be dead without a word (TCP from
 * an address that is gone waits minutes), and the pool would hand it out again. Every request
 * under way is cancelled (a broadcast's `done` hears status 0, maybe before this returns; an ICE
 * question gets no answer), every connection closed, and every stream closed without a word and
 * not retried: connect each again (shoal_hub_client_connect), on a new connection. */
void shoal_hub_client_network_changed(shoal_hub_client *cl);

/* The outcome of a broadcast: the HTTP status (0 if none came back) and the number of
 * recipients a shoal hub reports (-1 from a hub that does not say). */
typedef void shoal_hub_sent_fn(size_t hub, unsigned status, long recipients, void *ud);
/* POSTs data to `channel` on one hub; done (may be NULL) is called once with the outcome, within
 * post_timeout_ms. */
void shoal_hub_client_broadcast(shoal_hub_client *cl, size_t hub, const char *channel,
                                const void *data, size_t len, shoal_hub_sent_fn *done, void *ud);

/* The hub's ICE servers: GET /v1/ice, signed with `keys` for the Host the hub is reached by
 * (shoal/ice.h). done (not NULL) is called once with the HTTP status (0 if none came back in
 * 5 s) and, for a 200 with a JSON body, the body (borrowed for the call; at most 64 KiB), else
 * NULL (a plain signalhub answers 200 with an event stream, cut at once). */
typedef void shoal_hub_ice_fn(size_t hub, unsigned status, const char *body, size_t len, void *ud);
void shoal_hub_client_get_ice(shoal_hub_client *cl, size_t hub, const shoal_keypair *keys,
                              shoal_hub_ice_fn *done, void *ud);
/* The Host header a request to the hub carries ("host" or "host:port", "[v6]:port"). */
char *shoal_hub_client_host(const shoal_hub_client *cl, size_t hub);

#endif

/* shoal link_driver: a shoal_link on a transport, on GLib's main loop, written once for every
 * transport (TCP in shoal/net.h, a WebRTC data channel in the node).
 *
 * The transport hands it the bytes that arrive; it feeds the link, tells the transport when the
 * handshake is done, and writes the link's output whenever there is some: after each input, and
 * whenever the link says output waits that no input brought (a live stream fed by a publish, a
 * call made from a timer), on the next turn of the loop. As the handshake's server, our own calls
 * go out once the client has spoken, or SHOAL_LINK_HOLD_MS after the handshake (see
 * shoal/link.h). A transport that is full takes fewer bytes than offered, and says when it has
 * room again.
 *
 * Bounds. A peer that asks without reading cannot make us hold more than max_backlog bytes of
 * output: past it the link is over (SHOAL_E_LINK_BACKLOG); handlers with much to send send it
 * as it is read (shoal_rpc_writable). A peer silent for idle_ms after the handshake is asked
 * something (whoami, which every SSB peer answers), and the link is over if it stays silent for
 * idle_ms more (SHOAL_E_LINK_SILENT): connections cost descriptors and memory, and one nobody
 * uses is let go.
 *
 * Callbacks must not free the driver; the transport frees it once it has closed. */
#ifndef SHOAL_LINK_DRIVER_H
#define SHOAL_LINK_DRIVER_H

#include "shoal/link.h"

typedef struct shoal_link_driver shoal_link_driver;

typedef struct shoal_link_transport {
    /* Offers bytes to write: how many the transport took (0 when it is full: it calls
     * shoal_link_driver_writable once it has room), or a negative error. */
    long (*send)(const uint8_t *data, size_t len, void *ud);
    /* The handshake is complete (shoal_link_remote names the other side). It runs before any
     * RPC packet that came with the handshake is read, so handlers registered here answer the
     * first call. */
    void (*established)(void *ud);
    /* The link is over, once: SHOAL_OK when both sides said goodbye (everything is handed to
     * send), else why (the link's error, or send's): the transport closes. */
    void (*finished)(int status, void *ud);
} shoal_link_transport;

#define SHOAL_LINK_DRIVER_MAX_BACKLOG (16u << 20)
#define SHOAL_LINK_DRIVER_IDLE_MS     60000

/* What a group of drivers (a daemon's connections) holds together, and what they let go. The
 * drivers given one share it; its owner sets max_queued and reads the rest. */
typedef struct shoal_link_account {
    size_t max_queued; /* output held by all the drivers together, at most (0: no bound); past
                          it, the link whose output grew past it is over (SHOAL_E_LINK_BACKLOG) */
    size_t queued;     /* output they hold now, in bytes */
    uint64_t backlog;  /* links let go: their own output past max_backlog, */
    uint64_t total;    /* the group's past max_queued, */
    uint64_t silent;   /* or silent (SHOAL_E_LINK_SILENT) */
} shoal_link_account;

typedef struct shoal_link_limits {
    size_t max_backlog;          /* 0: SHOAL_LINK_DRIVER_MAX_BACKLOG */
    shoal_time idle_ms;          /* 0: SHOAL_LINK_DRIVER_IDLE_MS */
    shoal_link_account *account; /* borrowed while the driver lives; NULL: none */
} shoal_link_limits;

/* Drives `link` (owned from now on) over the transport (`t` copied), within `limits` (NULL: the
 * defaults). */
shoal_link_driver *shoal_link_driver_new(shoal_link *link, const shoal_link_transport *t,
                                         const shoal_link_limits *limits, void *ud);
/* Frees the driver and its link; no callback runs after. NULL is a no-op. */
void shoal_link_driver_free(shoal_link_driver *d);
shoal_link *shoal_link_driver_link(shoal_link_driver *d);

/* Bytes that arrived; then the link's output is written. */
void shoal_link_driver_input(shoal_link_driver *d, const uint8_t *data, size_t len);
/* The transport has room again: the output waiting is written. */
void shoal_link_driver_writable(shoal_link_driver *d);
/* Says goodbye (the RPC session's, then the box stream's); `finished` follows once both sides
 * have, or at once with SHOAL_OK before the handshake is done. */
void shoal_link_driver_close(shoal_link_driver *d);

#endif

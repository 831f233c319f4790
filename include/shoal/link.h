/* shoal link: one authenticated, encrypted RPC connection over any byte stream.
 *
 * How this works. A link is the secret handshake, then the box stream carrying a muxrpc
 * session, all as one pure core: the shell (TCP, a WebRTC data channel, a test's pipe) gives it
 * the bytes that arrive with shoal_link_input() and writes what shoal_link_output() holds.
 * shoal_link_input() stops right after the handshake completes, so the shell can look at the
 * remote identity (and register handlers) before any RPC packet is read; the caller calls it
 * again with the rest. RPC calls may be made from the start: they wait in the session and go
 * out, boxed, once the handshake is done. Closing sends the muxrpc goodbye, then the box
 * stream's goodbye.
 *
 * The client speaks first. As the server, our own calls wait until the client's first
 * box-stream bytes arrive, or until the shell calls shoal_link_release() (SHOAL_LINK_HOLD_MS
 * after the handshake, for a client that never calls). The reference peer (secret-stack) sets
 * up its session and then announces the connection to its plugins only after it has read
 * whatever arrived with the handshake's last message: a call riding along with that message is
 * answered, but ssb-replicate never sees it, and so never starts replicating from us. A client
 * speaks once its plugins are listening. */
#ifndef SHOAL_LINK_H
#define SHOAL_LINK_H

#include "shoal/muxrpc.h"
#include "shoal/ref.h"
#include "shoal/shs.h"

typedef struct shoal_link shoal_link;

typedef struct shoal_link_config {
    const uint8_t *network;       /* NULL: the main SSB network */
    const uint8_t *eph_sec;       /* NULL: a fresh ephemeral key (tests inject one) */
    shoal_shs_keycache *keycache; /* NULL: none; borrowed for the link's life */
    shoal_rpc_config rpc;         /* zeros: the session's defaults */
} shoal_link_config;

/* A link that dials `server_pub` (the client role), or, when server_pub is NULL, answers
 * whoever dials (the server role). `local` and `cfg` (may be NULL) are borrowed for the call.
 * NULL when out of memory. */
shoal_link *shoal_link_new(const shoal_keypair *local, const uint8_t *server_pub,
                           const shoal_link_config *cfg);
/* NULL is a no-op. Wipes every key. */
void shoal_link_free(shoal_link *link);

/* Takes bytes that arrived: returns how many it consumed (fewer than len only when the
 * handshake has just completed: call again with the rest), or the link's error, which sticks:
 * the handshake's (SHOAL_E_SHS_*), the box stream's (SHOAL_E_BOXS_*), or the RPC session's. */
SHOAL_MUST_CHECK long shoal_link_input(shoal_link *link, const uint8_t *in, size_t len);

/* What the transport told us: the other side closed its stream. SHOAL_OK if it said goodbye,
 * else SHOAL_E_SHS_TRUNCATED (during the handshake) or SHOAL_E_BOXS_CUT. */
SHOAL_MUST_CHECK int shoal_link_eof(shoal_link *link);

/* The bytes to write (boxing whatever the RPC session has queued); NULL when none. Borrowed
 * until the next call into the link. */
const uint8_t *shoal_link_output(shoal_link *link, size_t *len);
/* Marks the first n bytes of the output as written. */
void shoal_link_drain(shoal_link *link, size_t n);
/* Runs when the RPC session queues output while none was waiting, whatever queued it (a
 * handler, a live stream fed by a publish, a call made from a timer): the shell schedules a
 * write, so that no caller has to remember to flush. It runs in the middle of whatever queued
 * the output: schedule the write, do not make it there. NULL removes it. What input brings
 * (the handshake, answers) the shell writes after each input anyway. */
typedef void shoal_link_output_fn(shoal_link *link, void *ud);
void shoal_link_on_output(shoal_link *link, shoal_link_output_fn *fn, void *ud);

/* After this long without a word from the client, a server's shell releases its calls. */
#define SHOAL_LINK_HOLD_MS 500

/* Lets a server's own calls go out before the client has spoken (see above). Idempotent. */
void shoal_link_release(shoal_link *link);

/* Says goodbye: the RPC session's, then the box stream's (at once if the handshake is not
 * complete, the output then holds nothing more). */
void shoal_link_close(shoal_link *link);

bool shoal_link_established(const shoal_link *link);
/* The other side's long-term key; all zeros until the handshake completes. */
const uint8_t *shoal_link_remote(const shoal_link *link);
/* The RPC session, for handlers and calls. Owned by the link. */
shoal_rpc *shoal_link_rpc(shoal_link *link);
/* True when both sides have said the box stream's goodbye: the transport may close. */
bool shoal_link_finished(const shoal_link *link);
/* SHOAL_OK, or the error that failed the link. */
int shoal_link_status(const shoal_link *link);

/* ---- What every SSB peer answers ----------------------------------------------------------
 * whoami (async): {"id": our feed id}. manifest (async): what the session serves, in muxrpc's
 * manifest shape. gossip.ping (duplex): the caller sends a timestamp and we
 * volley ours back, as the reference's pull-ping does; the caller keeps the rhythm. Everything
 * else (ebt.replicate, blobs.createWants, ...) gets the session's error end for unknown methods,
 * on which the reference falls back. */
typedef struct shoal_basics {
    char id[SHOAL_REF_STRSIZE]; /* our feed id */
    /* Wall-clock time, milliseconds since 1970 (gossip.ping's timestamps). */
    int64_t (*clock)(void *ud);
    void *clock_ud;
} shoal_basics;

/* Registers the basics on `rpc`; `basics` is borrowed for the session's life. */
SHOAL_MUST_CHECK int shoal_basics_register(shoal_rpc *rpc, const shoal_basics *basics);

#endif

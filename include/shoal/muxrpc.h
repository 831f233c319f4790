/* shoal muxrpc: SSB's RPC protocol (packet-stream-codec framing, muxrpc sessions).
 *
 * How this works. Every packet is a 9-byte header (flags; body length, uint32 big-endian;
 * request number, int32 big-endian) and a body that is binary, UTF-8 or JSON. A call carries a
 * positive request number chosen by the caller; everything the other side sends back for it
 * carries the same number negated. A session therefore names each call or stream by one id: the
 * request number as *we* write it — positive for calls we made, negative for calls made to us —
 * and an incoming packet belongs to the id that is its request number negated.
 *
 * Async calls get one reply (or an error end). Streams (source, sink, duplex) carry items both
 * ways until each side has sent its end (flags stream|end, body `true`, or an error object);
 * the session forgets a stream once both ends are seen. Nine zero bytes are the goodbye.
 *
 * The session is a pure core: shoal_rpc_input() takes bytes as they arrive and calls back the
 * handlers and listeners it dispatches to; everything to send piles up in an output buffer the
 * shell drains (shoal_rpc_output, shoal_rpc_drain). Callbacks may call any function of the
 * session except shoal_rpc_free. The first decoding error is kept, the session ends (every open
 * call hears SHOAL_RPC_CLOSED) and later input returns that error. */
#ifndef SHOAL_MUXRPC_H
#define SHOAL_MUXRPC_H

#include "shoal/core.h"

#include <jansson.h>

/* ---- Packets ------------------------------------------------------------------------------- */

#define SHOAL_RPC_HEADER_SIZE 9
#define SHOAL_RPC_FLAG_STREAM 0x08
#define SHOAL_RPC_FLAG_END    0x04

typedef enum shoal_rpc_body_type {
    SHOAL_RPC_BINARY = 0,
    SHOAL_RPC_STRING = 1, /* UTF-8 */
    SHOAL_RPC_JSON = 2,
} shoal_rpc_body_type;

typedef struct shoal_rpc_packet {
    bool stream, end;
    shoal_rpc_body_type type;
    int32_t req;
    const uint8_t *body; /* borrowed */
    uint32_t len;
} shoal_rpc_packet;

/* Writes the packet's 9-byte header. */
void shoal_rpc_header_encode(const shoal_rpc_packet *p, uint8_t out[SHOAL_RPC_HEADER_SIZE]);

/* The streaming packet decoder. */
typedef struct shoal_rpc_decoder {
    int state; /* private */
    int error;
    uint32_t max_body;
    uint8_t header[SHOAL_RPC_HEADER_SIZE];
    size_t have;
    shoal_rpc_packet packet;
    uint8_t *body; /* owned; grows to the largest body seen */
    size_t body_cap;
} shoal_rpc_decoder;

/* max_body: the largest body accepted (larger ones fail with SHOAL_E_RPC_TOO_LARGE). */
void shoal_rpc_decoder_init(shoal_rpc_decoder *dec, uint32_t max_body);
void shoal_rpc_decoder_free(shoal_rpc_decoder *dec);

/* Reads from in[0..len) until one packet is complete or the input runs out; returns the bytes
 * consumed. When a packet completes, *got is true and *out describes it (its body borrowed until
 * the next call). A goodbye (a header of length 0, as the reference decoder reads it) sets
 * *goodbye. Errors, kept: SHOAL_E_RPC_TOO_LARGE, SHOAL_E_RPC_TYPE (body type 3),
 * SHOAL_E_RPC_CLOSED (bytes after the goodbye), SHOAL_E_NOMEM. */
SHOAL_MUST_CHECK long shoal_rpc_decode(shoal_rpc_decoder *dec, const uint8_t *in, size_t len,
                                       shoal_rpc_packet *out, bool *got, bool *goodbye);

/* ---- Sessions ------------------------------------------------------------------------------ */

typedef struct shoal_rpc shoal_rpc;

typedef enum shoal_rpc_kind {
    SHOAL_RPC_ASYNC,
    SHOAL_RPC_SOURCE,
    SHOAL_RPC_SINK,
    SHOAL_RPC_DUPLEX,
} shoal_rpc_kind;

/* "async", "source", "sink", "duplex". */
const char *shoal_rpc_kind_name(shoal_rpc_kind kind);

typedef struct shoal_rpc_body {
    shoal_rpc_body_type type;
    const uint8_t *data; /* borrowed */
    size_t len;
} shoal_rpc_body;

typedef enum shoal_rpc_event {
    SHOAL_RPC_DATA,   /* a stream item, or an async call's reply */
    SHOAL_RPC_END,    /* the other side ended its half of the stream cleanly */
    SHOAL_RPC_ERROR,  /* the call or stream ended with an error; body holds it (JSON) */
    SHOAL_RPC_CLOSED, /* the session ended before the call or stream did */
} shoal_rpc_event;

/* What a listener hears about one call or stream. body is NULL for END and CLOSED. */
typedef void shoal_rpc_listen_fn(shoal_rpc *rpc, int32_t id, shoal_rpc_event ev,
                                 const shoal_rpc_body *body, void *ud);

/* A call made to us. */
typedef struct shoal_rpc_request {
    const char *name; /* dotted: "gossip.ping" */
    shoal_rpc_kind kind;
    json_t *args; /* the request's args array, borrowed for the handler's call */
} shoal_rpc_request;

/* A handler answers its call with shoal_rpc_reply/shoal_rpc_error (async; now or later), or
 * sends and ends its stream, and calls shoal_rpc_listen to hear what the caller sends. */
typedef void shoal_rpc_handler_fn(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req,
                                  void *ud);

typedef struct shoal_rpc_config {
    uint32_t max_body;  /* largest packet body accepted; default 4 MiB */
    uint32_t max_calls; /* open calls and streams, both ways; default 8192 */
} shoal_rpc_config;

/* A session; cfg may be NULL for the defaults. NULL when out of memory. */
shoal_rpc *shoal_rpc_new(const shoal_rpc_config *cfg);
/* Frees the session without calling anyone back. NULL is a no-op. */
void shoal_rpc_free(shoal_rpc *rpc);

/* Adds `name` (dotted, copied) of `kind` to the manifest. SHOAL_E_INVAL for an empty name,
 * SHOAL_E_NOMEM. A name registered again replaces the earlier handler. */
SHOAL_MUST_CHECK int shoal_rpc_register(shoal_rpc *rpc, const char *name, shoal_rpc_kind kind,
                                        shoal_rpc_handler_fn *fn, void *ud);

/* The manifest, as muxrpc peers exchange it: every registered name nested by its dots, with its
 * type ({"whoami":"async","gossip":{"ping":"duplex"}}). A new reference; NULL when out of memory
 * (or when one name is a prefix group of another, which the shape cannot hold). */
json_t *shoal_rpc_manifest(const shoal_rpc *rpc);

/* Hears of every call made to us, answered by a handler or not (handled false: the session
 * refused it as unknown or malformed; name is then "" when it had none). Replaces any earlier
 * observer; NULL removes it. For logs and tests. */
typedef void shoal_rpc_observe_fn(shoal_rpc *rpc, const char *name, const char *type, bool handled,
                                  void *ud);
void shoal_rpc_observe(shoal_rpc *rpc, shoal_rpc_observe_fn *fn, void *ud);

/* Runs at the end of every shoal_rpc_input, once what it brought has been dispatched: where a
 * handler that gathers what the items bring (replication batching its appends) does the work
 * in one go. One per session: replaces any earlier; NULL removes it. */
typedef void shoal_rpc_drained_fn(shoal_rpc *rpc, void *ud);
void shoal_rpc_on_drained(shoal_rpc *rpc, shoal_rpc_drained_fn *fn, void *ud);

/* Runs when the session queues output while none was waiting (a call, an item, an answer, an
 * end, the goodbye): the shell's cue to write, for output that no input of the other side
 * brought (a live stream fed by a publish, say). It runs in the middle of whatever queued the
 * output: it should schedule the write, not make it. One per session: replaces any earlier;
 * NULL removes it. */
typedef void shoal_rpc_output_fn(shoal_rpc *rpc, void *ud);
void shoal_rpc_on_output(shoal_rpc *rpc, shoal_rpc_output_fn *fn, void *ud);

/* Writing as it is read. A handler with much to send (a feed's history) sends a window of it,
 * then more each time the shell says that everything queued has been handed to the transport
 * (shoal_rpc_writable), so what a peer does not read is never read from the store nor held in
 * memory. One listener per session: replaces any earlier; NULL removes it. */
typedef void shoal_rpc_writable_fn(shoal_rpc *rpc, void *ud);
void shoal_rpc_on_writable(shoal_rpc *rpc, shoal_rpc_writable_fn *fn, void *ud);
/* The shell: nothing this session queued waits any longer (all handed to the transport). */
void shoal_rpc_writable(shoal_rpc *rpc);
/* A handler that has more to send (a live stream a publish fed) asks the shell for a writable
 * turn: the on_output callback runs as if output waited, and the shell's next write ends in
 * shoal_rpc_writable. */
void shoal_rpc_want_writable(shoal_rpc *rpc);

/* Calls `name` (dotted) on the other side with `args` (a JSON array, borrowed) and sets *id.
 * `fn` hears the reply, the items, the end. Errors: SHOAL_E_RPC_CLOSED,
 * SHOAL_E_RPC_TOO_MANY_CALLS, SHOAL_E_INVAL, SHOAL_E_NOMEM. */
SHOAL_MUST_CHECK int shoal_rpc_call(shoal_rpc *rpc, shoal_rpc_kind kind, const char *name,
                                    json_t *args, shoal_rpc_listen_fn *fn, void *ud, int32_t *id);

/* Sets (or replaces) the listener of call or stream `id`. SHOAL_E_RPC_NO_CALL if none is open. */
SHOAL_MUST_CHECK int shoal_rpc_listen(shoal_rpc *rpc, int32_t id, shoal_rpc_listen_fn *fn,
                                      void *ud);

/* Answers the async call `id` made to us, which is then done. */
SHOAL_MUST_CHECK int shoal_rpc_reply(shoal_rpc *rpc, int32_t id, const shoal_rpc_body *body);
/* Sends one item on stream `id`. An empty body is refused (SHOAL_E_INVAL): the reference reads
 * a zero-length packet as the goodbye. */
SHOAL_MUST_CHECK int shoal_rpc_send(shoal_rpc *rpc, int32_t id, const shoal_rpc_body *body);
/* Sends one JSON item. */
SHOAL_MUST_CHECK int shoal_rpc_send_json(shoal_rpc *rpc, int32_t id, const json_t *item);
/* Ends our half of stream `id` cleanly. */
SHOAL_MUST_CHECK int shoal_rpc_end(shoal_rpc *rpc, int32_t id);
/* Ends call or stream `id` with an error in the reference's shape
 * {"message","name","stack"}. */
SHOAL_MUST_CHECK int shoal_rpc_error(shoal_rpc *rpc, int32_t id, const char *name,
                                     const char *message);
/* Errors common to the four: SHOAL_E_RPC_NO_CALL (no such call open, or our half already
 * ended), SHOAL_E_RPC_CLOSED, SHOAL_E_NOMEM. */

/* Takes bytes from the other side: returns SHOAL_OK once all of in[0..len) is dispatched, or
 * the session's error. */
SHOAL_MUST_CHECK int shoal_rpc_input(shoal_rpc *rpc, const uint8_t *in, size_t len);

/* Sends the goodbye: every open call hears SHOAL_RPC_CLOSED and nothing more may be sent. */
void shoal_rpc_goodbye(shoal_rpc *rpc);

/* The bytes waiting to be sent (borrowed until the next call into the session). */
const uint8_t *shoal_rpc_output(const shoal_rpc *rpc, size_t *len);
/* Marks the first n waiting bytes as sent. */
void shoal_rpc_drain(shoal_rpc *rpc, size_t n);

/* True once either side said goodbye or the session failed; shoal_rpc_status tells which. */
bool shoal_rpc_ended(const shoal_rpc *rpc);
/* SHOAL_OK, or the error that ended the session (SHOAL_E_RPC_CLOSED after a goodbye received
 * while calls were open is not an error: it is SHOAL_OK). */
int shoal_rpc_status(const shoal_rpc *rpc);
/* Open calls and streams. */
size_t shoal_rpc_open_calls(const shoal_rpc *rpc);

#endif

/* shoal hub: the signalhub protocol's pure cores.
 *
 * An HTTP/1.1 request head parser and chunked-body decoder (sans-I/O, in the manner of
 * picohttpparser: whole buffers in, results out, "need more" when a head is incomplete), the
 * signalhub routes (status, subscribe, broadcast, CORS preflight, metrics), and the Server-Sent
 * Events encoder and parser. The hub server and the hub client are I/O shells around these. */
#ifndef SHOAL_HUB_H
#define SHOAL_HUB_H

#include "shoal/core.h"

/* ---- HTTP requests ------------------------------------------------------------------------- */

typedef enum shoal_http_method {
    SHOAL_HTTP_GET,
    SHOAL_HTTP_HEAD,
    SHOAL_HTTP_POST,
    SHOAL_HTTP_PUT,
    SHOAL_HTTP_DELETE,
    SHOAL_HTTP_OPTIONS,
    SHOAL_HTTP_OTHER, /* a well-formed method shoal does not serve */
} shoal_http_method;

typedef struct shoal_http_request {
    shoal_http_method method;
    int minor_version;  /* HTTP/1.0 or HTTP/1.1 */
    const char *target; /* borrowed from the parsed buffer: path and query as sent */
    size_t target_len;
    uint64_t content_length; /* when has_length */
    bool has_length;
    bool chunked;         /* Transfer-Encoding: chunked */
    bool keep_alive;      /* by version and Connection */
    bool expect_continue; /* Expect: 100-continue */
    const char *host;     /* Host's value, borrowed from the parsed buffer; NULL when absent */
    size_t host_len;
    const char *authorization; /* Authorization's value, the same way */
    size_t authorization_len;
} shoal_http_request;

/* Limits of a request head. */
#define SHOAL_HTTP_MAX_HEAD    8192
#define SHOAL_HTTP_MAX_HEADERS 64

/* Parses the request head at the start of buf[0..len). Returns the head's length in bytes
 * (> 0) with *req filled in (borrowing from buf), or:
 *   SHOAL_E_AGAIN               the head is not complete yet;
 *   SHOAL_E_HTTP_HEAD_TOO_LARGE more than SHOAL_HTTP_MAX_HEAD bytes or MAX_HEADERS headers (431);
 *   SHOAL_E_HTTP_BAD_REQUEST    anything malformed, or Content-Length and Transfer-Encoding
 *                               together, or conflicting lengths, or two Host or two
 *                               Authorization headers (400);
 *   SHOAL_E_HTTP_VERSION        not HTTP/1.0 or 1.1 (505);
 *   SHOAL_E_HTTP_ENCODING       a transfer coding other than chunked (501). */
SHOAL_MUST_CHECK long shoal_http_parse_request(const char *buf, size_t len,
                                               shoal_http_request *req);

/* The decoder of a chunked body, in place (like picohttpparser's phr_decode_chunked). */
typedef struct shoal_http_chunked {
    int state;
    uint64_t remaining; /* of the current chunk's data */
    unsigned digits;
} shoal_http_chunked;

#define SHOAL_HTTP_CHUNKED_INIT                                                                    \
    {                                                                                              \
        0, 0, 0                                                                                    \
    }

/* Decodes buf[0..*len) in place: on return buf[0..*len) holds the body bytes decoded from it.
 * Returns the number of bytes that followed the end of the body (>= 0) once the last chunk and
 * its trailers have been read, SHOAL_E_AGAIN when more input is needed (call again with the next
 * bytes), or SHOAL_E_HTTP_BAD_REQUEST. */
SHOAL_MUST_CHECK long shoal_http_unchunk(shoal_http_chunked *d, char *buf, size_t *len);

/* ---- signalhub routes ---------------------------------------------------------------------- */

typedef enum shoal_hub_route_kind {
    SHOAL_HUB_STATUS,    /* GET / */
    SHOAL_HUB_METRICS,   /* GET /metrics */
    SHOAL_HUB_SUBSCRIBE, /* GET /v1/<app>/<ch>,<ch>... */
    SHOAL_HUB_BROADCAST, /* POST /v1/<app>/<channel> */
    SHOAL_HUB_PREFLIGHT, /* OPTIONS anything (CORS) */
    SHOAL_HUB_ICE,       /* GET /v1/ice: the hub's STUN and TURN servers (shoal/ice.h) */
    SHOAL_HUB_NOT_FOUND, /* 404, as signalhub answers everything else */
} shoal_hub_route_kind;

/* Channels one subscription may name, at most. */
#define SHOAL_HUB_MAX_CHANNELS 64
/* Longest app or channel name, in bytes. */
#define SHOAL_HUB_MAX_NAME 128

typedef struct shoal_hub_name {
    const char *s; /* borrowed from the request target */
    size_t len;
} shoal_hub_name;

typedef struct shoal_hub_route {
    shoal_hub_route_kind kind;
    shoal_hub_name app;
    size_t nchannels;
    shoal_hub_name channels[SHOAL_HUB_MAX_CHANNELS];
} shoal_hub_route;

/* Routes a parsed request. The query string is ignored, as signalhub ignores it. App and channel
 * names are 1-128 bytes of URL path characters other than '/' and ',' (letters, digits and
 * -._~!$&'()*+;=:@%). Errors: SHOAL_E_HUB_NAME (a malformed app or channel name: 400),
 * SHOAL_E_HUB_TOO_MANY_CHANNELS (400). */
SHOAL_MUST_CHECK int shoal_hub_route_request(const shoal_http_request *req, shoal_hub_route *out);

/* ---- Server-Sent Events -------------------------------------------------------------------- */

/* Appends one event carrying `data`: a "data: " line for each of its lines (split at CRLF, CR or
 * LF, as EventSource joins them back with LF), then a blank line. */
void shoal_sse_encode(const char *data, size_t len, shoal_buf *out);

/* The heartbeat signalhub sends every 30 s: an SSE comment. */
#define SHOAL_SSE_HEARTBEAT ":heartbeat signal\n\n"

/* An incremental parser of an event stream (WHATWG's rules: fields data, event, id, retry;
 * comments; CRLF, CR or LF line ends; a BOM at the start ignored). */
typedef struct shoal_sse_parser shoal_sse_parser;

typedef struct shoal_sse_callbacks {
    /* An event was dispatched: its data (lines joined with LF) and type ("message" if unset). */
    void (*event)(const char *data, size_t len, const char *type, void *ud);
    /* A comment line (such as the heartbeat), without its ':'. */
    void (*comment)(const char *text, size_t len, void *ud);
    void *ud;
} shoal_sse_callbacks;

/* max_event bounds one event's data and one line (the stream fails beyond it). */
SHOAL_MUST_CHECK int shoal_sse_parser_new(shoal_sse_parser **out, const shoal_sse_callbacks *cb,
                                          size_t max_event);
void shoal_sse_parser_free(shoal_sse_parser *p);
/* Feeds bytes; callbacks run from inside. SHOAL_E_SSE_TOO_LARGE or SHOAL_E_NOMEM are sticky. */
SHOAL_MUST_CHECK int shoal_sse_feed(shoal_sse_parser *p, const char *buf, size_t len);

/* ---- Relay between hubs ------------------------------------------------------------------- */

/* Hubs behind one name share their broadcasts through a pub/sub bus (Redis): each POST a hub
 * takes goes to its own subscribers and, framed as below, to the bus; every other hub of the
 * group hands it to its subscribers of that channel. The frame, binary-safe:
 *   "shoal-relay-1 " ORIGIN " " APP "/" CHANNEL "\n" BODY
 * ORIGIN: 32 lowercase hex digits, the id of the hub that took the POST (which skips its own
 * frames when the bus hands them back); APP and CHANNEL: names as the routes allow them. */
#define SHOAL_HUB_RELAY_ORIGIN 16

typedef struct shoal_hub_relayed {
    uint8_t origin[SHOAL_HUB_RELAY_ORIGIN];
    shoal_hub_name app, channel; /* borrowed from the frame */
    const char *body;            /* borrowed from the frame */
    size_t len;
} shoal_hub_relayed;

void shoal_hub_relay_encode(const uint8_t origin[SHOAL_HUB_RELAY_ORIGIN], const shoal_hub_name *app,
                            const shoal_hub_name *channel, const void *body, size_t len,
                            shoal_buf *out);
/* Reads a frame; SHOAL_E_HUB_RELAY when it is not one (a bad tag, origin or separator), or
 * SHOAL_E_HUB_NAME when its app or channel is not a name the routes allow. */
SHOAL_MUST_CHECK int shoal_hub_relay_decode(const char *frame, size_t len, shoal_hub_relayed *out);

#endif

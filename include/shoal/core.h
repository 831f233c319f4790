/* shoal core: the error table, the allocator hook, growable buffers and logging.
 *
 * Everything here is pure except the default log sink, which writes to stderr. */
#ifndef SHOAL_CORE_H
#define SHOAL_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define SHOAL_MUST_CHECK      __attribute__((warn_unused_result))
#define SHOAL_PRINTF(fmt, va) __attribute__((format(printf, fmt, va)))
#else
#define SHOAL_MUST_CHECK
#define SHOAL_PRINTF(fmt, va)
#endif

/* ---- Errors -------------------------------------------------------------------------------
 * One table for the whole project. Every fallible function returns SHOAL_OK (0) or one of these
 * negative codes. The message is written for the person who typed the input. */
#define SHOAL_ERRNO_MAP(X)                                                                         \
    X(NOMEM, "out of memory")                                                                      \
    X(INVAL, "invalid argument")                                                                   \
    X(AGAIN, "more input is needed")                                                               \
    X(TOOLONG, "the input is too long")                                                            \
    X(ID_SIGIL, "an SSB id starts with @ (feed), % (message) or & (blob)")                         \
    X(ID_KEY, "an SSB id's key must be 44 characters of canonical base64 encoding 32 bytes")       \
    X(ID_SUFFIX, "wrong id suffix: a feed id ends in .ed25519, a message or blob id in .sha256")   \
    X(MS_EMPTY, "empty address, or an empty part between ';' or '~' separators")                   \
    X(MS_NAME, "a protocol name is a lowercase letter then lowercase letters, digits or '-'")      \
    X(MS_CHAR, "character not allowed in a multiserver address (escape ! ~ : ; as !! !~ !: !;)")   \
    X(MS_ESCAPE, "'!' must be followed by !, ~, : or ;")                                           \
    X(MS_FIELDS, "wrong number of ':' fields for this protocol")                                   \
    X(MS_SHS_KEY, "an shs key (and invite seed) must be canonical base64 of 32 bytes")             \
    X(MS_TUNNEL, "a tunnel address is tunnel:<portal feed id>:<target feed id>")                   \
    X(MS_NOT_RTC, "this multiserver address has no rtc: part, so it names no hub")                 \
    X(ADDR_NO_HOST, "the address has no host")                                                     \
    X(ADDR_HOST, "not a valid host name (letters, digits and '-' in dot-separated labels)")        \
    X(ADDR_NONASCII, "host names must be ASCII: write an international name in its xn-- form")     \
    X(ADDR_IPV4, "not a valid IPv4 address")                                                       \
    X(ADDR_IPV6, "not a valid IPv6 address")                                                       \
    X(ADDR_ONION, "an onion address's host must end in .onion")                                    \
    X(ADDR_PORT, "the port must be a number from 1 to 65535")                                      \
    X(ADDR_SCHEME, "a hub address starts with https:// (or http:// for local testing), or rtc:")   \
    X(ADDR_USERINFO, "a hub address cannot carry a user name or password")                         \
    X(ADDR_PATH, "a hub address is a host and port only, without a path")                          \
    X(ADDR_QUERY, "a hub address cannot carry a query (?...) or a fragment (#...)")                \
    X(ADDR_SPACE, "the address contains a space or a control character")                           \
    X(CONN_UNKNOWN_HUB, "no hub with that id in the table")                                        \
    X(CONN_TOO_MANY_HUBS, "the hub table is full")                                                 \
    X(CONN_CONFIG, "invalid connection policy (see shoal_conn_config in conn.h)")                  \
    X(CONN_FULL, "every slot for peers is taken (maxPeers)")                                       \
    X(CONN_ALREADY, "that peer is connected, or being connected, already")                         \
    X(STORE_IO, "the database could not be read or written")                                       \
    X(STORE_VERSION, "the database was written by a newer shoal; it was left untouched")           \
    X(HTTP_BAD_REQUEST, "malformed HTTP request")                                                  \
    X(HTTP_HEAD_TOO_LARGE, "the request's headers are too large")                                  \
    X(HTTP_VERSION, "only HTTP/1.0 and HTTP/1.1 are served")                                       \
    X(HTTP_ENCODING, "unsupported transfer coding (only chunked is)")                              \
    X(HUB_NAME, "app and channel names are 1-128 URL path characters other than '/' and ','")      \
    X(HUB_TOO_MANY_CHANNELS, "too many channels in one subscription")                              \
    X(SSE_TOO_LARGE, "an event or line of the event stream is too large")                          \
    X(HUB_LISTEN, "cannot listen on that address")                                                 \
    X(SHS_TRUNCATED, "the handshake ended before its message was complete")                        \
    X(SHS_NETWORK, "the peer's hello is for another network (wrong network key), or garbled")      \
    X(SHS_AUTH, "the client's auth did not verify: it dialled another key, or it was garbled")     \
    X(SHS_ACCEPT, "the server's accept did not verify: not the key dialled, or garbled")           \
    X(SHS_KEY, "the handshake carried an unusable key (a low-order curve point)")                  \
    X(BOXS_MAC, "a box-stream frame failed authentication (tampered, or the wrong key)")           \
    X(BOXS_LENGTH, "a box-stream header announced a body of 0 or more than 4096 bytes")            \
    X(BOXS_CLOSED, "bytes arrived after the box stream's goodbye")                                 \
    X(BOXS_CUT, "the box stream ended without a goodbye")                                          \
    X(RPC_TOO_LARGE, "an RPC packet's body is larger than the session accepts")                    \
    X(RPC_TYPE, "an RPC packet's body type is 3, which the protocol does not define")              \
    X(RPC_CLOSED, "the RPC session has ended (goodbye, or an error)")                              \
    X(RPC_NO_CALL, "no open call or stream with that id, or our half of it has ended")             \
    X(RPC_TOO_MANY_CALLS, "too many open calls and streams in this RPC session")                   \
    X(LINK_SILENT, "the peer stayed silent, even when asked something")                            \
    X(LINK_BACKLOG, "the peer does not read what it asks for (too much waits to be written)")      \
    X(IDENTITY_FORMAT, "not an SSB secret file (JSON with curve, public, private and id)")         \
    X(IDENTITY_MISMATCH, "the secret file's private key, public key and id do not match")          \
    X(IDENTITY_IO, "the secret file could not be read or written")                                 \
    X(NET_CONNECT, "could not connect to the peer")                                                \
    X(NET_IO, "the connection broke (read or write failed, or no goodbye in time)")                \
    X(NET_TIMEOUT, "the handshake did not complete in time")                                       \
    X(NET_LISTEN, "cannot listen for SSB connections on that address")                             \
    X(SDP_SYNTAX, "malformed SDP (lines are x=value, the first v=0)")                              \
    X(SDP_NO_DATA, "the SDP has no data-channel section (m=application ... webrtc-datachannel)")   \
    X(SDP_ICE, "the SDP's ice-ufrag or ice-pwd is missing or malformed")                           \
    X(SDP_FINGERPRINT, "the SDP has no well-formed sha-256 fingerprint")                           \
    X(SDP_SETUP, "the SDP's setup role is not actpass, active or passive")                         \
    X(DCEP, "malformed data-channel establishment message")                                        \
    X(RTC_INIT, "the WebRTC stack could not start (OpenSSL or usrsctp)")                           \
    X(RTC_STATE, "not now: the peer connection is not in a state for that")                        \
    X(RTC_CANDIDATE, "an ICE candidate that cannot be read")                                       \
    X(RTC_ICE_FAILED, "ICE found no working path to the peer")                                     \
    X(RTC_DTLS, "the DTLS handshake failed")                                                       \
    X(RTC_FINGERPRINT, "the peer's DTLS certificate does not match the fingerprint it signalled")  \
    X(RTC_SCTP, "the SCTP association failed or was aborted")                                      \
    X(RTC_TOO_LARGE, "the message is larger than the peer accepts")                                \
    X(RTC_BUFFER_FULL, "the send buffer is full: wait for it to drain")                            \
    X(SWARM_FORMAT, "not a swarm message (an announce, a leave or a signal)")                      \
    X(SWARM_SIGNATURE, "the announce's signature does not verify for its channel's key")           \
    X(SWARM_STALE, "the message's time is too far from ours (a replay, or a wrong clock)")         \
    X(SWARM_UNSIGNED, "an unsigned announce or signal, taken only in compatibility mode")          \
    X(SWARM_SEAL, "a sealed signal that does not open with its sender's key and ours")             \
    X(SWARM_UNSEALED, "a signal from a shoal peer that is not sealed to us")                       \
    X(SWARM_REPLAY, "a sealed signal taken before (a replay)")                                     \
    X(JSON, "malformed JSON")                                                                      \
    X(MSG_INVALID, "the message breaks SSB's rules (the reason says which)")                       \
    X(STORE_MISSING, "no such message in the store")                                               \
    X(CONFIG, "the configuration is not valid (the message says where)")                           \
    X(NETWORK_RESET, "closed at once: the network changed or the system woke")                     \
    X(HUB_RELAY, "a broadcast relayed from another hub is malformed")                              \
    X(ICE_URL, "not a STUN or TURN URL (stun:host[:port], turn:host[:port][?transport=udp|tcp], "  \
               "turns:host[:port])")                                                               \
    X(ICE_FORMAT, "not an ICE servers answer ({\"iceServers\":[{\"urls\":...}],\"ttl\":...})")     \
    X(ICE_AUTH, "the request is not signed by a feed key for this hub (Authorization: "            \
                "SSB-Ed25519)")                                                                    \
    X(RTC_GONE, "the peer stopped answering: nothing came from it for 30 s (RFC 7675)")            \
    X(CONN_TIMEOUT, "the connection attempt did not complete in time")                             \
    X(MDNS, "not a multicast DNS message that can be read")                                        \
    X(EBT_FULL, "replication holds as many feeds as it may")

enum shoal__err_index {
    SHOAL__ERR_INDEX_NONE,
#define SHOAL__ERR_INDEX(name, msg) SHOAL__ERR_INDEX_##name,
    SHOAL_ERRNO_MAP(SHOAL__ERR_INDEX)
#undef SHOAL__ERR_INDEX
        SHOAL__ERR_COUNT
};

/* SHOAL_OK == 0; the codes are negative: SHOAL_E_NOMEM == -1, SHOAL_E_INVAL == -2, ... */
enum shoal_err {
    SHOAL_OK = 0,
#define SHOAL__ERR_VALUE(name, msg) SHOAL_E_##name = -(int)SHOAL__ERR_INDEX_##name,
    SHOAL_ERRNO_MAP(SHOAL__ERR_VALUE)
#undef SHOAL__ERR_VALUE
};

/* The message for `err` ("ok" for SHOAL_OK, "unknown error" outside the table). Never NULL. */
const char *shoal_strerror(int err);
/* The code's name without its prefix ("ADDR_PORT"), for machine-readable output. Never NULL. */
const char *shoal_errname(int err);

/* ---- Time ---------------------------------------------------------------------------------
 * Milliseconds on a monotonic clock the caller chooses. Cores never read a clock: "now" is an
 * argument. */
typedef int64_t shoal_time;

#define SHOAL_MS(n)      ((shoal_time)(n))
#define SHOAL_SECONDS(n) ((shoal_time)(n)*1000)
#define SHOAL_MINUTES(n) ((shoal_time)(n)*60000)
#define SHOAL_HOURS(n)   ((shoal_time)(n)*3600000)
#define SHOAL_TIME_NEVER INT64_MAX

/* ---- Allocator hook -----------------------------------------------------------------------
 * Every core allocates through these, so a test can make the i-th allocation fail. */
typedef struct shoal_allocator {
    void *(*realloc_fn)(void *ptr, size_t size, void *ud); /* malloc when ptr is NULL */
    void (*free_fn)(void *ptr, void *ud);
    void *ud;
} shoal_allocator;

/* Installs `a` process-wide (borrowed until replaced); NULL restores libc's allocator.
 * Not thread-safe: call it before any thread allocates. */
void shoal_set_allocator(const shoal_allocator *a);
/* NULL for a zero size or on failure. */
void *shoal_malloc(size_t size);
/* Zeroed; NULL when n * size overflows or on failure. */
void *shoal_calloc(size_t n, size_t size);
/* On failure NULL is returned and `ptr` is left intact. */
void *shoal_realloc(void *ptr, size_t size);
void shoal_free(void *ptr);
/* A copy of s[0..len) with a terminating NUL, or NULL. */
char *shoal_strndup(const char *s, size_t len);

/* ---- Growable byte buffer -----------------------------------------------------------------
 * Appends never fail loudly: the first failed allocation makes the buffer sticky-failed, later
 * appends do nothing, and shoal_buf_status() reports SHOAL_E_NOMEM. So a formatter can write a
 * whole line and check once. The contents stay NUL-terminated whenever len > 0. */
typedef struct shoal_buf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    int status; /* SHOAL_OK or the first error */
} shoal_buf;

#define SHOAL_BUF_INIT                                                                             \
    {                                                                                              \
        NULL, 0, 0, SHOAL_OK                                                                       \
    }

void shoal_buf_append(shoal_buf *b, const void *data, size_t len);
void shoal_buf_append_str(shoal_buf *b, const char *s);
void shoal_buf_append_char(shoal_buf *b, char c);
void shoal_buf_appendf(shoal_buf *b, const char *fmt, ...) SHOAL_PRINTF(2, 3);
SHOAL_MUST_CHECK int shoal_buf_status(const shoal_buf *b);
/* Empties the buffer (keeping its memory) and clears a sticky failure. */
void shoal_buf_reset(shoal_buf *b);
/* Frees the memory; the buffer is SHOAL_BUF_INIT again. */
void shoal_buf_free(shoal_buf *b);

/* Appends `len` bytes whose contents the caller then writes, and returns where they start; NULL
 * when the buffer fails (sticky). */
void *shoal_buf_extend(shoal_buf *b, size_t len);

/* ---- Small helpers for parsers --------------------------------------------------------------- */

/* The value of a hexadecimal digit (either case), or -1. */
int shoal_hex_value(int c);

/* Gathers a fixed-size piece that may arrive split: copies into dst[*have..want) as much of
 * src[0..len) as fits, advances *have, and returns the bytes taken. The piece is whole once
 * *have == want. */
size_t shoal_gather(uint8_t *dst, size_t *have, size_t want, const uint8_t *src, size_t len);

/* A duration: "250ms", "30s", "10m", "24h", "7d", or whole milliseconds ("1500"); a decimal
 * fraction is taken ("1.5s"). False for anything else, negative, or beyond 10^15 ms. */
bool shoal_parse_duration(const char *s, shoal_time *out);

/* ---- Output queue -------------------------------------------------------------------------
 * Bytes a core has produced and its shell has not yet written: appended at the back, drained
 * from the front, the memory reused. */
typedef struct shoal_outq {
    shoal_buf buf;
    size_t head; /* bytes of buf already drained */
} shoal_outq;

#define SHOAL_OUTQ_INIT                                                                            \
    {                                                                                              \
        SHOAL_BUF_INIT, 0                                                                          \
    }

/* The waiting bytes (NULL when none), borrowed until the queue next changes. */
const uint8_t *shoal_outq_peek(const shoal_outq *q, size_t *len);
/* Marks the first n waiting bytes as written. */
void shoal_outq_drain(shoal_outq *q, size_t n);
static inline size_t shoal_outq_len(const shoal_outq *q)
{
    return q->buf.len - q->head;
}

/* ---- Open-addressing tables ---------------------------------------------------------------
 * Tables of uint32 entries with linear probing, where SHOAL_SLOT_EMPTY marks a free slot and the
 * capacity is a power of two. */
#define SHOAL_SLOT_EMPTY UINT32_MAX

/* The slot an entry hashes to (its home), for the table's owner to compute. */
typedef size_t shoal_slot_home_fn(uint32_t entry, const void *ctx);

/* A table of cap empty slots (cap a power of two); NULL when out of memory. Free with
 * shoal_free. */
uint32_t *shoal_slots_new(size_t cap);

/* Puts `entry` in the first free slot from its home on (the table must have a free slot). */
void shoal_slots_insert(uint32_t *slots, size_t cap, uint32_t entry, shoal_slot_home_fn *home,
                        const void *ctx);

/* Empties slots[hole] by backward-shift deletion, so every probe run stays unbroken without
 * tombstones. */
void shoal_slots_remove(uint32_t *slots, size_t cap, size_t hole, shoal_slot_home_fn *home,
                        const void *ctx);

/* ---- Logging ------------------------------------------------------------------------------
 * Leveled; to stderr unless a sink is installed. Cores never log: they return errors, and the
 * shell that called them decides what to say. */
typedef enum shoal_log_level {
    SHOAL_LOG_ERROR,
    SHOAL_LOG_WARN,
    SHOAL_LOG_INFO,
    SHOAL_LOG_DEBUG,
} shoal_log_level;

typedef void shoal_log_fn(shoal_log_level level, const char *module, const char *msg, void *ud);

/* Messages above `level` are dropped. The default is SHOAL_LOG_WARN. */
void shoal_log_set_level(shoal_log_level level);
shoal_log_level shoal_log_get_level(void);
/* "error", "warn", "info" or "debug" (any case) into *out. SHOAL_E_INVAL for anything else. */
SHOAL_MUST_CHECK int shoal_log_level_parse(const char *s, shoal_log_level *out);
const char *shoal_log_level_name(shoal_log_level level);
/* Installs a sink (borrowed); NULL restores the stderr sink. */
void shoal_log_set_sink(shoal_log_fn *fn, void *ud);
void shoal_log(shoal_log_level level, const char *module, const char *fmt, ...) SHOAL_PRINTF(3, 4);

#endif

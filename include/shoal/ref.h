/* shoal ref: SSB identifiers, multiserver addresses and hub addresses.
 *
 * All parsers here are pure: they take a pointer and a length (no NUL needed), read nothing past
 * the length, and on failure return a negative SHOAL_E_* code and, when `err_at` is not NULL,
 * the byte offset where the input went wrong. */
#ifndef SHOAL_REF_H
#define SHOAL_REF_H

#include "shoal/core.h"

/* ---- Identifiers --------------------------------------------------------------------------
 * `@<base64 32 bytes>.ed25519` (feed), `%<…>.sha256` (message), `&<…>.sha256` (blob). The base64
 * must be canonical: standard alphabet, '=' padding, unused low bits zero. */
typedef enum shoal_ref_kind {
    SHOAL_REF_FEED,
    SHOAL_REF_MSG,
    SHOAL_REF_BLOB,
} shoal_ref_kind;

typedef struct shoal_ref {
    shoal_ref_kind kind;
    uint8_t key[32];
} shoal_ref;

/* Longest formatted id (a feed id: 1 + 44 + 8) plus its NUL. */
#define SHOAL_REF_STRSIZE 54
/* A 32-byte key in canonical base64, plus its NUL. */
#define SHOAL_KEY_B64SIZE 45

SHOAL_MUST_CHECK int shoal_ref_parse(shoal_ref *out, const char *s, size_t len, size_t *err_at);
/* Writes the canonical id into `out` and returns its length. */
size_t shoal_ref_format(const shoal_ref *ref, char out[SHOAL_REF_STRSIZE]);
/* "feed", "msg" or "blob". */
const char *shoal_ref_kind_name(shoal_ref_kind kind);

/* Canonical base64 of exactly 32 bytes (44 characters). */
SHOAL_MUST_CHECK int shoal_key_from_b64(uint8_t key[32], const char *s, size_t len);
void shoal_key_to_b64(const uint8_t key[32], char out[SHOAL_KEY_B64SIZE]);

/* ---- Hosts --------------------------------------------------------------------------------
 * A DNS name (ASCII, dot-separated labels of letters, digits and inner '-', stored lowercase,
 * one trailing dot dropped), a dotted-quad IPv4 address, or an IPv6 address (stored in its
 * RFC 5952 text form, without brackets). */
typedef enum shoal_host_kind {
    SHOAL_HOST_NAME,
    SHOAL_HOST_IPV4,
    SHOAL_HOST_IPV6,
} shoal_host_kind;

typedef struct shoal_host {
    shoal_host_kind kind;
    char name[254]; /* NUL-terminated canonical text */
} shoal_host;

/* `s` is the bare host (IPv6 without brackets). */
SHOAL_MUST_CHECK int shoal_host_parse(shoal_host *out, const char *s, size_t len, size_t *err_at);
/* `host[:port]` as in a URL: an IPv6 host must be bracketed, the port may be absent (then
 * *port is 0). No user info ('@'): SHOAL_E_ADDR_USERINFO. */
SHOAL_MUST_CHECK int shoal_authority_parse(const char *s, size_t len, shoal_host *host,
                                           uint16_t *port, size_t *err_at);
/* "name", "ipv4" or "ipv6". */
const char *shoal_host_kind_name(shoal_host_kind kind);

/* ---- Multiserver addresses ----------------------------------------------------------------
 * The grammar of multiserver-address 1.0: alternatives joined by ';', each a list of protocols
 * joined by '~', each protocol `name(:data)*` with name [a-z][a-z0-9-]+ and data bytes 0x22-0x39
 * and 0x3C-0x7D, where `!!`, `!~`, `!:`, `!;` stand for the escaped byte. Any protocol, known or
 * not, is kept; formatting re-escapes, so format(parse(x)) == x for every valid x. */
typedef struct shoal_ms_proto {
    const char *name;          /* NUL-terminated */
    size_t nfields;            /* 0 for a bare name such as `gzip` */
    const char *const *fields; /* unescaped, NUL-terminated */
} shoal_ms_proto;

typedef struct shoal_ms_addr {
    size_t nprotos; /* >= 1; the transport first, then its transforms */
    const shoal_ms_proto *protos;
} shoal_ms_addr;

/* One parse result, in one allocation: free it with shoal_ms_free. */
typedef struct shoal_ms {
    size_t naddrs; /* >= 1 */
    const shoal_ms_addr *addrs;
} shoal_ms;

/* On success *out is a new shoal_ms (owned by the caller). Grammar errors only: typed checks of
 * known protocols are shoal_ms_proto_decode's job. */
SHOAL_MUST_CHECK int shoal_ms_parse(shoal_ms **out, const char *s, size_t len, size_t *err_at);
void shoal_ms_free(shoal_ms *ms);
/* Appends the canonical text; check shoal_buf_status. */
void shoal_ms_format(const shoal_ms *ms, shoal_buf *out);
/* True when the alternative has a transform (at least one '~'), as every SSB address must. */
bool shoal_ms_addr_is_ssb(const shoal_ms_addr *addr);

typedef enum shoal_ms_kind {
    SHOAL_MS_OTHER, /* a protocol shoal does not know; its fields are kept as they are */
    SHOAL_MS_NET,
    SHOAL_MS_ONION,
    SHOAL_MS_WS,
    SHOAL_MS_WSS,
    SHOAL_MS_RTC,
    SHOAL_MS_TUNNEL,
    SHOAL_MS_SHS,
} shoal_ms_kind;

/* A protocol's fields, checked and typed.
 * net:<host>:<port>, onion:<host>.onion:<port>: host and port; an IPv6 host is written
 *   unbracketed, the port being the last field.
 * rtc:<hub host>:<port>[:http]: the hub a peer is reached through; https unless the last field
 *   is `http` (shoal's own marker for plain-HTTP test hubs). The old `rtc://host:port` is read.
 * ws://host[:port][/path], wss://…: host, port (default 80 / 443) and path.
 * tunnel:<portal feed id>:<target feed id>.
 * shs:<base64 key>[:<base64 invite seed>]. */
typedef struct shoal_ms_info {
    shoal_ms_kind kind;
    shoal_host host;  /* net, onion, rtc, ws, wss */
    uint16_t port;    /* net, onion, rtc, ws, wss */
    bool tls;         /* rtc: the hub speaks https; wss */
    const char *path; /* ws, wss: borrowed from the protocol, "" when absent */
    size_t path_len;
    shoal_ref portal, target; /* tunnel */
    uint8_t key[32];          /* shs */
    bool has_seed;            /* shs */
    uint8_t seed[32];         /* shs */
} shoal_ms_info;

/* Protocol name to kind; SHOAL_MS_OTHER for unknown names. */
shoal_ms_kind shoal_ms_kind_of(const char *name);
/* Checks a known protocol's fields into *out (borrowing from `p`); for SHOAL_MS_OTHER it only
 * sets out->kind. On error, *err_field (when not NULL) is the index of the offending field. */
SHOAL_MUST_CHECK int shoal_ms_proto_decode(const shoal_ms_proto *p, shoal_ms_info *out,
                                           size_t *err_field);

/* ---- Hub addresses ------------------------------------------------------------------------
 * A user may write a hub as `https://hub.example.com`, `hub.example.com`, `hub.example.com:443`,
 * `http://127.0.0.1:9000/`, `[::1]:9000`, `rtc:hub.example.com:443~shs:…` or `rtc://host:port`.
 * shoal keeps one canonical form, the hub's origin: scheme, lowercase host and the port unless it
 * is the scheme's default (`https://hub.example.com`, `http://127.0.0.1:9000`,
 * `https://[2001:db8::1]:8443`). Leading and trailing white space is ignored.
 *
 * Rejected, each with its own error: schemes other than http and https (SHOAL_E_ADDR_SCHEME),
 * user info (ADDR_USERINFO), any path but "/" (ADDR_PATH), queries and fragments (ADDR_QUERY),
 * non-ASCII hosts (ADDR_NONASCII; percent-encoded ones too), malformed names or IP addresses
 * (ADDR_HOST, ADDR_IPV4, ADDR_IPV6), ports outside 1-65535 (ADDR_PORT), inner spaces or control
 * bytes (ADDR_SPACE), and anything over 2048 bytes (TOOLONG). */
typedef struct shoal_hub_addr {
    bool tls; /* https */
    shoal_host host;
    uint16_t port; /* always set: 443 or 80 when the input gave none */
} shoal_hub_addr;

#define SHOAL_HUB_ADDR_MAXLEN 2048

SHOAL_MUST_CHECK int shoal_hub_addr_parse(shoal_hub_addr *out, const char *s, size_t len,
                                          size_t *err_at);
/* The hub named by a decoded rtc protocol. */
void shoal_hub_addr_from_rtc(shoal_hub_addr *out, const shoal_ms_info *rtc);
/* Appends the canonical form, which is also the base URL requests are made under. */
void shoal_hub_addr_format(const shoal_hub_addr *hub, shoal_buf *out);
/* Appends the rtc: multiserver protocol naming this hub (`rtc:hub.example.com:443`,
 * `rtc:127.0.0.1:9000:http`); a peer address adds `~shs:<key>`. */
void shoal_hub_addr_format_rtc(const shoal_hub_addr *hub, shoal_buf *out);
bool shoal_hub_addr_equal(const shoal_hub_addr *a, const shoal_hub_addr *b);

#endif

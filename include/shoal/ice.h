/* shoal ice: the STUN and TURN servers WebRTC gathers candidates from (pure).
 *
 * Servers are named by their URLs (RFC 7064, RFC 7065), the way WebRTC's RTCIceServer names them:
 *   stun:<host>[:<port>]                          STUN over UDP (port 3478)
 *   turn:<host>[:<port>][?transport=udp|tcp]      TURN over UDP (the default) or TCP (port 3478)
 *   turns:<host>[:<port>][?transport=tcp]         TURN over TLS (port 5349)
 * with the host a DNS name, an IPv4 address or a bracketed IPv6 address. (stuns:, STUN over TLS,
 * is not: libnice does not speak it.)
 *
 * A hub may hand out ICE servers: `GET /v1/ice` with a signed request (shoal_ice_auth_sign)
 * answers {"iceServers":[RTCIceServer…],"ttl":<seconds>}, where a TURN server's credentials are
 * made for the asking feed by coturn's REST scheme (`use-auth-secret`): the user name is
 * "<unix time it expires>:<feed id>" and the password base64(HMAC-SHA1(secret, user name)), so
 * the TURN server checks them with the secret it shares with the hub, and no fixed password is
 * ever given out. */
#ifndef SHOAL_ICE_H
#define SHOAL_ICE_H

#include "shoal/ref.h"
#include "shoal/shs.h"

#define SHOAL_ICE_MAX_SERVERS 8
#define SHOAL_ICE_PORT        3478 /* stun:, turn: */
#define SHOAL_ICE_TLS_PORT    5349 /* turns: */
#define SHOAL_ICE_NAME_SIZE   256  /* a TURN user name or password, NUL included */
#define SHOAL_ICE_TTL_DEFAULT 3600 /* an answer that does not say how long it holds */
#define SHOAL_ICE_AUTH_WINDOW 300  /* seconds a signed request stays good, either way */

typedef enum shoal_ice_scheme {
    SHOAL_ICE_STUN,
    SHOAL_ICE_TURN,
    SHOAL_ICE_TURNS,
} shoal_ice_scheme;

typedef struct shoal_ice_server {
    shoal_ice_scheme scheme;
    bool tcp; /* turn: over TCP (turns: always is; stun: never) */
    shoal_host host;
    uint16_t port;
    char username[SHOAL_ICE_NAME_SIZE], credential[SHOAL_ICE_NAME_SIZE]; /* TURN only */
} shoal_ice_server;

typedef struct shoal_ice_servers {
    size_t n;
    shoal_ice_server s[SHOAL_ICE_MAX_SERVERS];
} shoal_ice_servers;

/* Reads a STUN or TURN URL into *out (credentials cleared). SHOAL_E_ICE_URL for a scheme,
 * query or shape it is not, else the host's or port's own error (SHOAL_E_ADDR_*). */
SHOAL_MUST_CHECK int shoal_ice_url_parse(shoal_ice_server *out, const char *s, size_t len);
/* Its URL, canonical: lowercase scheme and host, the port always, "?transport=tcp" for TURN over
 * TCP only. */
void shoal_ice_url_format(const shoal_ice_server *server, shoal_buf *out);
/* "udp", "tcp" or "tls": how a relay is reached. */
const char *shoal_ice_transport_name(const shoal_ice_server *server);
/* Whether two entries name the same server with the same credentials. */
bool shoal_ice_server_equal(const shoal_ice_server *a, const shoal_ice_server *b);
/* Whether the server is named by an address no remote party should send us to: loopback,
 * unspecified, link-local or multicast, or a localhost name (RFC 6761); other names are not
 * judged (they are looked up later). */
bool shoal_ice_server_is_local(const shoal_ice_server *server);
/* Appends a server unless the list holds it already; false when the list is full. */
bool shoal_ice_servers_add(shoal_ice_servers *list, const shoal_ice_server *server);

/* Reads a hub's answer to GET /v1/ice: every URL of every entry becomes a server of its own
 * (with the entry's username and credential for TURN), in order, up to SHOAL_ICE_MAX_SERVERS.
 * Entries shoal cannot use (a stuns: URL, a TURN server without credentials, a name too long)
 * are skipped; *ttl_s is the answer's "ttl" (seconds, 60 at least), SHOAL_ICE_TTL_DEFAULT when
 * it says none. SHOAL_E_JSON for malformed JSON, SHOAL_E_ICE_FORMAT for another shape. */
SHOAL_MUST_CHECK int shoal_ice_servers_parse(shoal_ice_servers *out, uint32_t *ttl_s,
                                             const char *json, size_t len);
/* Appends such an answer. SHOAL_E_NOMEM. */
SHOAL_MUST_CHECK int shoal_ice_servers_write(const shoal_ice_servers *list, uint32_t ttl_s,
                                             shoal_buf *out);

/* Fills a TURN server's username and credential by coturn's REST scheme, for `who` (a feed id),
 * good until `expires` (unix seconds). */
void shoal_ice_rest_credentials(shoal_ice_server *turn, const uint8_t *secret, size_t secret_len,
                                const char *who, int64_t expires);

/* The signed request for a hub's ICE servers: the value of its Authorization header,
 *   "SSB-Ed25519 <feed id> <unix seconds> <base64 signature>"
 * where the signature (the feed's key) covers "shoal-ice:<host>:<unix seconds>" and `host` is the
 * Host header the request carries (the hub's host, and ":port" unless it is the scheme's
 * default), so a signed request is good for one hub and a few minutes only. */
#define SHOAL_ICE_AUTH_SIZE 192
void shoal_ice_auth_sign(const shoal_keypair *keys, const char *host, int64_t now_s,
                         char out[SHOAL_ICE_AUTH_SIZE]);
/* Checks one: SHOAL_OK and the signer's key in `feed`; SHOAL_E_ICE_AUTH for a header that is
 * not one or does not verify for `host`; SHOAL_E_SWARM_STALE when its time is more than
 * SHOAL_ICE_AUTH_WINDOW from now. */
SHOAL_MUST_CHECK int shoal_ice_auth_check(const char *header, size_t len, const char *host,
                                          int64_t now_s, uint8_t feed[32]);

#endif

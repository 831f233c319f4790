/* shoal shs: SSB's secret handshake (SHS v1), as a pure state machine.
 *
 * How this works. Four messages prove to each side that the other holds the long-term ed25519
 * key it claims, and yield the keys of the box stream that follows:
 *
 *     client                                   server
 *       hello   64 B  hmac_K(a) ‖ a       ──▶    (K: the network key, a, b: ephemeral keys)
 *               64 B  hmac_K(b) ‖ b       ◀──   hello
 *       auth   112 B  box(sig_A ‖ A)      ──▶    (A, B: the long-term public keys)
 *               80 B  box(sig_B)          ◀──   accept
 *
 * The machine never touches a socket: shoal_shs_start() gives the first message to send (the
 * client's hello; nothing for the server), shoal_shs_expect() says how many bytes to read next,
 * and shoal_shs_input() takes exactly that many and gives the reply to send. When
 * shoal_shs_expect() returns 0 the handshake is complete and shoal_shs_take_outcome() hands out the
 * box-stream keys and the remote identity. The first error is kept; every later call returns it
 * (BearSSL's rule). Every secret in the state is wiped by shoal_shs_wipe(), by a failure, and
 * by shoal_shs_take_outcome(). */
#ifndef SHOAL_SHS_H
#define SHOAL_SHS_H

#include "shoal/core.h"

#define SHOAL_SHS_HELLO_SIZE  64
#define SHOAL_SHS_AUTH_SIZE   112
#define SHOAL_SHS_ACCEPT_SIZE 80
/* The largest message either side sends or reads. */
#define SHOAL_SHS_MAX_MESSAGE SHOAL_SHS_AUTH_SIZE

/* The main SSB network's key, 1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s= in base64. */
extern const uint8_t shoal_shs_main_network[32];

/* A long-term identity: an ed25519 key pair in libsodium's layout (sec = seed ‖ pub). */
typedef struct shoal_keypair {
    uint8_t pub[32];
    uint8_t sec[64];
} shoal_keypair;

/* A fresh identity from libsodium's random generator. */
void shoal_keypair_generate(shoal_keypair *out);
/* The identity whose 32-byte seed is `seed` (deterministic, for tests). */
void shoal_keypair_from_seed(shoal_keypair *out, const uint8_t seed[32]);

/* What a completed handshake yields: the box-stream keys for each direction and who the other
 * side is. */
typedef struct shoal_shs_outcome {
    uint8_t encrypt_key[32];
    uint8_t encrypt_nonce[24];
    uint8_t decrypt_key[32];
    uint8_t decrypt_nonce[24];
    uint8_t remote_pub[32]; /* the other side's long-term ed25519 key */
} shoal_shs_outcome;

/* The curve25519 forms of ed25519 public keys met before. Converting a peer's key costs a
 * handshake about a fifth of its time (libsodium checks the point's subgroup), so a peer that
 * reconnects, as SSB peers do all day, costs less the second time. Direct-mapped and of fixed
 * size; owned by the caller, shared by the handshakes of one thread. Zero it to start. */
#define SHOAL_SHS_KEYCACHE_SLOTS 256
typedef struct shoal_shs_keycache {
    struct {
        uint8_t ed[32], curve[32];
        bool used;
    } slot[SHOAL_SHS_KEYCACHE_SLOTS];
} shoal_shs_keycache;

typedef struct shoal_shs {
    int step; /* private: where the exchange is */
    int error;
    bool is_client;
    uint8_t network[32];
    uint8_t local_pub[32];
    uint8_t local_sec[64];
    uint8_t remote_pub[32];
    uint8_t eph_pub[32], eph_sec[32];
    uint8_t remote_eph_pub[32];
    uint8_t local_hmac[32], remote_hmac[32];
    uint8_t ab[32], aB[32], Ab[32]; /* the shared secrets, named as in the protocol guide */
    uint8_t sig_a[64];
    shoal_shs_keycache *cache; /* borrowed; NULL for none */
} shoal_shs;

/* Prepares the client side of a handshake with the server whose long-term key is `server_pub`.
 * `network` is the network key (shoal_shs_main_network for SSB's main network); `local` is our
 * identity (copied). `eph_sec` is the ephemeral curve25519 secret key to use, or NULL for a
 * fresh random one (tests inject one to reproduce a known run). All pointers are borrowed for
 * the call. */
void shoal_shs_client_init(shoal_shs *shs, const uint8_t network[32], const shoal_keypair *local,
                           const uint8_t server_pub[32], const uint8_t *eph_sec);
/* Prepares the server side: any client that knows the network key and our public key may
 * complete the handshake; its identity is in the outcome. */
void shoal_shs_server_init(shoal_shs *shs, const uint8_t network[32], const shoal_keypair *local,
                           const uint8_t *eph_sec);

/* Lets the handshake use (and fill) `cache`, borrowed until it completes. Call after init. */
void shoal_shs_use_cache(shoal_shs *shs, shoal_shs_keycache *cache);

/* Writes the first message to send into out[0..SHOAL_SHS_MAX_MESSAGE) and its size into
 * *out_len: the client's 64-byte hello, or nothing (0) for the server. Call once, first. */
SHOAL_MUST_CHECK int shoal_shs_start(shoal_shs *shs, uint8_t *out, size_t *out_len);

/* How many bytes the handshake must read next (64, 112 or 80), or 0 once it is complete or has
 * failed. */
size_t shoal_shs_expect(const shoal_shs *shs);

/* Takes the message just read (exactly shoal_shs_expect() bytes) and writes the reply to send
 * into out[0..SHOAL_SHS_MAX_MESSAGE), its size into *out_len (0 when there is none). Errors:
 *   SHOAL_E_SHS_TRUNCATED  len is not the expected size (the stream ended early);
 *   SHOAL_E_SHS_NETWORK    the hello's HMAC does not verify: another network, or garbled;
 *   SHOAL_E_SHS_AUTH       (server) the client's auth does not open or its signature fails:
 *                          it dialled another key, or the message was garbled;
 *   SHOAL_E_SHS_ACCEPT     (client) the server's accept does not verify: the server is not
 *                          the key dialled, or the message was garbled;
 *   SHOAL_E_SHS_KEY        a key in the message is unusable (a low-order curve point);
 *   SHOAL_E_INVAL          called out of turn. */
SHOAL_MUST_CHECK int shoal_shs_input(shoal_shs *shs, const uint8_t *msg, size_t len, uint8_t *out,
                                     size_t *out_len);

/* After a completed handshake, copies its outcome into *out and wipes the state. SHOAL_E_INVAL
 * if the handshake is not complete (or the outcome was already taken), else its error. */
SHOAL_MUST_CHECK int shoal_shs_take_outcome(shoal_shs *shs, shoal_shs_outcome *out);

/* Wipes every secret in the state (call it when abandoning a handshake). */
void shoal_shs_wipe(shoal_shs *shs);

#endif

/* shoal swarm: the messages peers exchange through signal hubs, in webrtc-swarm's shapes.
 *
 * Every peer subscribes to the channel `all` and to its own channel, the URL-safe base64 of its
 * feed key (so a channel names an identity, which the secret handshake later proves). On `all`
 * it announces {"type":"connect","from":<channel>} — webrtc-swarm's message — and on leaving
 * {"type":"leave","from":<channel>}; shoal adds "feed", "ts" (ms since 1970) and "sig", an
 * ed25519 signature of `shoal-swarm:<app>:<type>:<channel>:<ts>`, so no one can announce for a
 * key they do not hold, and an old announce replayed is refused. Negotiation signals go to the
 * other's channel as {"from":<channel>,"signal":<simple-peer's signal>}, with shoal's "session"
 * naming the negotiation they belong to, sealed to the recipient between shoal peers (see
 * below); a shoal peer with every slot taken answers an offer with the signal {"type":"busy"}
 * for its session. Plain webrtc-swarm peers (no signature, nothing sealed) are accepted only in
 * compatibility mode. All pure: parse and write. */
#ifndef SHOAL_SWARM_H
#define SHOAL_SWARM_H

#include "shoal/ref.h"
#include "shoal/shs.h"

#include <jansson.h>

#define SHOAL_SWARM_CHANNEL_SIZE 44 /* 43 characters and a NUL */
#define SHOAL_SWARM_MAX_FROM     64
#define SHOAL_SWARM_SESSION_SIZE 17 /* 16 hex digits and a NUL */
/* How far an announce's time may be from ours (clocks differ; replays are refused by the
 * caller, which remembers the newest time seen per feed). */
#define SHOAL_SWARM_WINDOW_MS 120000

/* A feed's channel name, and back (SHOAL_E_SWARM_FORMAT if it names no key). */
void shoal_swarm_channel(const uint8_t feed[32], char out[SHOAL_SWARM_CHANNEL_SIZE]);
SHOAL_MUST_CHECK int shoal_swarm_channel_feed(const char *channel, uint8_t feed[32]);

typedef enum shoal_swarm_kind {
    SHOAL_SWARM_ANNOUNCE,
    SHOAL_SWARM_LEAVE,
    SHOAL_SWARM_SIGNAL,
} shoal_swarm_kind;

typedef struct shoal_swarm_msg {
    shoal_swarm_kind kind;
    char from[SHOAL_SWARM_MAX_FROM + 1];
    bool has_feed; /* false only for a plain webrtc-swarm peer (compatibility mode) */
    uint8_t feed[32];
    int64_t ts;                             /* ANNOUNCE, LEAVE */
    char session[SHOAL_SWARM_SESSION_SIZE]; /* SIGNAL; "" from plain peers */
    json_t *signal;                         /* SIGNAL: owned; shoal_swarm_msg_clear frees it */
} shoal_swarm_msg;

/* Reads one hub message for `app` at time `now_ms`. Errors: SHOAL_E_SWARM_FORMAT (not one of
 * the shapes above), SHOAL_E_SWARM_SIGNATURE (a signature that does not verify, or a channel
 * that is not the signer's), SHOAL_E_SWARM_STALE (a time outside the window),
 * SHOAL_E_SWARM_UNSIGNED (a plain announce outside compatibility mode). */
SHOAL_MUST_CHECK int shoal_swarm_parse(const char *app, const char *data, size_t len,
                                       int64_t now_ms, bool compat, shoal_swarm_msg *out);
void shoal_swarm_msg_clear(shoal_swarm_msg *msg);

/* Appends our signed announce (leave false) or leave. */
void shoal_swarm_write_presence(const shoal_keypair *keys, const char *app, bool leave,
                                int64_t now_ms, shoal_buf *out);
/* Appends a signal for another peer's channel. */
void shoal_swarm_write_signal(const char *from, const char *session, const json_t *signal,
                              shoal_buf *out);

/* ---- Sealed signals --------------------------------------------------------------------------
 * Between shoal peers every signal (offer, answer, candidate, busy) is sealed to its recipient:
 * the hub carries {"from":<channel>,"sealed":<base64>}, where sealed is a 24-byte nonce and
 * crypto_box (X25519 from both feed keys, XSalsa20-Poly1305) of {"to":<recipient's channel>,
 * "ts":<ms since 1970>,"msg":<the signal as shoal_swarm_write_signal writes it>}. Only the
 * recipient can read it (no addresses, no fingerprints for the hub or an eavesdropper), only the
 * holder of the sender's key can have made it (a forged "busy" or offer does not open), it names
 * its recipient and its negotiation's session, and its time and nonce let the recipient refuse
 * a replay (shoal_swarm_replay). Plain webrtc-swarm peers' signals stay as they are. */

/* Seals `signal` (the text shoal_swarm_write_signal wrote) from `ours` to the peer whose
 * channel is `to`, and appends the message for the hub. SHOAL_E_SWARM_FORMAT when `to` names no
 * key, SHOAL_E_NOMEM. */
SHOAL_MUST_CHECK int shoal_swarm_seal(const shoal_keypair *ours, const char *to, int64_t now_ms,
                                      const char *signal, size_t len, shoal_buf *out);

/* Reads one hub message as shoal_swarm_parse does, opening a sealed signal addressed to `ours`
 * (its nonce goes to *nonce and its time to out->ts, for the replay check). Errors, besides
 * shoal_swarm_parse's: SHOAL_E_SWARM_SEAL (a sealed signal that does not open with the sender's
 * and our keys, or is addressed to another, or says it is from another than the outer "from"),
 * SHOAL_E_SWARM_STALE (sealed at a time outside the window), SHOAL_E_SWARM_UNSEALED (a signal
 * from a shoal key that is not sealed). Sets *sealed when the message was a sealed signal. */
SHOAL_MUST_CHECK int shoal_swarm_open(const shoal_keypair *ours, const char *app, const char *data,
                                      size_t len, int64_t now_ms, bool compat, shoal_swarm_msg *out,
                                      uint8_t nonce[24], bool *sealed);

/* The nonces of sealed signals taken, with the sealing time each carried, for as long as a
 * message of that time would open (SHOAL_SWARM_WINDOW_MS), so that none is taken twice. When
 * `cap` fresh ones are held (a flood: keys are free to make), the one sealed earliest is let go
 * and nothing sealed at or before its time is taken any more: a flood raises that floor, and a
 * signal sealed now still passes. */
typedef struct shoal_swarm_replay shoal_swarm_replay;
shoal_swarm_replay *shoal_swarm_replay_new(size_t cap); /* NULL when out of memory; cap >= 1 */
void shoal_swarm_replay_free(shoal_swarm_replay *r);
/* SHOAL_OK, and the nonce is remembered; SHOAL_E_SWARM_REPLAY (taken before, or sealed at or
 * before the floor). `ts` is the message's sealing time (shoal_swarm_open's out->ts). */
SHOAL_MUST_CHECK int shoal_swarm_replay_check(shoal_swarm_replay *r, const uint8_t nonce[24],
                                              int64_t ts, int64_t now_ms);

/* Glare: both peers offered at once. True when our offer stands (our channel sorts first);
 * the other side drops its own and answers ours. */
bool shoal_swarm_we_lead(const char *ours, const char *theirs);

#endif

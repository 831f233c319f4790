/* shoal rtc: WebRTC data channels, assembled from libnice (ICE), OpenSSL (DTLS 1.2) and
 * usrsctp (SCTP over DTLS, with DCEP to open channels), the way Janus and libdatachannel do.
 *
 * The pure parts come first: the SDP of a data-only session (what Chromium offers and accepts)
 * and the DCEP messages. The peer connection itself, an adapter on GLib's main loop, follows. */
#ifndef SHOAL_RTC_H
#define SHOAL_RTC_H

#include "shoal/core.h"

/* ---- SDP ------------------------------------------------------------------------------------
 * One data-channel section (`m=application 9 UDP/DTLS/SCTP webrtc-datachannel`, or the older
 * `DTLS/SCTP 5000` form), with its ICE credentials, DTLS fingerprint (SHA-256) and role, mid,
 * SCTP port and largest message. Attributes may sit at the session or the media level, as both
 * appear in the wild; candidates found in the SDP are kept as raw `candidate:…` strings for the
 * ICE agent to parse. */
#define SHOAL_SDP_MAX_CANDIDATES 16
#define SHOAL_SDP_MAX_TEXT       256 /* ufrag, pwd, mid, a candidate line */

typedef enum shoal_sdp_setup {
    SHOAL_SDP_ACTPASS, /* an offer: the answerer picks */
    SHOAL_SDP_ACTIVE,  /* this side is the DTLS client */
    SHOAL_SDP_PASSIVE, /* this side is the DTLS server */
} shoal_sdp_setup;

typedef struct shoal_sdp {
    char ice_ufrag[SHOAL_SDP_MAX_TEXT + 1];
    char ice_pwd[SHOAL_SDP_MAX_TEXT + 1];
    uint8_t fingerprint[32]; /* sha-256 of the DTLS certificate */
    shoal_sdp_setup setup;
    char mid[SHOAL_SDP_MAX_TEXT + 1];
    uint16_t sctp_port;
    uint32_t max_message_size; /* 0 when absent: the peer then takes 65,536 */
    size_t ncandidates;
    char candidates[SHOAL_SDP_MAX_CANDIDATES][SHOAL_SDP_MAX_TEXT + 1];
} shoal_sdp;

/* Reads an SDP text (CRLF or LF line ends). Errors, each its own: SHOAL_E_SDP_SYNTAX (not
 * `x=value` lines, or no v= line first), SHOAL_E_SDP_NO_DATA (no data-channel section),
 * SHOAL_E_SDP_ICE (ice-ufrag or ice-pwd missing or malformed), SHOAL_E_SDP_FINGERPRINT (no
 * sha-256 fingerprint, or a malformed one), SHOAL_E_SDP_SETUP (an unknown setup role). Lines
 * past SHOAL_SDP_MAX_TEXT bytes are refused as SHOAL_E_SDP_SYNTAX; candidates past the
 * sixteenth are ignored (they can still trickle). */
SHOAL_MUST_CHECK int shoal_sdp_parse(const char *text, size_t len, shoal_sdp *out);

/* Appends the SDP text for `sdp` (CRLF line ends), a session with one data-channel section and
 * its candidates. `session_id` goes into the o= line. Check shoal_buf_status. */
void shoal_sdp_write(const shoal_sdp *sdp, uint64_t session_id, shoal_buf *out);

/* ---- DCEP (RFC 8832) ------------------------------------------------------------------------ */
#define SHOAL_DCEP_OPEN     0x03
#define SHOAL_DCEP_ACK      0x02
#define SHOAL_DCEP_RELIABLE 0x00 /* channel type: reliable, ordered */

typedef struct shoal_dcep {
    uint8_t type; /* SHOAL_DCEP_OPEN or SHOAL_DCEP_ACK */
    /* OPEN only: */
    uint8_t channel_type;
    uint16_t priority;
    uint32_t reliability;
    const char *label; /* borrowed from the message; not NUL-terminated */
    uint16_t label_len;
    const char *protocol;
    uint16_t protocol_len;
} shoal_dcep;

/* Reads a DCEP message. SHOAL_E_DCEP for anything malformed or of another type. */
SHOAL_MUST_CHECK int shoal_dcep_parse(const uint8_t *msg, size_t len, shoal_dcep *out);
/* Appends an OPEN for `open` (type, label, protocol...), or the one-byte ACK. */
void shoal_dcep_write(const shoal_dcep *msg, shoal_buf *out);

/* ---- Peer connections -----------------------------------------------------------------------
 * One data channel (reliable, ordered) per peer connection. Everything runs on the thread-default
 * GMainContext at the time shoal_rtc_new is called. */
typedef struct shoal_rtc shoal_rtc;
typedef struct shoal_rtc_peer shoal_rtc_peer;

typedef struct shoal_rtc_config {
    /* Where candidates are gathered: the addresses listed (e.g. {"127.0.0.1", NULL} for tests
     * on loopback), or every interface when NULL. */
    const char *const *local_addresses;
    const char *stun_host; /* NULL: no STUN */
    uint16_t stun_port;
    const char *turn_host; /* NULL: no TURN relay */
    uint16_t turn_port;
    const char *turn_user, *turn_password;
    bool relay_only;      /* only relayed candidates (tests of the TURN path) */
    uint32_t max_message; /* largest message accepted; 0: 262,144 */
    size_t max_buffered;  /* sends beyond this are refused; 0: 16 MiB */
    size_t low_water;     /* `writable` fires when the buffer drains below it; 0: 1 MiB */
} shoal_rtc_config;

/* The process's WebRTC context: its DTLS certificate (ECDSA P-256, fresh per context) and
 * configuration (copied). SHOAL_E_RTC_INIT when OpenSSL or usrsctp cannot start. */
SHOAL_MUST_CHECK int shoal_rtc_new(const shoal_rtc_config *cfg, shoal_rtc **out);
/* Every peer must be closed first. NULL is a no-op. */
void shoal_rtc_free(shoal_rtc *rtc);
/* The SHA-256 fingerprint of the context's certificate. */
const uint8_t *shoal_rtc_fingerprint(const shoal_rtc *rtc);

typedef struct shoal_rtc_callbacks {
    /* A description to signal to the other side: our offer (initiator) or our answer. */
    void (*description)(shoal_rtc_peer *p, bool offer, const char *sdp, void *ud);
    /* A local ICE candidate to signal: `candidate:…` for the data section (mid "0", index 0). */
    void (*candidate)(shoal_rtc_peer *p, const char *candidate, void *ud);
    /* The data channel is open: send away. */
    void (*open)(shoal_rtc_peer *p, void *ud);
    /* One whole message (borrowed for the call). */
    void (*message)(shoal_rtc_peer *p, const uint8_t *data, size_t len, bool binary, void *ud);
    /* The send buffer drained below the low-water mark. */
    void (*writable)(shoal_rtc_peer *p, void *ud);
    /* The connection is over: SHOAL_OK after a clean close by either side, else why. The peer
     * is freed when this returns. */
    void (*closed)(shoal_rtc_peer *p, int err, void *ud);
} shoal_rtc_callbacks;

/* A peer connection. The initiator offers at once (its `description` fires before this returns
 * or soon after) and opens the channel labelled `label`; the other side waits for the offer.
 * Callbacks are copied. NULL when out of memory or when ICE cannot start. */
shoal_rtc_peer *shoal_rtc_peer_new(shoal_rtc *rtc, bool initiator, const char *label,
                                   const shoal_rtc_callbacks *cb, void *ud);
/* The other side's offer (we answer through `description`) or answer. Errors: SHOAL_E_SDP_*,
 * SHOAL_E_RTC_STATE (an offer to the initiator, an answer to the other side, or a second one). */
SHOAL_MUST_CHECK int shoal_rtc_peer_set_remote(shoal_rtc_peer *p, bool offer, const char *sdp,
                                               size_t len);
/* One of the other side's candidates (`candidate:…`, with or without `a=`); an empty string
 * means the end of its candidates. SHOAL_E_RTC_CANDIDATE when it cannot be read. */
SHOAL_MUST_CHECK int shoal_rtc_peer_add_candidate(shoal_rtc_peer *p, const char *candidate);
/* Sends one message on the open channel. SHOAL_E_RTC_STATE before `open` or after close,
 * SHOAL_E_RTC_TOO_LARGE past the remote's largest message, SHOAL_E_RTC_BUFFER_FULL when the
 * buffer holds max_buffered already (wait for `writable`). */
SHOAL_MUST_CHECK int shoal_rtc_peer_send(shoal_rtc_peer *p, const uint8_t *data, size_t len,
                                         bool binary);
/* Bytes accepted by shoal_rtc_peer_send and not yet handed to SCTP. */
size_t shoal_rtc_peer_buffered(const shoal_rtc_peer *p);
/* Closes cleanly (SCTP shutdown, DTLS close_notify); `closed` follows, here or later. */
void shoal_rtc_peer_close(shoal_rtc_peer *p);
/* Tears the connection down at once, saying nothing to the other side and calling no callback;
 * the peer is gone when this returns. For an owner that is going away itself. */
void shoal_rtc_peer_abandon(shoal_rtc_peer *p);

#endif

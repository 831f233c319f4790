/* shoal sdp: the two wire formats of a WebRTC data channel that shoal reads from the other
 * side, pure: the SDP of a data-only session (what Chromium offers and accepts) and the DCEP
 * messages (RFC 8832). The peer connection that speaks them is shoal/rtc.h. */
#ifndef SHOAL_SDP_H
#define SHOAL_SDP_H

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

#endif

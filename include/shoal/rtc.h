/* shoal rtc: WebRTC data channels, assembled from libnice (ICE), OpenSSL (DTLS 1.2) and
 * usrsctp (SCTP over DTLS, with DCEP to open channels), the way Janus and libdatachannel do.
 *
 * An adapter on GLib's main loop; the wire formats it reads and writes, pure, are shoal/sdp.h. */
#ifndef SHOAL_RTC_H
#define SHOAL_RTC_H

#include "shoal/ice.h"
#include "shoal/sdp.h"

/* ---- Peer connections -----------------------------------------------------------------------
 * One data channel (reliable, ordered) per peer connection. Everything runs on the thread-default
 * GMainContext at the time shoal_rtc_new is called. */
typedef struct shoal_rtc shoal_rtc;
typedef struct shoal_rtc_peer shoal_rtc_peer;

/* mDNS candidates (draft-ietf-mmusic-mdns-ice-candidates), as browsers send them: */
typedef enum shoal_rtc_mdns {
    SHOAL_RTC_MDNS_RESOLVE, /* the other side's `<uuid>.local` candidates are looked up with
                               multicast DNS on the LAN (the default) */
    SHOAL_RTC_MDNS_HIDE,    /* ... and our host addresses are signalled as such names too,
                               answered on the LAN (port 5353), never as addresses */
    SHOAL_RTC_MDNS_OFF,     /* neither: .local candidates are ignored */
} shoal_rtc_mdns;

typedef struct shoal_rtc_config {
    /* Where candidates are gathered: the addresses listed (e.g. {"127.0.0.1", NULL} for tests
     * on loopback), or every interface when NULL. */
    const char *const *local_addresses;
    /* STUN and TURN servers (copied) for every peer that names none of its own; NULL: none.
     * libnice asks one STUN server: the first listed. STUN and TURN servers over UDP or TCP
     * must be named by address (libnice 0.1.21 takes no names; the node looks them up). TURN
     * over TLS (turns:) is reached through a TLS connection of shoal's own, which looks its name
     * up and checks the server's certificate against the system's CAs (or tls_ca_file). */
    const shoal_ice_servers *ice;
    const char *tls_ca_file; /* NULL: the system's CAs; else only these (PEM) */
    bool relay_only;         /* only relayed candidates (tests of the TURN path) */
    shoal_rtc_mdns mdns;
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
    /* An ICE restart connected: the association goes on over its new path. */
    void (*restarted)(shoal_rtc_peer *p, void *ud);
} shoal_rtc_callbacks;

/* A peer connection. The initiator offers at once (its `description` fires before this returns
 * or soon after) and opens the channel labelled `label`; the other side waits for the offer.
 * `ice` (copied; NULL: the context's) are its STUN and TURN servers. Callbacks are copied. NULL
 * when out of memory or when ICE cannot start. */
shoal_rtc_peer *shoal_rtc_peer_new(shoal_rtc *rtc, bool initiator, const char *label,
                                   const shoal_ice_servers *ice, const shoal_rtc_callbacks *cb,
                                   void *ud);
/* The other side's offer (we answer through `description`) or answer. Errors: SHOAL_E_SDP_*,
 * SHOAL_E_RTC_STATE (an offer to the initiator, an answer to the other side, or a second one
 * that is not an ICE restart's, below). */
SHOAL_MUST_CHECK int shoal_rtc_peer_set_remote(shoal_rtc_peer *p, bool offer, const char *sdp,
                                               size_t len);
/* ICE restart (RFC 8445 9), for a peer whose channel is open, after a network change: a fresh
 * ICE agent gathers on the network as it is now, and its credentials go out as an offer through
 * `description` (offer true), its candidates after. Either side may offer one, whoever first
 * offered the connection; the other side's description of a restart (new ICE credentials, the
 * same certificate) is taken with shoal_rtc_peer_set_remote, and an offer answered through
 * `description`. DTLS and SCTP go on over the old path meanwhile, and move to the new one when
 * it connects (`restarted`); the old path failing meanwhile does not end the connection. A
 * restart offered or answered while one is under way replaces it (an offer of ours that the
 * other side's crosses is answered with the same agent). A restart not connected within
 * RTC_RESTART_MS (10 s) is given up, and the connection with it if its old path failed meanwhile.
 * Errors: SHOAL_E_RTC_STATE (the channel
 * is not open, or the peer closes), SHOAL_E_RTC_INIT (ICE cannot start). */
SHOAL_MUST_CHECK int shoal_rtc_peer_restart(shoal_rtc_peer *p);
/* The STUN and TURN servers (copied; NULL: the context's) a restart's agent uses from now on, as
 * TURN credentials handed out by a hub expire. */
void shoal_rtc_peer_set_ice(shoal_rtc_peer *p, const shoal_ice_servers *ice);
/* One of the other side's candidates (`candidate:…`, with or without `a=`); an empty string
 * means the end of its candidates. SHOAL_E_RTC_CANDIDATE when it cannot be read; an ICE-TCP
 * candidate (RFC 6544) is ignored: SHOAL_OK. One whose address is an mDNS name is looked up
 * (shoal_rtc_mdns) and taken when the LAN answers; the end of the candidates waits for it. While
 * an ICE restart is under way, candidates are the restart's. */
SHOAL_MUST_CHECK int shoal_rtc_peer_add_candidate(shoal_rtc_peer *p, const char *candidate);
/* Sends one message on the open channel. SHOAL_E_RTC_STATE before `open` or after close,
 * SHOAL_E_RTC_TOO_LARGE past the remote's largest message, SHOAL_E_RTC_BUFFER_FULL when the
 * buffer holds max_buffered already (wait for `writable`). */
SHOAL_MUST_CHECK int shoal_rtc_peer_send(shoal_rtc_peer *p, const uint8_t *data, size_t len,
                                         bool binary);
/* For a peer we offer to that may answer with a channel of its own and use only that: a
 * webrtc-swarm peer that was about to dial us (simple-peer's initiator, which never looks at a
 * channel it did not open) when our offer reached it, which browsers answer by an implicit
 * rollback. Until the other side says a word on our channel, what we send on it is kept (64 KB
 * with 64 bytes a message at most); if it opens a reliable channel of its own first, that one is
 * taken for ours and what we sent is sent again on it. Call it before the channel opens. */
void shoal_rtc_peer_follow_their_channel(shoal_rtc_peer *p);
/* Bytes accepted by shoal_rtc_peer_send and not yet handed to SCTP. */
size_t shoal_rtc_peer_buffered(const shoal_rtc_peer *p);
/* The path a connected peer's datagrams take: the candidate pair ICE selected. */
typedef struct shoal_rtc_path {
    const char *local_type, *remote_type; /* "host", "srflx", "prflx" or "relay" */
    const char *relay;                    /* our relay's transport ("udp", "tcp" or "tls") when
                                             local_type is "relay", else NULL */
    char local[64], remote[64];           /* "address:port" ("[v6]:port") */
    uint32_t rtt_ms;                      /* SCTP's smoothed round-trip time; 0 not known yet */
    uint64_t bytes_in, bytes_out;         /* on the path (DTLS records) since it started */
} shoal_rtc_path;
/* False until ICE has selected a pair. */
bool shoal_rtc_peer_path(const shoal_rtc_peer *p, shoal_rtc_path *out);
/* Closes cleanly (SCTP shutdown, DTLS close_notify); `closed` follows, here or later. */
void shoal_rtc_peer_close(shoal_rtc_peer *p);
/* Tears the connection down at once, saying nothing to the other side and calling no callback;
 * the peer is gone when this returns. For an owner that is going away itself. */
void shoal_rtc_peer_abandon(shoal_rtc_peer *p);

#endif

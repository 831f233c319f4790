/* The peer connection's parts, shared by the files of the rtc module: ice.c (libnice), dtls.c
 * (OpenSSL over memory BIOs), sctp.c (usrsctp over DTLS, DCEP) and peer.c (the public face).
 *
 * How this works. One packet's path in: libnice's receive callback → DTLS (SSL_read yields SCTP
 * packets) → usrsctp_conninput → usrsctp's upcall, which only schedules `sctp_process` on the
 * main loop (usrsctp holds its locks while it calls up) → whole messages → DCEP or the user.
 * Out: send queue → usrsctp_sendv → usrsctp's output callback → SSL_write → one datagram per
 * record → nice_agent_send. Failures are recorded with shoal__rtc_fail(), and the peer is torn down
 * from an idle callback, never from inside usrsctp, libnice or OpenSSL. A reference is held by
 * every entry point from GLib, so a peer that fails mid-call is freed only when the call is
 * over. */
#ifndef SHOAL_RTC_INTERNAL_H
#define SHOAL_RTC_INTERNAL_H

#include "shoal/rtc.h"

#include <nice/agent.h>
#include <openssl/ssl.h>

#define RTC_MTU       1200 /* UDP payload we aim for */
#define RTC_SCTP_PORT 5000
#define RTC_MAX_EARLY 64   /* datagrams queued before ICE connects */
#define RTC_CLOSE_MS  2000 /* a clean close gets this long, after the last of its queue went out */
#define RTC_CLOSE_MAX 15   /* times a close's deadline moves on while its queue drains */
/* RFC 7675: a peer from which nothing came for this long is gone. libnice 0.1.21's own consent
 * freshness gives up after 10 s, short enough that a busy peer (or our own loop, busy) lost
 * connections that were alive: its keepalive checks go on (and give up at 50 s), and this
 * watch, fed by SCTP's heartbeats every RTC_HEARTBEAT_MS on an idle channel, says when. */
#define RTC_RESTART_MS   10000 /* an ICE restart not connected by then is given up */
#define RTC_SILENT_MS    30000
#define RTC_KEPT_MAX     65536
#define RTC_KEPT_EACH    64
#define RTC_HEARTBEAT_MS 5000

typedef struct tls_relay tls_relay;
struct rtc_mdns;

struct shoal_rtc {
    shoal_rtc_config cfg;
    char **addresses; /* owned copies */
    shoal_ice_servers ice;
    char *tls_ca_file;
    GPtrArray *tls_relays; /* tls_relay*: one per turns: server asked for, made when first used */
    GMainContext *ctx;
    SSL_CTX *ssl_ctx;
    uint8_t fingerprint[32];
    struct rtc_mdns *mdns; /* mdns.c's socket and lookups, made when first needed */
    bool mdns_failed;      /* ... and not to be tried again */
};

typedef struct out_msg {
    uint8_t *data;
    size_t len, off;
    uint32_t ppid;
} out_msg;

struct shoal_rtc_peer {
    shoal_rtc *rtc;
    shoal_rtc_callbacks cb;
    void *ud;
    bool initiator;
    char *label;
    int refs;
    int error;      /* the first failure; SHOAL_OK while healthy */
    bool failing;   /* teardown scheduled */
    bool finished;  /* torn down: callbacks done, only references remain */
    bool closing;   /* a clean close is under way */
    bool abandoned; /* its owner tore it down without a word */
    guint teardown_source, close_timer;

    /* signalling */
    bool described;  /* our offer or answer is out: candidates may follow it */
    GPtrArray *held; /* candidates found before that (char*) */
    bool have_remote;
    shoal_sdp remote;

    /* ICE */
    NiceAgent *agent;
    guint stream;
    shoal_ice_servers ice; /* its STUN and TURN servers, for a restart's agent too */
    bool ice_connected;
    GQueue early;             /* GBytes datagrams waiting for ICE */
    gint64 last_in, watched;  /* when a datagram last came; when the watch last looked (µs) */
    guint watch;              /* RTC_SILENT_MS's timer, once ICE connects */
    unsigned mdns_lookups;    /* .local names of theirs looked up, in all */
    bool remote_done_waiting; /* their last candidate came, lookups did not end yet */
    /* each TURN relay's transport ("udp", "tcp", "tls"), in libnice's order */
    const char *relays[8];
    shoal_rtc_path path; /* local_type NULL until a pair is selected; rtt_ms unused */

    /* ICE restart (RFC 8445 9). libnice's own restart never gathers again, and after a network
     * change the old agent's addresses may be gone: a restart is a second agent, gathering on
     * today's network, beside the one carrying DTLS. When it connects it takes the old one's
     * place; until then a failure of the old one is not the peer's end. */
    NiceAgent *next;
    guint next_stream;
    guint next_timer; /* RTC_RESTART_MS */
    const char *next_relays[8];
    shoal_rtc_path next_path; /* its selected pair, once it has one */
    bool next_offered;        /* we offered the restart (else we answer one) */
    bool next_described;      /* its credentials are out: its candidates may follow */
    bool next_has_remote;     /* the other side's credentials for it are set */
    bool old_failed;          /* the agent carrying DTLS failed while the restart runs */

    /* DTLS */
    SSL *ssl;
    BIO *rbio, *wbio;
    bool dtls_started, dtls_done;
    guint dtls_timer;

    /* SCTP */
    struct socket *sock;
    bool sctp_registered, sctp_up, channel_open;
    uint16_t sid;
    guint process_source;
    shoal_buf in_msg; /* a message being reassembled */
    out_msg *outq;    /* a ring of messages waiting for SCTP */
    size_t out_head, out_count, out_cap;
    size_t buffered;
    bool want_writable;
    bool shutdown_pending; /* closed with messages queued: SCTP shuts down once they are taken */
    bool shutdown_late;    /* ... and they were: the close has RTC_CLOSE_MS from then */
    size_t close_buffered; /* what was queued when the close's deadline was last set */
    unsigned close_moves;
    /* shoal_rtc_peer_follow_their_channel: the channel we opened, until the other side is heard
     * on it, keeps what we sent on it (RTC_KEPT_MAX bytes, RTC_KEPT_EACH more a message), in case
     * they open a channel of their own and use only that (take_their_channel in sctp.c). NULL
     * once it can no longer be needed. */
    bool follow_theirs;
    GArray *kept; /* out_msg, each whole (off 0) */
    size_t kept_bytes;
};

/* peer.c */
void shoal__rtc_ref(shoal_rtc_peer *p);
void shoal__rtc_unref(shoal_rtc_peer *p);
/* Records the first failure and schedules the teardown (err SHOAL_OK: a clean end). */
void shoal__rtc_fail(shoal_rtc_peer *p, int err);

/* ice.c */
bool shoal__ice_start(shoal_rtc_peer *p);
/* The credentials of the peer's agent, or of its restart's when `next`. */
void shoal__ice_credentials(shoal_rtc_peer *p, bool next, char **ufrag, char **pwd);
void shoal__ice_set_remote(shoal_rtc_peer *p);
/* Starts a restart's agent (replacing one under way); false when it cannot start. */
bool shoal__ice_restart(shoal_rtc_peer *p, bool offered);
/* The other side's credentials and candidates for the restart's agent. */
void shoal__ice_restart_remote(shoal_rtc_peer *p, const shoal_sdp *remote);
int shoal__ice_add_candidate(shoal_rtc_peer *p, const char *candidate);
/* The peer's mDNS lookups are over: the end of its candidates, if it came, goes to libnice. */
void shoal__ice_lookups_done(shoal_rtc_peer *p);
void shoal__ice_send(shoal_rtc_peer *p, const uint8_t *data, size_t len);
void shoal__ice_stop(shoal_rtc_peer *p);

/* dtls.c */
int shoal__dtls_context(shoal_rtc *rtc);
void shoal__dtls_start(shoal_rtc_peer *p);
void shoal__dtls_input(shoal_rtc_peer *p, const uint8_t *data, size_t len);
void shoal__dtls_write(shoal_rtc_peer *p, const uint8_t *data, size_t len);
void shoal__dtls_close(shoal_rtc_peer *p);
void shoal__dtls_stop(shoal_rtc_peer *p);

/* sctp.c */
bool shoal__sctp_global_start(void);
void shoal__sctp_start(shoal_rtc_peer *p);
void shoal__sctp_input(shoal_rtc_peer *p, const uint8_t *data, size_t len);
int shoal__sctp_send(shoal_rtc_peer *p, const uint8_t *data, size_t len, bool binary);
void shoal__sctp_close(shoal_rtc_peer *p);
void shoal__sctp_stop(shoal_rtc_peer *p);
/* SCTP's smoothed round-trip time in ms; 0 before the association is up. */
uint32_t shoal__sctp_rtt(const shoal_rtc_peer *p);

/* mdns.c: mDNS candidates. */
/* Looks `name` up; when it answers, `candidate` (borrowed) with the address in its place goes to
 * shoal__ice_add_candidate. Past the bounds, or with mDNS off, the candidate is ignored. */
int shoal__mdns_resolve(shoal_rtc_peer *p, const char *name, const char *candidate);
/* Whether lookups of the peer are under way. */
bool shoal__mdns_pending(const shoal_rtc_peer *p);
/* The name our address hides behind (made the first time, answered from then on); NULL when
 * no more can be made or mDNS cannot listen. */
const char *shoal__mdns_own_name(shoal_rtc *rtc, const NiceAddress *addr);
/* Drops the peer's lookups without a word. */
void shoal__mdns_forget_peer(shoal_rtc_peer *p);
void shoal__mdns_free(shoal_rtc *rtc);

/* tls_relay.c: TURN over TLS. libnice's own TURN-TLS speaks plain TCP to the server (0.1.21,
 * RFC 5245 mode), so a turns: server is given to libnice as TURN over TCP to a listener of
 * ours on 127.0.0.1, and each connection to it is carried over a TLS connection to the server
 * (its certificate checked, its name sent). */
/* The local port standing for `server`; 0 when no listener could be made. */
uint16_t shoal__tls_relay_port(shoal_rtc *rtc, const shoal_ice_server *server);
void shoal__tls_relays_free(shoal_rtc *rtc);

#endif

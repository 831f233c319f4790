/* shoal negotiate: each remote peer's WebRTC negotiation, from the dial (or the offer that
 * reaches us) to its data channel's close.
 *
 * One pure reducer, like the state manager's:
 *
 *     shoal_negotiate_reduce(state, event, now) -> effects
 *
 * The state is changed in place and the effects are returned. It reads no clock (time is `now`,
 * in milliseconds on the caller's monotonic clock), does no I/O, and draws session ids from a
 * generator seeded at creation, so the same seed and the same events at the same times give the
 * same effects, byte for byte.
 *
 * What it decides. Each negotiation has a record, named by a handle (a uint32 id, never 0, not
 * reused) that the shell maps to its WebRTC peer object. Records are keyed by the remote's
 * channel: at most one is the channel's *current* record; beside a connected one there may be a
 * *successor* (the peer came back: restarted, or lost our connection before we noticed) that
 * takes its place once its handshake proves the key; records given up or replaced are *retired*
 * and close without anyone hearing of them again. The reducer settles glare (both sides offered:
 * shoal_swarm_we_lead names the side whose offer stands), the same offer heard twice, a peer
 * beginning a new negotiation while we answer its old one, the "busy" answer of a peer with every
 * slot taken, signals for negotiations we do not have (dropped and counted), the deadline, a
 * handshake that proves another key than the channel names, and what the state manager (conn)
 * hears of it all: every outcome comes out as a REPORT effect carrying a ready conn action.
 *
 * Signals we send go to the remote's channel through the record's hub, one POST at a time so
 * they arrive in order: the next leaves only when the shell reports the previous one done.
 *
 * Bounds. A hostile remote cannot grow our memory without bound: records (retired ones too,
 * since each holds a WebRTC peer until its close) are capped at max_records, and an offer that
 * would need one more is refused and counted; each record queues at most max_outbox signals, and
 * a negotiation that would queue more is closed and counted; an offer's SDP longer than
 * SHOAL_NEGOTIATE_MAX_SDP is refused. A record whose close takes longer than the deadline is
 * abandoned, so a close that never completes cannot hold a record forever.
 *
 * A connection may move to a new network with an ICE restart, either side offering it (RESTART,
 * after the state manager's RESTART_PEER): the offer and the answer are signals of their own
 * ("restart" and "restarted", numbered so a repeat or an old one is dropped), through the
 * connection's hub and session; candidates follow as usual. When both offer at once (both saw
 * the change), each takes the other's offer and answers it with the agent of its own restart,
 * so neither waits on an offer that was lost (one sent before the other had joined the hub
 * again): one of the two always arrives. A restart that connects is reported as
 * REMOTE_PEER_RESTARTED; one that fails leaves the connection as it was, to the state manager's
 * deadline and the WebRTC stack's own watch. A peer's restarts are taken at most one per
 * SHOAL_NEGOTIATE_RESTART_GAP. A connection that cannot restart (a plain peer's) is closed as a
 * network change closes it (abandoned, reported with SHOAL_E_NETWORK_RESET).
 *
 * Plain webrtc-swarm peers (compatibility mode: no feed id, no sessions) negotiate the same way,
 * but their channel carries raw messages (no handshake: the connection is up once the channel
 * opens), they never yield in glare, never hear "busy", and a connected plain peer's new offer
 * is ignored. Without sessions, a plain peer's offer is told from a repeat of it by its SDP.
 *
 * How a shell drives it. It feeds every event below as it happens, and carries out the effects
 * of each call in their order. Effects are borrowed until the next call, so anything that
 * happens while carrying them out (a REPORT's conn effects dialling or closing a peer, a WebRTC
 * object failing to start and reporting its close) must be queued and fed after the last effect
 * of the list is done, never by calling the reducer from inside the list. An effect that names a
 * handle the shell has no WebRTC object for (one whose creation failed) is skipped. */
#ifndef SHOAL_NEGOTIATE_H
#define SHOAL_NEGOTIATE_H

#include "shoal/conn.h"
#include "shoal/swarm.h"

/* A connected peer may restart ICE at most once in this long (ms): each restart costs us an ICE
 * agent's sockets, gathering and TURN allocations. */
#define SHOAL_NEGOTIATE_RESTART_GAP 2000
/* The longest offer or answer SDP taken from a remote (the original signalhub caps bodies at
 * 64 KiB, and a real one is a few KiB). */
#define SHOAL_NEGOTIATE_MAX_SDP 65536
/* A LOG effect's line, NUL included. */
#define SHOAL_NEGOTIATE_LOG_SIZE 128

typedef struct shoal_negotiate_config {
    shoal_time timeout;   /* 30 s: the state manager's timeout_rtc. A negotiation not connected
                             by then is closed; a close not done by then is abandoned. */
    uint32_t max_records; /* 64: records held at once, retired ones included (at least 2) */
    uint32_t max_outbox;  /* 64: signals one record queues while a POST is out (at least 1) */
} shoal_negotiate_config;

void shoal_negotiate_config_default(shoal_negotiate_config *cfg);

/* ---- Events ------------------------------------------------------------------------------- */

/* Which signal: what the WebRTC stack produced, or could not take. */
typedef enum shoal_negotiate_sig {
    SHOAL_NEG_SIG_OFFER,
    SHOAL_NEG_SIG_ANSWER,
    SHOAL_NEG_SIG_CANDIDATE,
} shoal_negotiate_sig;

typedef enum shoal_negotiate_ev_type {
    SHOAL_NEG_EV_DIAL,         /* feed, channel, plain, hub: the state manager's DIAL_PEER (the
                                  shell names the feed's channel: its key's, or a plain peer's id) */
    SHOAL_NEG_EV_CLOSE,        /* feed, reason: the state manager's CLOSE_PEER */
    SHOAL_NEG_EV_SIGNAL,       /* hub, msg: a SIGNAL message a hub brought (for a plain peer the
                                  shell has put its stand-in feed in msg->feed) */
    SHOAL_NEG_EV_ADMISSION,    /* id, admitted: the state manager's answer to an ADMIT */
    SHOAL_NEG_EV_LOCAL_SIGNAL, /* id, sig, text: the WebRTC stack produced our offer or answer
                                  (text: its SDP) or a candidate (text: the candidate line) */
    SHOAL_NEG_EV_POSTED,       /* id, status: a POST_SIGNAL is done (status 200), failed (another
                                  HTTP status), or could not be sent (0) */
    SHOAL_NEG_EV_REFUSED,      /* id, sig: the WebRTC stack could not take a SET_REMOTE (offer or
                                  answer) or an ADD_CANDIDATE */
    SHOAL_NEG_EV_RTC_OPEN,     /* id: the data channel is open */
    SHOAL_NEG_EV_LINK_ESTABLISHED, /* id, feed: the handshake over the channel proved this key */
    SHOAL_NEG_EV_RTC_CLOSED,       /* id, err: the WebRTC peer has closed, for whatever reason (a
                                      CLOSE_RTC, the remote, a link or send failure the shell met,
                                      or a CREATE_RTC that failed: SHOAL_E_RTC_INIT) */
    SHOAL_NEG_EV_TICK,             /* a SCHEDULE_TICK's time has come */
    SHOAL_NEG_EV_STOP,    /* we leave: every peer is closed (goodbyes first), nothing more is
                             reported to the state manager, and STOPPED comes once all are */
    SHOAL_NEG_EV_RESTART, /* feed: the state manager's RESTART_PEER (after a network change) */
    SHOAL_NEG_EV_RTC_RESTARTED, /* id: an ICE restart connected (shoal_rtc's `restarted`) */
} shoal_negotiate_ev_type;

typedef struct shoal_negotiate_event {
    shoal_negotiate_ev_type type;
    uint32_t id;
    uint32_t hub; /* the state manager's hub id */
    uint8_t feed[32];
    const char *channel;        /* DIAL: borrowed for the call; 1..SHOAL_SWARM_MAX_FROM chars */
    bool plain;                 /* DIAL: a plain webrtc-swarm peer */
    shoal_close_reason reason;  /* CLOSE */
    const shoal_swarm_msg *msg; /* SIGNAL: borrowed for the call */
    bool admitted;              /* ADMISSION */
    shoal_negotiate_sig sig;    /* LOCAL_SIGNAL, REFUSED */
    const char *text;           /* LOCAL_SIGNAL: borrowed for the call */
    unsigned status;            /* POSTED */
    int err;                    /* RTC_CLOSED: SHOAL_OK for a clean close */
} shoal_negotiate_event;

/* ---- Effects ------------------------------------------------------------------------------ */

typedef enum shoal_negotiate_close {
    SHOAL_NEG_CLOSE_GOODBYE, /* close the link (its goodbyes go out), then the channel */
    SHOAL_NEG_CLOSE_NOW,     /* close the WebRTC peer at once (no link, or none worth a goodbye) */
    SHOAL_NEG_CLOSE_ABANDON, /* drop it without a word, and report no RTC_CLOSED for it: the
                                record is already gone (network reset, or a close that hung) */
} shoal_negotiate_close;

typedef enum shoal_negotiate_fx_type {
    SHOAL_NEG_FX_CREATE_RTC,    /* id, initiator: a WebRTC peer for the record */
    SHOAL_NEG_FX_SET_REMOTE,    /* id, offer, text (the SDP) */
    SHOAL_NEG_FX_ADD_CANDIDATE, /* id, text (the candidate line) */
    SHOAL_NEG_FX_POST_SIGNAL,   /* id, hub, channel, text: POST text to the channel through the
                                   hub, and report POSTED with this id when done (always: a
                                   POSTED for a record that is gone is ignored) */
    SHOAL_NEG_FX_START_LINK,    /* id, feed, initiator: run the secret handshake over the open
                                   channel, as its client dialling `feed` when initiator (the one
                                   who offered dials the handshake too), else as its server */
    SHOAL_NEG_FX_CLOSE_RTC,     /* id, close */
    SHOAL_NEG_FX_ADMIT,         /* id, report (REMOTE_PEER_CONNECTING): a stranger offers. Reduce
                                   the action in the state manager; it is refused when its
                                   effects close that feed (CLOSE_PEER); answer with ADMISSION
                                   for this id before carrying out those effects. */
    SHOAL_NEG_FX_REPORT,        /* report: an action to reduce in the state manager */
    SHOAL_NEG_FX_CONNECTED,     /* id, feed, initiator, plain: the connection is up (the handshake
                                   proved the key, or a plain peer's channel opened): start
                                   replication, tell whoever listens; as the handshake's server
                                   (not initiator) the shell holds our calls for
                                   SHOAL_LINK_HOLD_MS as shoal/link.h says */
    SHOAL_NEG_FX_DISCONNECTED,  /* id, feed, err: a connection that was up has closed */
    SHOAL_NEG_FX_STOPPED,       /* after STOP: every record but retired ones is gone */
    SHOAL_NEG_FX_SCHEDULE_TICK, /* at: deliver TICK then (replaces any earlier schedule;
                                   SHOAL_TIME_NEVER: none is needed) */
    SHOAL_NEG_FX_LOG,           /* line: what happened, for the curious */
    SHOAL_NEG_FX_RESTART_RTC,   /* id: restart the connection's ICE (shoal_rtc_peer_restart); its
                                   offer comes back as a LOCAL_SIGNAL */
} shoal_negotiate_fx_type;

typedef struct shoal_negotiate_fx {
    shoal_negotiate_fx_type type;
    uint32_t id;
    uint32_t hub;
    uint8_t feed[32];
    bool initiator;                         /* CREATE_RTC, START_LINK, CONNECTED */
    bool offer;                             /* SET_REMOTE: true for an offer, false an answer */
    bool plain;                             /* CONNECTED */
    shoal_negotiate_close close;            /* CLOSE_RTC */
    int err;                                /* DISCONNECTED */
    shoal_time at;                          /* SCHEDULE_TICK */
    char channel[SHOAL_SWARM_MAX_FROM + 1]; /* POST_SIGNAL: the recipient */
    const char *text;                       /* borrowed until the next call */
    shoal_conn_action report;               /* ADMIT, REPORT (its pointers are NULL) */
    char line[SHOAL_NEGOTIATE_LOG_SIZE];    /* LOG */
} shoal_negotiate_fx;

/* ---- Records ------------------------------------------------------------------------------ */

typedef enum shoal_negotiate_phase {
    SHOAL_NEG_ADMITTING,   /* a stranger's offer waits for the state manager (no WebRTC peer) */
    SHOAL_NEG_NEGOTIATING, /* signals go back and forth */
    SHOAL_NEG_LINKING,     /* the channel is open, the handshake runs */
    SHOAL_NEG_ESTABLISHED, /* connected */
} shoal_negotiate_phase;

typedef enum shoal_negotiate_role {
    SHOAL_NEG_CURRENT,   /* the channel's record: what the state manager hears of */
    SHOAL_NEG_SUCCESSOR, /* a connected peer's new negotiation, beside its current record */
    SHOAL_NEG_RETIRED,   /* replaced or given up: closing, never reported */
} shoal_negotiate_role;

typedef struct shoal_negotiate_record {
    uint32_t id;
    char channel[SHOAL_SWARM_MAX_FROM + 1];
    uint8_t feed[32];
    uint32_t hub;
    char session[SHOAL_SWARM_SESSION_SIZE]; /* "" for a plain peer */
    shoal_negotiate_phase phase;            /* as it was when a close began */
    shoal_negotiate_role role;
    bool plain;
    bool initiator;   /* we offered */
    bool dialled;     /* the state manager asked for it: its outcome is reported as a dial's (kept
                         when a glare or a new negotiation of theirs replaces our offer) */
    bool answered;    /* initiator: the answer was taken */
    bool busy;        /* the peer answered our offer "busy": its end is no failure */
    bool closing;     /* a CLOSE_RTC went out; RTC_CLOSED ends it */
    uint32_t partner; /* CURRENT: its successor's id; SUCCESSOR: its predecessor's; else 0 */
    shoal_time deadline; /* when the negotiation fails, or the close is abandoned; NEVER once
                            established and not closing */
    uint32_t queued;     /* signals waiting for the POST out to complete */
    bool posting;        /* a POST_SIGNAL is out */
    /* ICE restarts of an established connection (never a plain peer's) */
    uint32_t restarts;        /* restarts we offered: the last one's number */
    uint32_t remote_restarts; /* the number of the last restart of theirs we took */
    bool restarting;          /* our restart waits for its answer */
    shoal_time restart_quiet; /* a restart of theirs before this is dropped */
} shoal_negotiate_record;

/* ---- The reducer -------------------------------------------------------------------------- */

typedef struct shoal_negotiate shoal_negotiate;

/* Counters since creation (shoal_node_stats takes the first five). */
typedef struct shoal_negotiate_stats {
    uint64_t signals_dropped;     /* for a negotiation we do not have, or out of place */
    uint64_t signals_refused;     /* the WebRTC stack could not take them, or an SDP too long */
    uint64_t offers_turned_away;  /* the state manager refused them: every slot taken */
    uint64_t negotiations_failed; /* attempts that ended before the connection was up */
    uint64_t connections;         /* connections up */
    uint64_t offers_over_cap;     /* offers refused with max_records held */
    uint64_t outbox_overflows;    /* negotiations closed for queueing more than max_outbox */
    uint64_t restarts;            /* ICE restarts that connected */
} shoal_negotiate_stats;

/* Negotiations for the peer whose channel is `self` (borrowed for the call, 1 to
 * SHOAL_SWARM_MAX_FROM characters), session ids drawn from `seed`. `cfg` is copied.
 * SHOAL_E_INVAL (a config out of range, a bad channel) or SHOAL_E_NOMEM. */
SHOAL_MUST_CHECK int shoal_negotiate_new(shoal_negotiate **out, const shoal_negotiate_config *cfg,
                                         const char *self, uint64_t seed);
/* NULL is a no-op. Records still held vanish without effects: the shell abandons their peers. */
void shoal_negotiate_free(shoal_negotiate *n);

/* Applies one event at time `now` (never earlier than a previous call's). On success *fx and *nfx
 * are the effects, in the order to carry them out, borrowed until the next call. Errors:
 * SHOAL_E_NOMEM (the state is unchanged and there are no effects), SHOAL_E_INVAL (likewise: an
 * unknown event type or sig, a DIAL without a usable channel, a SIGNAL without a message, a
 * LOCAL_SIGNAL text that JSON cannot carry because it is not UTF-8). Events that fit no
 * record (an unknown id, a late POSTED, a signal for a session we do not hold) change nothing but
 * counters. */
SHOAL_MUST_CHECK int shoal_negotiate_reduce(shoal_negotiate *n, const shoal_negotiate_event *ev,
                                            shoal_time now, const shoal_negotiate_fx **fx,
                                            size_t *nfx);

/* Accessors: records are borrowed until the next shoal_negotiate_reduce. */
const shoal_negotiate_config *shoal_negotiate_get_config(const shoal_negotiate *n);
const shoal_negotiate_stats *shoal_negotiate_get_stats(const shoal_negotiate *n);
size_t shoal_negotiate_count(const shoal_negotiate *n);
/* i < shoal_negotiate_count; the order changes as records come and go. */
const shoal_negotiate_record *shoal_negotiate_at(const shoal_negotiate *n, size_t i);
const shoal_negotiate_record *shoal_negotiate_get(const shoal_negotiate *n, uint32_t id);
/* The channel's current record, or NULL. */
const shoal_negotiate_record *shoal_negotiate_find(const shoal_negotiate *n, const char *channel);

const char *shoal_negotiate_ev_name(shoal_negotiate_ev_type type);
const char *shoal_negotiate_fx_name(shoal_negotiate_fx_type type);

#endif

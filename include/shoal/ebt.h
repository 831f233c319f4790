/* shoal ebt: epidemic broadcast trees, the replication ssb-ebt speaks (`ebt.replicate`, version
 * 3, format "classic"), as a pure reducer:
 *
 *     shoal_ebt_reduce(state, event, now) -> effects
 *
 * It reads no clock and does no I/O: the shell reads notes and messages off each peer's duplex
 * stream, stores messages, and carries out the effects (notes to write, ranges of a feed to send
 * from the store, a peer's clock to keep for next time, a tick to deliver).
 *
 * The wire's notes. A notes object maps feed ids to integers: -1 "I do not replicate this feed
 * (with you)"; else seq << 1 | !rx, where seq is how far the sender holds the feed and rx whether
 * it asks to be sent what follows (an even note asks; an odd one only tells). The server (the
 * side that was called) sends its notes first; messages go on the same stream as raw values.
 *
 * What it decides:
 * - Request skipping: a peer's clock (how far it held each feed when the last session with it
 *   ended) is kept by the shell and handed back at CONNECT; a followed feed held as far on both
 *   sides is left out of our notes, so two peers in sync exchange no note for it. Our own feed
 *   is always noted.
 * - Partitioning: each feed is received from one peer at a time (its "rx" peer: the one our even
 *   note went to); others are asked only to tell (odd notes). A peer that says it is further
 *   ahead than the rx peer takes its place; so does one that is ahead when the rx peer stalls
 *   (no message of the feed from it for `stall`) or leaves.
 * - Sending: a peer that asked for a feed (its even note) is sent what we hold past what it has,
 *   and every later message as it comes (live).
 * - A message that does not follow (a gap, out of order) is not stored by the shell and is
 *   reported so: its sender is asked again from our head, and the rest of the feed is not lost.
 * - Feeds we neither follow nor hold get -1, once per notes object that names them; one we hold
 *   without following it is sent to a peer that asks for it (as createHistoryStream serves
 *   what the store holds), never asked for.
 *
 * Bounds: feeds are the ones we follow or hold (max_feeds); a remote's notes never add a feed;
 * peers are the shell's connections (max_peers). */
#ifndef SHOAL_EBT_H
#define SHOAL_EBT_H

#include "shoal/core.h"

#define SHOAL_EBT_NOTE_NONE   (-1)        /* "I do not replicate this feed" */
#define SHOAL_EBT_MAX_SEQ     (1LL << 52) /* notes stay exact in JSON's doubles */
#define SHOAL_EBT_UNKNOWN     (-2)        /* a sequence nobody told */
#define SHOAL_EBT_MAX_ENTRIES 1000000     /* entries one event may carry */

/* seq << 1 | !rx for 0 <= seq <= SHOAL_EBT_MAX_SEQ; SHOAL_EBT_NOTE_NONE for seq < 0. */
int64_t shoal_ebt_note(int64_t seq, bool rx);
/* Reads a note: false for a value no peer may send (below -1, or past the largest sequence);
 * -1 gives *seq -1 and *rx false. */
bool shoal_ebt_note_read(int64_t value, int64_t *seq, bool *rx);

typedef struct shoal_ebt_config {
    shoal_time stall;   /* 6 s: an rx peer that sent nothing of a feed it is ahead on for this
                           long (looked at every stall / 2) gives the feed up to a peer ahead,
                           and is not believed ahead again until it delivers */
    uint32_t max_feeds; /* 200,000 */
    uint32_t max_peers; /* 16: each holds 80 bytes per feed */
} shoal_ebt_config;

void shoal_ebt_config_default(shoal_ebt_config *cfg);

/* One entry of a notes object, or of a peer's kept clock. */
typedef struct shoal_ebt_entry {
    uint8_t feed[32];
    int64_t value; /* NOTES: a note; CLOCK: a sequence (-1: the peer does not replicate it) */
} shoal_ebt_entry;

typedef enum shoal_ebt_ev_type {
    SHOAL_EBT_EV_HAVE,       /* feed, seq: our store holds the feed up to seq (loaded, or a
                                message appended, ours or a peer's) */
    SHOAL_EBT_EV_FOLLOW,     /* feed, follow: we replicate the feed, or no longer */
    SHOAL_EBT_EV_CONNECT,    /* peer, client, entries (the peer's clock kept from last time:
                                values are sequences; may be none): a session begins. As its
                                server we note first; as its client we wait for its notes */
    SHOAL_EBT_EV_NOTES,      /* peer, entries (values are notes; each feed once, as an
                                object's keys are): a notes object came */
    SHOAL_EBT_EV_RECEIVED,   /* peer, feed, seq (>= 1), stored: a message of the feed came from
                                the peer; not stored, it is a duplicate (ignored), one past a gap
                                (asked again from our head, once at each head), or the next one
                                refused (a bad signature: the feed is asked of another peer) */
    SHOAL_EBT_EV_DISCONNECT, /* peer: the session ended (its clock comes out as CLOCK) */
    SHOAL_EBT_EV_TICK,       /* a SCHEDULE_TICK's time has come */
} shoal_ebt_ev_type;

typedef struct shoal_ebt_event {
    shoal_ebt_ev_type type;
    uint32_t peer; /* the shell's handle for the session, never 0 */
    uint8_t feed[32];
    int64_t seq;
    bool follow, client, stored;
    const shoal_ebt_entry *entries; /* borrowed for the call */
    size_t nentries;
} shoal_ebt_event;

typedef enum shoal_ebt_fx_type {
    SHOAL_EBT_FX_NOTES,         /* peer, entries: write this notes object to the peer */
    SHOAL_EBT_FX_SEND,          /* peer, feed, from, to: send the feed's messages from..to (our
                                   store holds them) to the peer, in order */
    SHOAL_EBT_FX_CLOCK,         /* peer, entries (sequences): the peer's clock, to keep for the
                                   next session with it (DISCONNECT) */
    SHOAL_EBT_FX_SCHEDULE_TICK, /* at: deliver TICK then (SHOAL_TIME_NEVER: none is needed) */
} shoal_ebt_fx_type;

typedef struct shoal_ebt_fx {
    shoal_ebt_fx_type type;
    uint32_t peer;
    uint8_t feed[32];
    int64_t from, to;
    shoal_time at;
    const shoal_ebt_entry *entries; /* borrowed until the next call */
    size_t nentries;
} shoal_ebt_fx;

typedef struct shoal_ebt_stats {
    uint64_t notes_in, notes_out; /* entries */
    uint64_t refused_notes;       /* entries no peer may send, or for feeds we do not follow */
    uint64_t out_of_order;        /* messages past a gap: asked again from our head */
    uint64_t refused_messages;    /* the next message, refused: its sender is asked no more */
    uint64_t switches;            /* feeds given to another rx peer */
} shoal_ebt_stats;

typedef struct shoal_ebt shoal_ebt;

/* Replication for our feed `self` (always followed). SHOAL_E_INVAL (a config out of range) or
 * SHOAL_E_NOMEM. */
SHOAL_MUST_CHECK int shoal_ebt_new(shoal_ebt **out, const shoal_ebt_config *cfg,
                                   const uint8_t self[32]);
void shoal_ebt_free(shoal_ebt *e);

/* Applies one event at `now` (never earlier than a previous call's). On success *fx, *nfx are
 * the effects in order, borrowed until the next call. Errors change nothing: SHOAL_E_NOMEM,
 * SHOAL_E_INVAL (an unknown event, peer 0, a CONNECT for a session under way or past max_peers,
 * a HAVE with a negative sequence), SHOAL_E_EBT_FULL (a feed past max_feeds). Events for a
 * session that is not under way change nothing. */
SHOAL_MUST_CHECK int shoal_ebt_reduce(shoal_ebt *e, const shoal_ebt_event *ev, shoal_time now,
                                      const shoal_ebt_fx **fx, size_t *nfx);

/* How far we hold a feed (0: nothing; SHOAL_EBT_UNKNOWN: not a feed of ours). */
int64_t shoal_ebt_have(const shoal_ebt *e, const uint8_t feed[32]);
/* Whether we replicate the feed (FOLLOW, or our own). */
bool shoal_ebt_following(const shoal_ebt *e, const uint8_t feed[32]);
/* The session whose even note the feed's messages come from, or 0. */
uint32_t shoal_ebt_rx_peer(const shoal_ebt *e, const uint8_t feed[32]);
const shoal_ebt_stats *shoal_ebt_get_stats(const shoal_ebt *e);

#endif

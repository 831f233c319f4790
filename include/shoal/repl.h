/* shoal repl: replication of feeds with createHistoryStream, both ways.
 *
 * Serving: a peer's latestSequence(id) is answered with the feed's head (as ssb-db does), and its
 * createHistoryStream({id, seq, live, old, keys, limit}) from the
 * store — `seq` an inclusive lower bound, items {"key","value","timestamp"} unless keys is false
 * — and, when live, kept open: messages appended later (replicated or published through
 * shoal_repl_publish) follow. Requesting: for a feed we replicate, we ask from our head + 1; each
 * message that arrives is validated and appended, and `progress` tells of it (the state
 * manager's DOWNLOAD_PROGRESS). A message that does not follow (invalid, a fork, another feed's)
 * ends that stream; one we have already (two peers streaming the same feed live) is dropped
 * quietly. Sessions are borrowed: call shoal_repl_forget before freeing one.
 *
 * Bounds: a session may hold SHOAL_REPL_MAX_STREAMS streams of ours open at once, and
 * SHOAL_REPL_MAX_SAME_FEED of one feed (a peer needs one), or what shoal_repl_set_limits says;
 * past them a request gets muxrpc's error. A stream's history is sent a window at a time, as the
 * peer takes it, and a publish only marks the live streams of its feed behind: what a peer asks
 * costs us what it reads. */
#ifndef SHOAL_REPL_H
#define SHOAL_REPL_H

#include "shoal/ebt.h"
#include "shoal/feed.h"
#include "shoal/muxrpc.h"

typedef struct shoal_repl shoal_repl;

#define SHOAL_REPL_MAX_STREAMS   1024
#define SHOAL_REPL_MAX_SAME_FEED 4

typedef struct shoal_repl_callbacks {
    /* Messages of `feed` were appended; its head is now `head`. */
    void (*progress)(shoal_repl *r, shoal_rpc *from, const uint8_t feed[32], int64_t head,
                     void *ud);
    /* A message of `feed` from `from` was refused (`reason`); its stream was ended. */
    void (*refused)(shoal_repl *r, shoal_rpc *from, const uint8_t feed[32], const char *reason,
                    void *ud);
    /* The stream of `feed` we asked `from` for has ended (all sent, or the peer stopped). */
    void (*ended)(shoal_repl *r, shoal_rpc *from, const uint8_t feed[32], void *ud);
    /* How far `from` holds a feed we asked it for: its answer to ssb-db's latestSequence,
     * which we ask along with each createHistoryStream (and answer for the feeds we hold), or
     * its EBT notes. Peers that do not answer it (ssb-server answers only its owner) tell
     * nothing. NULL: the question is not asked. */
    void (*head_known)(shoal_repl *r, shoal_rpc *from, const uint8_t feed[32], int64_t head,
                       void *ud);
    /* Wall-clock time, ms since 1970: when messages were received (the store keeps it, and
     * createHistoryStream's items carry it as "timestamp"). NULL: 0. */
    int64_t (*clock)(void *ud);
    /* The session's peer replicates the old way (its manifest has no ebt.replicate, it asked us
     * with createHistoryStream, or it refused our EBT): ask it for feeds with
     * shoal_repl_request. Without EBT, every session. NULL: nothing is asked. */
    void (*legacy)(shoal_repl *r, shoal_rpc *rpc, const uint8_t remote[32], void *ud);
    /* EBT: monotonic time in ms, and when shoal_repl_tick is next wanted (SHOAL_TIME_NEVER:
     * none; each call replaces the last). */
    shoal_time (*now)(void *ud);
    void (*schedule)(shoal_repl *r, shoal_time at, void *ud);
} shoal_repl_callbacks;

/* `store` is borrowed for the replicator's life; hmac_key (copied) may be NULL. NULL when out of
 * memory. */
shoal_repl *shoal_repl_new(shoal_feed_store *store, const char *hmac_key,
                           const shoal_repl_callbacks *cb, void *ud);
void shoal_repl_free(shoal_repl *r);

/* Answers createHistoryStream on this session, which the replicator then knows (see
 * shoal_repl_request_everywhere) until it is forgotten. */
SHOAL_MUST_CHECK int shoal_repl_serve(shoal_repl *r, shoal_rpc *rpc);
/* Asks this session's peer for `feed`, from our head on. */
SHOAL_MUST_CHECK int shoal_repl_request(shoal_repl *r, shoal_rpc *rpc, const uint8_t feed[32],
                                        bool live);
/* Whether a stream of `feed` we asked this session for is still open. */
bool shoal_repl_asking(const shoal_repl *r, const shoal_rpc *rpc, const uint8_t feed[32]);
/* Asks every session served that replicates the old way for `feed`, live, unless it was asked
 * already (a feed followed while connected; EBT sessions hear of it from shoal_repl_follow). The
 * last error, if any; the other sessions are asked all the same. */
SHOAL_MUST_CHECK int shoal_repl_request_everywhere(shoal_repl *r, const uint8_t feed[32]);
/* Publishes a message of our own (see shoal_msg_create) and sends it to live streams. */
SHOAL_MUST_CHECK int shoal_repl_publish(shoal_repl *r, const shoal_keypair *keys, double timestamp,
                                        const char *content, size_t len, shoal_msg_info *info,
                                        const char **reason);
/* EBT (shoal/ebt.h) for our feed `self`, with `cfg` (NULL: the defaults): sessions started
 * with shoal_repl_start speak it with peers that do. The feeds the store holds are offered.
 * SHOAL_E_INVAL when EBT is on already, SHOAL_E_NOMEM, SHOAL_E_STORE_IO. */
SHOAL_MUST_CHECK int shoal_repl_use_ebt(shoal_repl *r, const uint8_t self[32],
                                        const shoal_ebt_config *cfg);
/* EBT replicates `feed` with every peer, or no longer (without EBT: nothing to do). */
SHOAL_MUST_CHECK int shoal_repl_follow(shoal_repl *r, const uint8_t feed[32], bool follow);
/* The time asked for by the `schedule` callback has come. */
void shoal_repl_tick(shoal_repl *r);
/* Replicates on a session that just began with `remote`, which we dialled or which dialled us:
 * serves it (shoal_repl_serve) and chooses EBT or the old way (the `legacy` callback asks for
 * feeds): as the dialler, from the peer's manifest (ebt.replicate is called if it lists it); as
 * the side dialled, by what the dialler calls first. */
SHOAL_MUST_CHECK int shoal_repl_start(shoal_repl *r, shoal_rpc *rpc, const uint8_t remote[32],
                                      bool dialled);

/* The intake on a pool of threads (one per core): a batch of messages received is checked
 * (parsed, hashed, its signatures verified) on the pool while the loop reads on, and stored when
 * the next batch is handed over, or when the returned descriptor is readable: then call
 * shoal_repl_intake_ready. Without it (the default) a batch is checked, on every core, and
 * stored before the dispatch of the input that brought it returns. Returns the descriptor (the
 * same one at each call), or SHOAL_E_NOMEM when no pool could be started. */
SHOAL_MUST_CHECK int shoal_repl_intake_fd(shoal_repl *r);
/* Stores the batches whose check is done (see shoal_repl_intake_fd). */
void shoal_repl_intake_ready(shoal_repl *r);

/* Drops what the replicator holds of a session about to be freed. */
void shoal_repl_forget(shoal_repl *r, shoal_rpc *rpc);

/* How many streams of ours a session may hold open, and of one feed (0: the defaults above);
 * streams open already stay. */
void shoal_repl_set_limits(shoal_repl *r, uint32_t max_streams, uint32_t max_same_feed);

/* What the replicator refused, counted from the start. */
typedef struct shoal_repl_stats {
    uint64_t streams_refused;  /* createHistoryStream past the bounds */
    uint64_t messages_refused; /* messages that did not follow (their streams ended) */
    uint64_t ebt_sessions;     /* sessions replicated with EBT */
    uint64_t legacy_sessions;  /* ... with createHistoryStream */
    uint64_t ebt_notes_sent, ebt_notes_received; /* entries */
    uint64_t ebt_messages_sent;
    uint64_t ebt_notes_refused; /* entries that name no feed or hold no integer */
    uint64_t intake_waiting;    /* batches handed to the intake's pool, not yet stored */
} shoal_repl_stats;

const shoal_repl_stats *shoal_repl_get_stats(const shoal_repl *r);

#endif

/* shoal negotiate's internals, shared by its two files: the record table and the effect list
 * (table.c), and the reducer (reduce.c). */
#ifndef SHOAL_NEGOTIATE_INTERNAL_H
#define SHOAL_NEGOTIATE_INTERNAL_H

#include "shoal/negotiate.h"

#define DIGEST_SIZE 16

typedef struct shoal__neg_rec {
    shoal_negotiate_record pub;
    char **ring; /* max_outbox slots: the signals waiting, oldest at `head` */
    uint32_t head;
    char *offer_sdp; /* ADMITTING: the offer, until the state manager answers */
    bool has_offer;  /* the remote's offer was taken: its SDP's digest, to tell a plain peer's
                        repeat of it from a new one */
    uint8_t offer_digest[DIGEST_SIZE];
} shoal__neg_rec;

struct shoal_negotiate {
    shoal_negotiate_config cfg;
    char self[SHOAL_SWARM_MAX_FROM + 1];
    uint64_t rng;
    uint32_t next_id;
    shoal__neg_rec *recs; /* max_records slots, the first nrecs in use */
    size_t nrecs;
    uint32_t *scratch; /* max_records ids, for events that visit many records */
    shoal_negotiate_fx *fx;
    char **owned; /* owned[i]: fx[i]'s text, freed at the next call */
    size_t nfx, fx_cap;
    shoal_negotiate_stats stats;
    bool stopping, stopped;
    shoal_time scheduled; /* the last SCHEDULE_TICK's time */
};

/* table.c */
shoal__neg_rec *shoal__neg_by_id(shoal_negotiate *n, uint32_t id);
shoal__neg_rec *shoal__neg_current(shoal_negotiate *n, const char *channel);
shoal__neg_rec *shoal__neg_current_by_feed(shoal_negotiate *n, const uint8_t feed[32]);
bool shoal__neg_full(const shoal_negotiate *n);
/* A new record in the first free slot (the caller checked shoal__neg_full): a session drawn from
 * the generator when `session` is NULL, "" for a plain peer. */
shoal__neg_rec *shoal__neg_create(shoal_negotiate *n, const char *channel, const uint8_t feed[32],
                                  uint32_t hub, bool plain, bool initiator, const char *session,
                                  shoal_time now);
/* Frees the record's memory and its slot (records after it may move: pointers to them go
 * stale, ids do not). */
void shoal__neg_release(shoal_negotiate *n, shoal__neg_rec *r);
/* Empties the record's outbox. */
void shoal__neg_clear_outbox(shoal_negotiate *n, shoal__neg_rec *r);
void shoal__neg_push_signal(shoal__neg_rec *r, char *text, uint32_t max_outbox);
char *shoal__neg_pop_signal(shoal__neg_rec *r, uint32_t max_outbox);

/* The next effect, about record r when not NULL (its id, hub and feed filled in); `text` (owned,
 * or NULL) goes with it and is freed at the next call. */
shoal_negotiate_fx *shoal__neg_fx(shoal_negotiate *n, shoal_negotiate_fx_type type,
                                  const shoal__neg_rec *r, char *text);
void shoal__neg_log(shoal_negotiate *n, const char *fmt, ...) SHOAL_PRINTF(2, 3);
void shoal__neg_clear_fx(shoal_negotiate *n);

#endif

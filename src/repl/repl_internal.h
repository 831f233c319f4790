/* The replicator's parts, shared by its files (see shoal/repl.h):
 *
 *   repl.c       createHistoryStream both ways, the batch of messages received
 *   intake.c     the batches checked (on a pool of threads) and appended
 *   ebt_shell.c  EBT: the shell of the pure core (shoal/ebt.h) over ebt.replicate's duplex streams,
 *            and the choice, per session, between it and createHistoryStream
 *
 * Both protocols feed one batch (arrived): a message is validated and appended the same way
 * whoever brought it; what follows the append differs (a legacy stream is refused and ended on a
 * message that does not follow; EBT hears of every message, stored or not, and decides). Both
 * send history through `served` entries, a window per writable turn. */
#ifndef SHOAL_REPL_INTERNAL_H
#define SHOAL_REPL_INTERNAL_H

#include "shoal/ebt.h"
#include "shoal/repl.h"

typedef struct served {
    shoal_rpc *rpc;
    int32_t id;
    uint8_t feed[32];
    int64_t next; /* the next sequence to send */
    int64_t left; /* items still allowed by the limit; -1 without one */
    bool keys;
    bool live;   /* it stays open for what comes */
    bool behind; /* the store holds more than was sent: the next window waits for the peer */
    bool ebt;    /* a range of an EBT stream, which goes on when it is sent */
} served;

typedef struct requested {
    shoal_rpc *rpc;
    int32_t id;
    uint8_t feed[32]; /* EBT: the message's author, learnt when it is checked */
} requested;

/* An item received, waiting for the batch's append; `stream` says whose it is. */
typedef struct arrived {
    requested stream;
    shoal_buf item; /* as it came: a message, keyed or not */
    bool refused;   /* it, or one before it in its stream, cannot be stored: dropped */
    uint32_t ebt;   /* the EBT session it came on (the core's handle), or 0 */
    int64_t seq;    /* EBT: its sequence, once known (0: not a message we could read) */
} arrived;

/* One ebt.replicate stream: the core's session `peer`. */
typedef struct ebt_session {
    shoal_rpc *rpc;
    int32_t id;
    uint32_t peer;
    uint8_t remote[32];
    bool client;
    bool heard; /* the peer sent something on it */
} ebt_session;

/* What a session replicates with, decided once per session (ebt_shell.c). */
typedef enum choice_state {
    CHOICE_ASKING,   /* its manifest was asked for */
    CHOICE_AWAITING, /* it speaks EBT and dialled us: its ebt.replicate is awaited */
    CHOICE_EBT,
    CHOICE_LEGACY,
} choice_state;

typedef struct choice {
    shoal_rpc *rpc;
    int32_t manifest; /* the manifest call, while CHOICE_ASKING */
    uint8_t remote[32];
    bool dialled;
    choice_state state;
} choice;

/* Batches handed over to be checked and stored, oldest first (intake.c). */
typedef struct repl_flight repl_flight;
typedef struct repl_flights {
    repl_flight *first, *last;
} repl_flights;
typedef struct repl_pool repl_pool;

struct shoal_repl {
    shoal_feed_store *store;
    char *hmac_key;
    shoal_repl_callbacks cb;
    void *ud;
    served *serving; /* the streams we serve */
    size_t nserving, serving_cap;
    requested *asked;
    size_t nasked, asked_cap;
    arrived *batch; /* what came since the last batch was handed over */
    size_t nbatch, batch_cap;
    repl_flights flights;
    repl_pool *pool;  /* NULL until shoal_repl_intake_fd */
    requested *heads; /* latestSequence calls made, waiting for their answers */
    size_t nheads, heads_cap;
    shoal_rpc **sessions; /* those served, until forgotten */
    size_t nsessions, sessions_cap;
    unsigned threads;                    /* for checking a batch's signatures */
    uint32_t max_streams, max_same_feed; /* a session's streams of ours, at most */
    shoal_repl_stats stats;
    /* EBT (ebt_shell.c); ebt is NULL until shoal_repl_use_ebt */
    shoal_ebt *ebt;
    ebt_session *ebts;
    size_t nebts, ebts_cap;
    uint32_t last_peer;
    choice *choices;
    size_t nchoices, choices_cap;
};

#define REPL_MAX_BATCH 512

bool repl_grow(void **items, size_t *cap, size_t n, size_t size);
void repl_drop_batch(arrived *batch, size_t n);
requested *repl_asked_of(shoal_repl *r, shoal_rpc *rpc, int32_t id);
/* The stream `q` stops taking messages: its message `why` did not follow (repl.c). */
void repl_refuse(shoal_repl *r, const requested *q, const char *why);
/* New messages of `feed` are in the store: live streams of it send them (repl.c). */
void repl_notify(shoal_repl *r, const uint8_t feed[32]);

/* intake.c: stores every batch waiting or handed over (a barrier: what follows sees the store
 * as it will be) */
void repl_flush(shoal_repl *r);
/* Hands the batch waiting over to the pool, and stores the ones handed over before it (without
 * a pool: repl_flush). */
void repl_hand_over(shoal_repl *r);
/* Drops every batch, unstored, and stops the pool. */
void repl_intake_free(shoal_repl *r);
/* Sends a window of the entry's range, and says whether more waits (repl.c). */
int repl_catch_up(shoal_repl *r, served *s);
/* Takes an item of an EBT stream into the batch (repl.c); false when out of memory. */
bool repl_take(shoal_repl *r, shoal_rpc *rpc, int32_t id, uint32_t ebt, const shoal_rpc_body *body);
/* What the store holds past a session's queued output: whether a turn's budget is spent. */
bool repl_turn_spent(shoal_rpc *rpc);

/* ebt_shell.c: the batch's outcome, told to the core */
void repl_ebt_received(shoal_repl *r, const arrived *a, bool stored);
void repl_ebt_have(shoal_repl *r, const uint8_t feed[32], int64_t seq);
/* Whether an EBT message of `feed` may be stored: a feed we replicate. */
bool repl_ebt_wanted(const shoal_repl *r, const uint8_t feed[32]);
/* The session's ebt.replicate and ebt.clock, registered by shoal_repl_serve. */
int repl_ebt_register(shoal_repl *r, shoal_rpc *rpc);
/* Whether the session replicates the old way (decided so, or EBT is off): a feed followed is
 * asked of it with createHistoryStream. */
bool repl_ebt_old_way(shoal_repl *r, const shoal_rpc *rpc);
/* A legacy call came from a session whose EBT was awaited: it replicates the old way. */
void repl_ebt_legacy_seen(shoal_repl *r, shoal_rpc *rpc);
void repl_ebt_forget(shoal_repl *r, shoal_rpc *rpc);
void repl_ebt_free(shoal_repl *r);

#endif

/* The intake: messages received, checked and stored a batch at a time (see repl_internal.h).
 *
 * A batch is what one input of a session brought (shoal_rpc_on_drained), REPL_MAX_BATCH items at
 * most. Its dear part (parsing, the canonical text, the signature, the id:
 * shoal_msg_precheck_batch) is spread over the cores; its in-order part (each message's chain,
 * one SQLite transaction, what the streams and EBT's core hear) runs on the loop's thread.
 *
 * Without a pool, a batch is prechecked and stored before the input's dispatch returns, and the
 * cores wait while the loop reads, decrypts and stores. With one (shoal_repl_intake_fd) a batch
 * is handed to the pool's threads and the loop reads on: it is stored when the next batch is
 * handed over (the loop's thread helping with what is left of its precheck first), when the pool
 * says it is done (the descriptor), or at a barrier (repl_flush: anything that must see the
 * store as it will be). So the cores precheck batch k+1 while the loop stores batch k, and one
 * batch at most waits while the loop reads: the intake holds two batches' memory at most. */
#include "repl_internal.h"

#include "shoal/ref.h"

#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* A batch handed over: its items and what their precheck finds. */
struct repl_flight {
    arrived *batch;
    size_t n;
    const char **texts;
    size_t *lens;
    shoal_buf *canonical;
    shoal_msg_checked *checked;
    size_t next, done; /* items taken and items checked by the pool (under its lock) */
    int status;        /* SHOAL_E_NOMEM when a precheck could not be done */
    repl_flight *later;
};

struct repl_pool {
    pthread_mutex_t lock;
    pthread_cond_t work;     /* a batch was handed over, or the pool stops */
    pthread_cond_t finished; /* a batch's last item is checked */
    pthread_t threads[SHOAL_MSG_MAX_THREADS];
    unsigned nthreads;
    bool stop;
    repl_flights *list;   /* the replicator's, read and changed under the lock */
    const char *hmac_key; /* the replicator's, which outlives the pool */
    int fd;               /* an eventfd: readable when a batch is done */
};

/* Checks item i of `f` outside the lock, then counts it; the pool's lock is held on entry and
 * on return. */
static void check_item(repl_pool *p, repl_flight *f, size_t i)
{
    pthread_mutex_unlock(&p->lock);
    int rc = shoal_msg_precheck_batch(&f->texts[i], &f->lens[i], 1, p->hmac_key, 1,
                                      &f->canonical[i], &f->checked[i]);
    pthread_mutex_lock(&p->lock);
    if (rc != SHOAL_OK)
        f->status = rc;
    if (++f->done == f->n) {
        pthread_cond_broadcast(&p->finished);
        uint64_t one = 1;
        (void)!write(p->fd, &one, sizeof one);
    }
}

static void *worker(void *arg)
{
    repl_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        repl_flight *f = p->list->first;
        while (f && f->next == f->n)
            f = f->later;
        if (f)
            check_item(p, f, f->next++);
        else if (p->stop)
            break;
        else
            pthread_cond_wait(&p->work, &p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void pool_free(repl_pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (unsigned t = 0; t < p->nthreads; t++)
        pthread_join(p->threads[t], NULL);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->finished);
    pthread_mutex_destroy(&p->lock);
    close(p->fd);
    shoal_free(p);
}

static repl_pool *pool_new(unsigned threads, const char *hmac_key, repl_flights *list)
{
    repl_pool *p = shoal_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->hmac_key = hmac_key;
    p->list = list;
    p->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    bool ok = p->fd >= 0 && pthread_mutex_init(&p->lock, NULL) == 0;
    bool cv = ok && pthread_cond_init(&p->work, NULL) == 0;
    if (cv && pthread_cond_init(&p->finished, NULL) != 0) {
        pthread_cond_destroy(&p->work);
        cv = false;
    }
    if (!cv) {
        if (ok)
            pthread_mutex_destroy(&p->lock);
        if (p->fd >= 0)
            close(p->fd);
        shoal_free(p);
        return NULL;
    }
    for (unsigned t = 0; t < threads && t < SHOAL_MSG_MAX_THREADS; t++)
        if (pthread_create(&p->threads[p->nthreads], NULL, worker, p) == 0)
            p->nthreads++;
    if (p->nthreads == 0) {
        pool_free(p);
        return NULL;
    }
    return p;
}

int shoal_repl_intake_fd(shoal_repl *r)
{
    if (!r->pool && !(r->pool = pool_new(r->threads, r->hmac_key, &r->flights)))
        return SHOAL_E_NOMEM;
    return r->pool->fd;
}

/* ---- a batch handed over ----------------------------------------------------------------------
 */

static void flight_free(repl_flight *f)
{
    for (size_t i = 0; f->canonical && i < f->n; i++)
        shoal_buf_free(&f->canonical[i]);
    shoal_free(f->canonical);
    shoal_free(f->texts);
    shoal_free(f->lens);
    shoal_free(f->checked);
    repl_drop_batch(f->batch, f->n);
    shoal_free(f);
}

static repl_flight *take_first(shoal_repl *r, bool wait);
static void land(shoal_repl *r, repl_flight *f);

/* The batch waiting, handed over: to the pool, or prechecked here and now. False when there was
 * none, or no memory for it (then it is dropped, and its streams refused: asked for again). */
static bool launch(shoal_repl *r)
{
    arrived *batch = r->batch;
    const size_t n = r->nbatch;
    if (n == 0)
        return false;
    r->batch = NULL; /* what comes next goes into a batch of its own */
    r->nbatch = r->batch_cap = 0;
    repl_flight *f = shoal_calloc(1, sizeof *f);
    if (f) {
        *f = (repl_flight){.batch = batch, .n = n};
        f->texts = shoal_malloc(n * sizeof *f->texts);
        f->lens = shoal_malloc(n * sizeof *f->lens);
        f->canonical = shoal_calloc(n, sizeof *f->canonical);
        f->checked = shoal_calloc(n, sizeof *f->checked);
    }
    if (!f || !f->texts || !f->lens || !f->canonical || !f->checked) {
        for (repl_flight *before; (before = take_first(r, true)) != NULL;)
            land(r, before); /* what came before it first, as it would have been */
        for (size_t i = 0; i < n; i++)
            if (!batch[i].ebt && repl_asked_of(r, batch[i].stream.rpc, batch[i].stream.id))
                repl_refuse(r, &batch[i].stream, shoal_strerror(SHOAL_E_NOMEM));
        if (f)
            flight_free(f);
        else
            repl_drop_batch(batch, n);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        f->texts[i] = batch[i].item.data;
        f->lens[i] = batch[i].item.len;
    }
    if (!r->pool) {
        f->status = shoal_msg_precheck_batch(f->texts, f->lens, n, r->hmac_key,
                                             n >= 8 ? r->threads : 1, f->canonical, f->checked);
        f->next = f->done = n;
    }
    repl_pool *p = r->pool;
    repl_flights *l = &r->flights;
    if (p)
        pthread_mutex_lock(&p->lock);
    if (l->last)
        l->last->later = f;
    else
        l->first = f;
    l->last = f;
    r->stats.intake_waiting++;
    if (p) {
        pthread_cond_broadcast(&p->work);
        pthread_mutex_unlock(&p->lock);
    }
    return true;
}

/* The oldest batch handed over, once its precheck is done (this thread helping), taken off the
 * list; NULL when there is none, or when `wait` is false and its precheck goes on. */
static repl_flight *take_first(shoal_repl *r, bool wait)
{
    repl_flights *l = &r->flights;
    repl_flight *f = l->first; /* only this thread changes the list: read without the lock */
    repl_pool *p = r->pool;
    if (!f)
        return NULL;
    if (p) {
        pthread_mutex_lock(&p->lock);
        while (wait && f->next < f->n)
            check_item(p, f, f->next++);
        while (wait && f->done < f->n)
            pthread_cond_wait(&p->finished, &p->lock);
        if (f->done < f->n) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
    }
    l->first = f->later;
    if (!l->first)
        l->last = NULL;
    r->stats.intake_waiting--;
    if (p)
        pthread_mutex_unlock(&p->lock);
    return f;
}

/* ---- storing a batch --------------------------------------------------------------------------
 */

/* Whether a message's canonical text is by `feed`: a stream of one feed carries no other's. */
static bool authored_by(const shoal_buf *text, const uint8_t feed[32])
{
    static const char key[] = "\n  \"author\": \"@"; /* top level, in the canonical layout */
    char id[SHOAL_KEY_B64SIZE + 9];
    shoal_key_to_b64(feed, id);
    strcat(id, ".ed25519\"");
    const char *at = text->len ? memmem(text->data, text->len, key, sizeof key - 1) : NULL;
    size_t id_len = strlen(id);
    return at && (size_t)(text->data + text->len - at) >= sizeof key - 1 + id_len &&
           memcmp(at + sizeof key - 1, id, id_len) == 0;
}

/* A feed's head, remembered while the store does not change (a batch's messages come in runs
 * of one feed). */
typedef struct head_memo {
    bool known;
    uint8_t feed[32];
    shoal_feed_state head;
} head_memo;

/* Whether the store holds this message already (a prechecked one, at or below its feed's head).
 * `memo` is NULL when the store may have changed since it was last used. */
static bool have(shoal_repl *r, const shoal_msg_checked *c, head_memo *memo)
{
    if (!c->ok)
        return false;
    head_memo fresh = {0};
    if (!memo)
        memo = &fresh;
    if (!memo->known || memcmp(memo->feed, c->info.author, 32) != 0) {
        memo->known = shoal_feed_store_head(r->store, c->info.author, &memo->head) == SHOAL_OK;
        memcpy(memo->feed, c->info.author, 32);
    }
    uint8_t id[32];
    return memo->known && c->info.sequence <= memo->head.sequence &&
           shoal_feed_store_id_at(r->store, c->info.author, c->info.sequence, id) == SHOAL_OK &&
           memcmp(id, c->info.id, 32) == 0;
}

/* Entry `bad` cannot be stored (`why`): neither can the rest of its stream in this batch. On an
 * EBT stream, which carries many feeds and may bring one out of order, only the rest of its feed
 * past it: one that comes later with a lower sequence may be the one missing. */
static void reject(arrived *batch, size_t n, size_t bad, const char *why, const char **whys)
{
    const arrived *b = &batch[bad];
    whys[bad] = why;
    batch[bad].refused = true;
    for (size_t i = bad + 1; i < n; i++)
        if (batch[i].stream.rpc == b->stream.rpc && batch[i].stream.id == b->stream.id &&
            (!b->ebt || (b->seq != 0 && batch[i].seq > b->seq &&
                         memcmp(batch[i].stream.feed, b->stream.feed, 32) == 0)))
            batch[i].refused = true;
}

/* Which of the batch may be stored, in order: each refused one says why in `why`. */
static void sort_out(shoal_repl *r, repl_flight *f, const char **why)
{
    arrived *batch = f->batch;
    const size_t n = f->n;
    const shoal_msg_checked *checked = f->checked;
    /* whose each EBT item is: learnt from a message whose signature holds (an item that fails
     * the precheck tells the core nothing: what it claims to be is not believed) */
    for (size_t i = 0; f->status == SHOAL_OK && i < n; i++)
        if (batch[i].ebt && checked[i].ok) {
            memcpy(batch[i].stream.feed, checked[i].info.author, 32);
            batch[i].seq = checked[i].info.sequence;
        }
    head_memo memo = {0}; /* nothing is appended before the next loop */
    for (size_t i = 0; i < n; i++) {
        if (batch[i].refused)
            continue;
        if (!batch[i].ebt && !repl_asked_of(r, batch[i].stream.rpc, batch[i].stream.id))
            batch[i].refused = true;    /* its stream was refused since it came: it is over */
        else if (f->status != SHOAL_OK) /* unstored: the refusal has it asked for again */
            reject(batch, n, i, shoal_strerror(f->status), why);
        else if (batch[i].ebt && batch[i].seq == 0)
            reject(batch, n, i, "an item that is not a valid message", why);
        else if (batch[i].ebt && !repl_ebt_wanted(r, batch[i].stream.feed))
            reject(batch, n, i, "a message of a feed we do not replicate", why);
        else if (!batch[i].ebt && f->canonical[i].len == 0)
            reject(batch, n, i, "an item that is not a message", why);
        else if (!batch[i].ebt &&
                 (checked[i].ok ? memcmp(checked[i].info.author, batch[i].stream.feed, 32) != 0
                                : !authored_by(&f->canonical[i], batch[i].stream.feed)))
            reject(batch, n, i, "a message of another feed", why);
        else if (have(r, &checked[i], &memo)) /* two peers stream it live: this came second */
            batch[i].refused = true;
    }
}

/* Stores what sort_out let through, one transaction (more, past a message that does not follow:
 * its stream's later messages are dropped, everyone else's go on); stored[i] says what was. */
static void append(shoal_repl *r, repl_flight *f, bool *stored, const char **why)
{
    arrived *batch = f->batch;
    const size_t n = f->n;
    const char **texts = f->texts; /* the items' pointers are not needed past the precheck */
    size_t *lens = f->lens;
    shoal_msg_checked *picked = shoal_malloc(n * sizeof *picked);
    for (size_t at = 0; f->status == SHOAL_OK && at < n;) {
        if (!picked) {
            for (size_t i = at; i < n; i++)
                if (!batch[i].refused)
                    reject(batch, n, i, shoal_strerror(SHOAL_E_NOMEM), why);
            break;
        }
        size_t k = 0;
        size_t index[REPL_MAX_BATCH];
        for (size_t i = at; i < n; i++)
            if (!batch[i].refused) {
                index[k] = i;
                texts[k] = f->canonical[i].data;
                lens[k] = f->canonical[i].len;
                picked[k++] = f->checked[i];
            }
        if (k == 0)
            break;
        size_t appended = 0;
        const char *reason = NULL;
        int arc = shoal_feed_store_append(r->store, texts, lens, picked, k, r->hmac_key,
                                          r->cb.clock ? r->cb.clock(r->ud) : 0, &appended, &reason);
        for (size_t i = 0; i < appended; i++)
            stored[index[i]] = true;
        if (arc == SHOAL_OK || appended == k)
            break;
        size_t bad = index[appended];
        if (have(r, &f->checked[bad], NULL)) /* a copy of one this batch stored: dropped */
            batch[bad].refused = true;
        else
            reject(batch, n, bad,
                   arc == SHOAL_E_MSG_INVALID && reason ? reason : shoal_strerror(arc), why);
        at = bad + 1;
    }
    shoal_free(picked);
}

/* A batch whose precheck is done, stored; then each stream that brought something hears its
 * feed's new head, and live streams of those feeds get the news. */
static void land(shoal_repl *r, repl_flight *f)
{
    arrived *batch = f->batch;
    const size_t n = f->n;
    bool *stored = shoal_calloc(n, sizeof *stored);
    const char **why = shoal_calloc(n, sizeof *why);
    if (!stored || !why) { /* unstored: the refusal has it asked for again */
        for (size_t i = 0; i < n; i++)
            if (!batch[i].ebt && repl_asked_of(r, batch[i].stream.rpc, batch[i].stream.id))
                repl_refuse(r, &batch[i].stream, shoal_strerror(SHOAL_E_NOMEM));
        shoal_free(stored);
        shoal_free(why);
        flight_free(f);
        return;
    }
    sort_out(r, f, why);
    append(r, f, stored, why);
    /* first what the replicator itself hears (EBT's core, the live streams), then the callbacks,
     * which may call back into it and land the next batch: after this one, as it came */
    for (size_t i = 0; i < n; i++) {
        if (batch[i].ebt) /* the core decides what follows, stored or not */
            repl_ebt_received(r, &batch[i], stored[i]);
        if (why[i] && batch[i].ebt)
            r->stats.messages_refused++;
        bool later = !stored[i]; /* told once, at the stream's last message of this batch */
        for (size_t j = i + 1; j < n && !later; j++)
            later = stored[j] && batch[j].stream.rpc == batch[i].stream.rpc &&
                    memcmp(batch[j].stream.feed, batch[i].stream.feed, 32) == 0;
        shoal_feed_state head;
        stored[i] = !later && shoal_feed_store_head(r->store, batch[i].stream.feed, &head) ==
                                  SHOAL_OK; /* from here: whose progress is told */
        if (!stored[i])
            continue;
        if (!batch[i].ebt) /* EBT's core heard of it above */
            repl_ebt_have(r, batch[i].stream.feed, head.sequence);
        repl_notify(r, batch[i].stream.feed);
    }
    for (size_t i = 0; i < n; i++) /* unless a callback forgot its session */
        if (why[i] && !batch[i].ebt && repl_asked_of(r, batch[i].stream.rpc, batch[i].stream.id))
            repl_refuse(r, &batch[i].stream, why[i]);
    for (size_t i = 0; r->cb.progress && i < n; i++) {
        shoal_feed_state head;
        if (stored[i] && shoal_feed_store_head(r->store, batch[i].stream.feed, &head) == SHOAL_OK)
            r->cb.progress(r, batch[i].stream.rpc, batch[i].stream.feed, head.sequence, r->ud);
    }
    shoal_free(stored);
    shoal_free(why);
    flight_free(f);
}

/* ---- when batches are stored ------------------------------------------------------------------
 */

void repl_flush(shoal_repl *r)
{
    launch(r);
    for (repl_flight *f; (f = take_first(r, true)) != NULL;)
        land(r, f);
}

void repl_hand_over(shoal_repl *r)
{
    if (!r->pool) {
        repl_flush(r);
        return;
    }
    launch(r);
    while (r->flights.first != r->flights.last) /* all but the batch just handed over */
        land(r, take_first(r, true));
}

void shoal_repl_intake_ready(shoal_repl *r)
{
    uint64_t count;
    if (r->pool)
        (void)!read(r->pool->fd, &count, sizeof count);
    for (repl_flight *f; (f = take_first(r, false)) != NULL;)
        land(r, f);
}

void repl_intake_free(shoal_repl *r)
{
    for (repl_flight *f; (f = take_first(r, true)) != NULL;) /* unstored, as the batch waiting */
        flight_free(f);
    if (r->pool)
        pool_free(r->pool);
    r->pool = NULL;
}

/* Replication with createHistoryStream (see shoal/repl.h).
 *
 * The replicator keeps two lists: the streams it serves (session, stream id, feed, the next
 * sequence to send, what of the limit is left, keys or not, live or not, behind or not) and the
 * streams it requested (session, stream id, feed). Both are small arrays searched linearly: a
 * peer replicates a few hundred feeds at most. A served stream sends a window of its history at
 * a time, the next when the session says the peer took the last (shoal_rpc_writable); a live one
 * that was caught up is marked behind by what is stored, and sends it on that turn too.
 *
 * Messages that arrive wait in a batch, appended in one transaction when the session has
 * dispatched what one input brought (shoal_rpc_on_drained), when REPL_MAX_BATCH wait, or before
 * anything that must see the store as it will be (a stream's end, a new request, a session
 * forgotten). A transaction costs more than validating a message; a batch pays it once. */
#include "repl_internal.h"

#include "shoal/ref.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Messages of one stream sent in one turn: the rest waits until the peer has taken them (the
 * shell's shoal_rpc_writable), so a request for a feed the peer never reads costs a window, not
 * the feed. */
#define WINDOW 128
/* What one writable turn of a session sends at most (it stops after the window that passes it,
 * the next streams wait for the next turn): a peer asking for a thousand feeds at once gets a
 * turn's worth, not a thousand windows. */
#define TURN_BYTES (256u * 1024)

bool repl_grow(void **items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? 2 * *cap : 8;
    void *p = shoal_realloc(*items, c * size);
    if (!p)
        return false;
    *items = p;
    *cap = c;
    return true;
}

shoal_repl *shoal_repl_new(shoal_feed_store *store, const char *hmac_key,
                           const shoal_repl_callbacks *cb, void *ud)
{
    shoal_repl *r = shoal_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->store = store;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    r->threads = cores < 1                       ? 1
                 : cores > SHOAL_MSG_MAX_THREADS ? SHOAL_MSG_MAX_THREADS
                                                 : (unsigned)cores;
    r->cb = *cb;
    r->ud = ud;
    shoal_repl_set_limits(r, 0, 0);
    if (hmac_key && !(r->hmac_key = shoal_strndup(hmac_key, strlen(hmac_key)))) {
        shoal_free(r);
        return NULL;
    }
    return r;
}

void shoal_repl_set_limits(shoal_repl *r, uint32_t max_streams, uint32_t max_same_feed)
{
    r->max_streams = max_streams ? max_streams : SHOAL_REPL_MAX_STREAMS;
    r->max_same_feed = max_same_feed ? max_same_feed : SHOAL_REPL_MAX_SAME_FEED;
}

const shoal_repl_stats *shoal_repl_get_stats(const shoal_repl *r)
{
    return &r->stats;
}

void repl_drop_batch(arrived *batch, size_t n)
{
    for (size_t i = 0; i < n; i++)
        shoal_buf_free(&batch[i].item);
    shoal_free(batch);
}

void shoal_repl_free(shoal_repl *r)
{
    if (!r)
        return;
    repl_intake_free(r);
    repl_ebt_free(r);
    repl_drop_batch(r->batch, r->nbatch);
    shoal_free(r->serving);
    shoal_free(r->asked);
    shoal_free(r->sessions);
    shoal_free(r->heads);
    shoal_free(r->hmac_key);
    shoal_free(r);
}

void shoal_repl_forget(shoal_repl *r, shoal_rpc *rpc)
{
    repl_flush(r);
    repl_ebt_forget(r, rpc);
    shoal_rpc_on_writable(rpc, NULL, NULL);
    for (size_t i = 0; i < r->nserving;)
        if (r->serving[i].rpc == rpc)
            r->serving[i] = r->serving[--r->nserving];
        else
            i++;
    for (size_t i = 0; i < r->nasked;)
        if (r->asked[i].rpc == rpc)
            r->asked[i] = r->asked[--r->nasked];
        else
            i++;
    for (size_t i = 0; i < r->nheads;)
        if (r->heads[i].rpc == rpc)
            r->heads[i] = r->heads[--r->nheads];
        else
            i++;
    for (size_t i = 0; i < r->nsessions; i++)
        if (r->sessions[i] == rpc) {
            r->sessions[i] = r->sessions[--r->nsessions];
            break;
        }
}

/* ---- serving --------------------------------------------------------------------------------- */

typedef struct sending {
    served *s;
    int rc;
} sending;

/* One stored message as a stream item: the message compact, under "value" with its key. */
static bool send_one(const char *text, size_t len, int64_t sequence, const uint8_t id[32],
                     int64_t received, void *ud)
{
    sending *x = ud;
    served *s = x->s;
    shoal_json *msg;
    x->rc = shoal_json_parse(text, len, &msg);
    if (x->rc != SHOAL_OK)
        return false;
    shoal_u16buf u = {0};
    shoal_json_stringify_compact(msg, &u);
    shoal_json_free(msg);
    shoal_buf item = SHOAL_BUF_INIT;
    if (s->keys) {
        char key[64] = "%";
        sodium_bin2base64(key + 1, sizeof key - 1, id, 32, sodium_base64_VARIANT_ORIGINAL);
        shoal_buf_appendf(&item, "{\"key\":\"%s.sha256\",\"value\":", key);
    }
    shoal_u16_to_utf8(u.data, u.len, &item);
    if (s->keys)
        shoal_buf_appendf(&item, ",\"timestamp\":%lld}", (long long)received);
    x->rc = u.status ? u.status : shoal_buf_status(&item);
    if (x->rc == SHOAL_OK)
        x->rc = shoal_rpc_send(
            s->rpc, s->id, &(shoal_rpc_body){SHOAL_RPC_JSON, (const uint8_t *)item.data, item.len});
    shoal_u16buf_free(&u);
    shoal_buf_free(&item);
    if (x->rc != SHOAL_OK)
        return false;
    s->next = sequence + 1;
    if (s->left > 0)
        s->left--;
    return s->left != 0;
}

/* Sends a window of what the store has of the stream's feed from its next sequence on, and
 * notes whether more waits. */
int repl_catch_up(shoal_repl *r, served *s)
{
    sending x = {s, SHOAL_OK};
    s->behind = false;
    if (s->left == 0)
        return SHOAL_OK;
    int64_t window = s->left > 0 && s->left < WINDOW ? s->left : WINDOW;
    int64_t first = s->next;
    int rc = shoal_feed_store_history(r->store, s->feed, s->next, window, send_one, &x);
    if (s->ebt)
        r->stats.ebt_messages_sent += (uint64_t)(s->next - first);
    if (rc != SHOAL_OK || x.rc != SHOAL_OK)
        return rc != SHOAL_OK ? rc : x.rc;
    shoal_feed_state head;
    rc = shoal_feed_store_head(r->store, s->feed, &head);
    s->behind = rc == SHOAL_OK && s->left != 0 && head.sequence >= s->next;
    return rc;
}

bool repl_turn_spent(shoal_rpc *rpc)
{
    size_t queued;
    shoal_rpc_output(rpc, &queued);
    return queued >= TURN_BYTES;
}

static void served_gone(shoal_rpc *rpc, int32_t id, shoal_rpc_event ev, const shoal_rpc_body *body,
                        void *ud)
{
    (void)body;
    shoal_repl *r = ud;
    if (ev == SHOAL_RPC_DATA)
        return;
    for (size_t i = 0; i < r->nserving; i++)
        if (r->serving[i].rpc == rpc && r->serving[i].id == id) {
            r->serving[i] = r->serving[--r->nserving];
            break;
        }
}

static bool flag(const json_t *opts, const char *name, bool otherwise)
{
    const json_t *v = json_object_get(opts, name);
    return json_is_boolean(v) ? json_is_true(v) : otherwise;
}

/* A whole number from a peer's arguments, or `otherwise` when it gave none that makes sense;
 * anything past 2^53 (no feed is that long) is taken as 2^53. */
static int64_t count(const json_t *v, int64_t otherwise)
{
    if (!json_is_number(v))
        return otherwise;
    double x = json_number_value(v);
    if (!(x >= 0)) /* negative, or NaN */
        return otherwise;
    return x > 9007199254740992.0 ? INT64_C(9007199254740992) : (int64_t)x;
}

static void history(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req, void *ud)
{
    shoal_repl *r = ud;
    repl_ebt_legacy_seen(r, rpc);
    repl_flush(r); /* the store as it will be: what came before the request is in its history */
    const json_t *opts = json_array_get(req->args, 0);
    const char *feed = json_string_value(json_object_get(opts, "id"));
    shoal_ref ref;
    if (!feed || shoal_ref_parse(&ref, feed, strlen(feed), NULL) != SHOAL_OK ||
        ref.kind != SHOAL_REF_FEED) {
        (void)!shoal_rpc_error(rpc, id, "Error", "createHistoryStream needs the id of a feed");
        return;
    }
    size_t open = 0, same = 0;
    for (size_t i = 0; i < r->nserving; i++)
        if (r->serving[i].rpc == rpc) {
            open++;
            same += memcmp(r->serving[i].feed, ref.key, 32) == 0;
        }
    if (open >= r->max_streams || same >= r->max_same_feed) {
        r->stats.streams_refused++;
        (void)!shoal_rpc_error(rpc, id, "Error",
                               open >= r->max_streams
                                   ? "too many streams open on this connection"
                                   : "that feed is streamed on this connection already");
        return;
    }
    served s = {.rpc = rpc,
                .id = id,
                .next = count(json_object_get(opts, "seq"), 1),
                .left = count(json_object_get(opts, "limit"), -1),
                .keys = flag(opts, "keys", true)};
    if (s.next < 1)
        s.next = 1;
    memcpy(s.feed, ref.key, 32);
    bool live = flag(opts, "live", false), old = flag(opts, "old", true);
    if (!old) { /* only what comes from now on */
        shoal_feed_state head;
        if (shoal_feed_store_head(r->store, s.feed, &head) == SHOAL_OK && head.sequence >= s.next)
            s.next = head.sequence + 1;
    }
    s.live = live;
    size_t queued;
    shoal_rpc_output(rpc, &queued);
    int rc = SHOAL_OK;
    if (old && queued < TURN_BYTES)
        rc = repl_catch_up(r, &s);
    else if (old) /* this turn's budget is spent: its first window waits for the next */
        s.behind = true;
    if (rc != SHOAL_OK) {
        (void)!shoal_rpc_error(rpc, id, "Error", shoal_strerror(rc));
        return;
    }
    if (!s.behind && (!live || s.left == 0)) {
        (void)!shoal_rpc_end(rpc, id);
        return;
    }
    if (!repl_grow((void **)&r->serving, &r->serving_cap, r->nserving, sizeof *r->serving) ||
        shoal_rpc_listen(rpc, id, served_gone, r) != SHOAL_OK) {
        (void)!shoal_rpc_error(rpc, id, "Error", "out of memory");
        return;
    }
    r->serving[r->nserving++] = s;
}

/* The peer took what was sent: each stream of its that is behind sends its next window; one
 * that is not live ends once it has sent everything. */
static void on_writable(shoal_rpc *rpc, void *ud)
{
    shoal_repl *r = ud;
    size_t queued = 0;
    for (size_t i = 0; i < r->nserving && queued < TURN_BYTES; shoal_rpc_output(rpc, &queued)) {
        served *s = &r->serving[i];
        if (s->rpc != rpc || !s->behind) {
            i++;
            continue;
        }
        int rc = repl_catch_up(r, s);
        if (rc != SHOAL_OK && !s->ebt)
            (void)!shoal_rpc_error(rpc, s->id, "Error", "cannot read the store");
        else if (rc == SHOAL_OK && !s->behind && (!s->live || s->left == 0)) {
            if (!s->ebt) /* an EBT range sent: its stream goes on */
                (void)!shoal_rpc_end(rpc, s->id);
        } else if (rc == SHOAL_OK) {
            i++;
            continue;
        }
        r->serving[i] = r->serving[--r->nserving]; /* done with it */
    }
}

/* ssb-db's latestSequence(id): the sequence of the feed's last message we hold, or the error
 * "not found:ID" when we hold none. */
static void latest(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req, void *ud)
{
    shoal_repl *r = ud;
    const char *feed = json_string_value(json_array_get(req->args, 0));
    shoal_ref ref;
    shoal_feed_state head;
    if (!feed || shoal_ref_parse(&ref, feed, strlen(feed), NULL) != SHOAL_OK ||
        ref.kind != SHOAL_REF_FEED) {
        (void)!shoal_rpc_error(rpc, id, "Error", "latestSequence needs the id of a feed");
        return;
    }
    repl_flush(r); /* the head as it will be */
    int rc = shoal_feed_store_head(r->store, ref.key, &head);
    if (rc != SHOAL_OK || head.sequence == 0) {
        char why[SHOAL_REF_STRSIZE + 16];
        snprintf(why, sizeof why, "not found:%s", feed);
        (void)!shoal_rpc_error(rpc, id, "Error", rc != SHOAL_OK ? shoal_strerror(rc) : why);
        return;
    }
    char text[24];
    int n = snprintf(text, sizeof text, "%lld", (long long)head.sequence);
    (void)!shoal_rpc_reply(rpc, id,
                           &(shoal_rpc_body){SHOAL_RPC_JSON, (const uint8_t *)text, (size_t)n});
}

int shoal_repl_serve(shoal_repl *r, shoal_rpc *rpc)
{
    for (size_t i = 0; i < r->nsessions; i++)
        if (r->sessions[i] == rpc)
            return SHOAL_OK;
    if (!repl_grow((void **)&r->sessions, &r->sessions_cap, r->nsessions, sizeof *r->sessions))
        return SHOAL_E_NOMEM;
    int rc = shoal_rpc_register(rpc, "createHistoryStream", SHOAL_RPC_SOURCE, history, r);
    if (rc == SHOAL_OK)
        rc = shoal_rpc_register(rpc, "latestSequence", SHOAL_RPC_ASYNC, latest, r);
    if (rc == SHOAL_OK && r->ebt)
        rc = repl_ebt_register(r, rpc);
    if (rc == SHOAL_OK) {
        shoal_rpc_on_writable(rpc, on_writable, r);
        r->sessions[r->nsessions++] = rpc;
    }
    return rc;
}

/* The live streams of `feed` that were caught up are behind again, and send what is new on their
 * session's next writable turn. A publish costs a flag per stream here, whatever the streams and
 * whoever reads them. */
void repl_notify(shoal_repl *r, const uint8_t feed[32])
{
    for (size_t i = 0; i < r->nserving; i++) {
        served *s = &r->serving[i];
        if (!s->behind && s->left != 0 && memcmp(s->feed, feed, 32) == 0) {
            s->behind = true;
            shoal_rpc_want_writable(s->rpc);
        }
    }
}

int shoal_repl_publish(shoal_repl *r, const shoal_keypair *keys, double timestamp,
                       const char *content, size_t len, shoal_msg_info *info, const char **reason)
{
    repl_flush(r); /* our head as it will be: a peer may have sent us our own feed's last */
    shoal_feed_state head;
    int rc = shoal_feed_store_head(r->store, keys->pub, &head);
    shoal_buf text = SHOAL_BUF_INIT;
    if (rc == SHOAL_OK)
        rc = shoal_msg_create(keys, &head, timestamp, content, len, r->hmac_key, &text, info,
                              reason);
    size_t appended;
    const char *ptr = text.data;
    if (rc == SHOAL_OK)
        rc = shoal_feed_store_append(r->store, &ptr, &text.len, NULL, 1, r->hmac_key,
                                     (int64_t)timestamp, &appended, reason);
    shoal_buf_free(&text);
    if (rc == SHOAL_OK) {
        repl_notify(r, keys->pub);
        repl_ebt_have(r, keys->pub, head.sequence + 1);
    }
    return rc;
}

/* ---- requesting ------------------------------------------------------------------------------ */

requested *repl_asked_of(shoal_repl *r, shoal_rpc *rpc, int32_t id)
{
    for (size_t i = 0; i < r->nasked; i++)
        if (r->asked[i].rpc == rpc && r->asked[i].id == id)
            return &r->asked[i];
    return NULL;
}

void repl_refuse(shoal_repl *r, const requested *q, const char *why)
{
    requested *open = repl_asked_of(r, q->rpc, q->id);
    if (open)
        *open = r->asked[--r->nasked];
    (void)!shoal_rpc_end(q->rpc, q->id);
    r->stats.messages_refused++;
    if (r->cb.refused)
        r->cb.refused(r, q->rpc, q->feed, why, r->ud);
}

static void on_drained(shoal_rpc *rpc, void *ud)
{
    (void)rpc;
    repl_hand_over(ud);
}

bool repl_take(shoal_repl *r, shoal_rpc *rpc, int32_t id, uint32_t ebt, const shoal_rpc_body *body)
{
    arrived a = {.stream = {rpc, id, {0}}, .item = SHOAL_BUF_INIT, .ebt = ebt};
    shoal_buf_append(&a.item, body->data, body->len);
    if (shoal_buf_status(&a.item) != SHOAL_OK ||
        !repl_grow((void **)&r->batch, &r->batch_cap, r->nbatch, sizeof *r->batch)) {
        shoal_buf_free(&a.item);
        return false;
    }
    r->batch[r->nbatch++] = a;
    if (r->nbatch == REPL_MAX_BATCH)
        repl_hand_over(r);
    return true;
}

static void on_item(shoal_rpc *rpc, int32_t id, shoal_rpc_event ev, const shoal_rpc_body *body,
                    void *ud)
{
    shoal_repl *r = ud;
    requested *q = repl_asked_of(r, rpc, id);
    if (!q)
        return;
    if (ev != SHOAL_RPC_DATA) {
        repl_flush(r); /* what came before the end is stored before anyone hears of it */
        if ((q = repl_asked_of(r, rpc, id)) == NULL)
            return;
        requested done = *q;
        *q = r->asked[--r->nasked];
        if (r->cb.ended)
            r->cb.ended(r, rpc, done.feed, r->ud);
        return;
    }
    arrived a = {.stream = *q, .item = SHOAL_BUF_INIT};
    shoal_buf_append(&a.item, body->data, body->len);
    if (shoal_buf_status(&a.item) != SHOAL_OK ||
        !repl_grow((void **)&r->batch, &r->batch_cap, r->nbatch, sizeof *r->batch)) {
        shoal_buf_free(&a.item);
        repl_flush(r); /* what came before it first */
        if (repl_asked_of(r, rpc, id))
            repl_refuse(r, &a.stream, shoal_strerror(SHOAL_E_NOMEM));
        return;
    }
    r->batch[r->nbatch++] = a;
    if (r->nbatch == REPL_MAX_BATCH)
        repl_hand_over(r);
}

/* The answer to latestSequence: how far the peer holds the feed. An error (a peer that does not
 * tell, or holds none of it) tells nothing. */
static void on_latest(shoal_rpc *rpc, int32_t id, shoal_rpc_event ev, const shoal_rpc_body *body,
                      void *ud)
{
    shoal_repl *r = ud;
    for (size_t i = 0; i < r->nheads; i++)
        if (r->heads[i].rpc == rpc && r->heads[i].id == id) {
            requested q = r->heads[i];
            r->heads[i] = r->heads[--r->nheads];
            json_t *v = ev == SHOAL_RPC_DATA
                            ? json_loadb((const char *)body->data, body->len, JSON_DECODE_ANY, NULL)
                            : NULL;
            json_int_t head = json_is_integer(v) ? json_integer_value(v) : 0;
            json_decref(v);
            if (head > 0 && r->cb.head_known)
                r->cb.head_known(r, rpc, q.feed, head, r->ud);
            return;
        }
}

/* Asks the peer how far it holds `feed` (ssb-db's latestSequence), for head_known. */
static void ask_head(shoal_repl *r, shoal_rpc *rpc, const uint8_t feed[32], const char *id_text)
{
    if (!r->cb.head_known ||
        !repl_grow((void **)&r->heads, &r->heads_cap, r->nheads, sizeof *r->heads))
        return;
    json_t *args = json_pack("[s]", id_text);
    int32_t id;
    if (args && shoal_rpc_call(rpc, SHOAL_RPC_ASYNC, "latestSequence", args, on_latest, r, &id) ==
                    SHOAL_OK) {
        r->heads[r->nheads] = (requested){rpc, id, {0}};
        memcpy(r->heads[r->nheads++].feed, feed, 32);
    }
    json_decref(args);
}

int shoal_repl_request(shoal_repl *r, shoal_rpc *rpc, const uint8_t feed[32], bool live)
{
    repl_flush(r); /* from the head as it will be */
    shoal_feed_state head;
    int rc = shoal_feed_store_head(r->store, feed, &head);
    if (rc != SHOAL_OK)
        return rc;
    if (!repl_grow((void **)&r->asked, &r->asked_cap, r->nasked, sizeof *r->asked))
        return SHOAL_E_NOMEM;
    shoal_ref ref = {.kind = SHOAL_REF_FEED};
    memcpy(ref.key, feed, 32);
    char id_text[SHOAL_REF_STRSIZE];
    shoal_ref_format(&ref, id_text);
    json_t *args = json_pack("[{s:s, s:I, s:b, s:b}]", "id", id_text, "seq",
                             (json_int_t)head.sequence + 1, "live", live, "keys", true);
    int32_t id;
    rc = args ? shoal_rpc_call(rpc, SHOAL_RPC_SOURCE, "createHistoryStream", args, on_item, r, &id)
              : SHOAL_E_NOMEM;
    json_decref(args);
    if (rc == SHOAL_OK) {
        r->asked[r->nasked] = (requested){rpc, id, {0}};
        memcpy(r->asked[r->nasked++].feed, feed, 32);
        shoal_rpc_on_drained(rpc, on_drained, r);
        ask_head(r, rpc, feed, id_text);
    }
    return rc;
}

bool shoal_repl_asking(const shoal_repl *r, const shoal_rpc *rpc, const uint8_t feed[32])
{
    for (size_t j = 0; j < r->nasked; j++)
        if (r->asked[j].rpc == rpc && memcmp(r->asked[j].feed, feed, 32) == 0)
            return true;
    return false;
}

int shoal_repl_request_everywhere(shoal_repl *r, const uint8_t feed[32])
{
    int rc = SHOAL_OK;
    for (size_t i = 0; i < r->nsessions; i++) {
        /* EBT sessions have it from shoal_repl_follow; undecided ones ask when they decide */
        int one = !repl_ebt_old_way(r, r->sessions[i]) || shoal_repl_asking(r, r->sessions[i], feed)
                      ? SHOAL_OK
                      : shoal_repl_request(r, r->sessions[i], feed, true);
        if (one != SHOAL_OK)
            rc = one;
    }
    return rc;
}

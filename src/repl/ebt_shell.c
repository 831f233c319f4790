/* EBT over muxrpc: the shell of the pure core (shoal/ebt.h), and the choice between EBT and
 * createHistoryStream for each session (see repl_internal.h).
 *
 * The choice. Whoever dialled starts EBT (ssb-ebt does the same). The dialler asks for the
 * other's manifest when the session begins: if it has ebt.replicate, it calls it; if not, it
 * replicates with createHistoryStream. The side that was dialled waits: for ebt.replicate, or
 * for the dialler's first createHistoryStream (an old peer's way, or ssb-server 16's after an
 * EBT refusal), which has it ask the old way too. No round trip goes to a refusal, and no feed is
 * asked for twice. Our own call refused has us ask the old way.
 *
 * A session is the core's peer for as long as its duplex stream lasts. Notes objects and
 * messages share the stream: an object whose keys are feed ids is a notes object, anything else
 * is a message for the batch (repl.c), which tells the core what became of each. The core's
 * effects are carried out at once: notes written (at most NOTES_PER_OBJECT feeds to an object),
 * ranges sent a window per writable turn, a peer's clock kept in the store at the session's end
 * and handed back at the next. */
#include "repl_internal.h"

#include "shoal/ref.h"

#include <string.h>

#define EBT_VERSION      3
#define NOTES_PER_OBJECT 1000

static shoal_time now_of(const shoal_repl *r)
{
    return r->cb.now ? r->cb.now(r->ud) : 0;
}

static ebt_session *session_of_peer(shoal_repl *r, uint32_t peer)
{
    for (size_t i = 0; i < r->nebts; i++)
        if (r->ebts[i].peer == peer)
            return &r->ebts[i];
    return NULL;
}

static ebt_session *session_of_stream(shoal_repl *r, const shoal_rpc *rpc, int32_t id)
{
    for (size_t i = 0; i < r->nebts; i++)
        if (r->ebts[i].rpc == rpc && r->ebts[i].id == id)
            return &r->ebts[i];
    return NULL;
}

static choice *choice_of(shoal_repl *r, const shoal_rpc *rpc)
{
    for (size_t i = 0; i < r->nchoices; i++)
        if (r->choices[i].rpc == rpc)
            return &r->choices[i];
    return NULL;
}

/* ---- the core's effects ---------------------------------------------------------------------- */

static void write_notes(shoal_repl *r, ebt_session *s, const shoal_ebt_entry *e, size_t n)
{
    size_t at = 0;
    do {
        size_t end = n - at > NOTES_PER_OBJECT ? at + NOTES_PER_OBJECT : n;
        shoal_buf b = SHOAL_BUF_INIT;
        shoal_buf_append(&b, "{", 1);
        for (size_t i = at; i < end; i++) {
            char id[SHOAL_KEY_B64SIZE];
            shoal_key_to_b64(e[i].feed, id);
            shoal_buf_appendf(&b, "%s\"@%s.ed25519\":%lld", i > at ? "," : "", id,
                              (long long)e[i].value);
        }
        shoal_buf_append(&b, "}", 1);
        if (shoal_buf_status(&b) == SHOAL_OK)
            (void)!shoal_rpc_send(
                s->rpc, s->id, &(shoal_rpc_body){SHOAL_RPC_JSON, (const uint8_t *)b.data, b.len});
        shoal_buf_free(&b);
        at = end;
    } while (at < n);
    r->stats.ebt_notes_sent += n;
}

/* Messages from..to of `feed` to the session: joined to a range of the feed already waiting, or
 * a window sent now and the rest on the peer's writable turns. */
static void send_range(shoal_repl *r, ebt_session *s, const uint8_t feed[32], int64_t from,
                       int64_t to)
{
    for (size_t i = 0; i < r->nserving; i++) {
        served *e = &r->serving[i];
        if (!e->ebt || e->rpc != s->rpc || e->id != s->id || memcmp(e->feed, feed, 32) != 0)
            continue;
        int64_t end = e->next + e->left; /* past the last one waiting */
        if (from > end)
            continue;
        if (from < e->next)
            e->next = from;
        if (to + 1 > end)
            end = to + 1;
        e->left = end - e->next;
        e->behind = true;
        shoal_rpc_want_writable(s->rpc);
        return;
    }
    served e = {.rpc = s->rpc, .id = s->id, .next = from, .left = to - from + 1, .ebt = true};
    memcpy(e.feed, feed, 32);
    if (repl_turn_spent(s->rpc))
        e.behind = true; /* this turn's budget is spent: it waits for the next */
    else if (repl_catch_up(r, &e) != SHOAL_OK || !e.behind)
        return;
    if (!repl_grow((void **)&r->serving, &r->serving_cap, r->nserving, sizeof *r->serving))
        return; /* the peer asks again when it sees nothing come */
    r->serving[r->nserving++] = e;
    shoal_rpc_want_writable(s->rpc);
}

static void keep_clock(shoal_repl *r, const ebt_session *s, const shoal_ebt_entry *e, size_t n)
{
    uint8_t(*feeds)[32] = n ? shoal_malloc(n * 32) : NULL;
    int64_t *seqs = n ? shoal_malloc(n * sizeof *seqs) : NULL;
    if (n && (!feeds || !seqs)) {
        shoal_free(feeds);
        shoal_free(seqs);
        return; /* the last clock kept stays: a clock that is behind costs notes, never data */
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(feeds[i], e[i].feed, 32);
        seqs[i] = e[i].value;
    }
    (void)!shoal_feed_store_set_clock(r->store, s->remote, (const uint8_t(*)[32])feeds, seqs, n);
    shoal_free(feeds);
    shoal_free(seqs);
}

static int reduce(shoal_repl *r, const shoal_ebt_event *ev)
{
    const shoal_ebt_fx *fx;
    size_t n;
    int rc = shoal_ebt_reduce(r->ebt, ev, now_of(r), &fx, &n);
    for (size_t i = 0; rc == SHOAL_OK && i < n; i++) {
        ebt_session *s = session_of_peer(r, fx[i].peer);
        switch (fx[i].type) {
        case SHOAL_EBT_FX_NOTES:
            if (s)
                write_notes(r, s, fx[i].entries, fx[i].nentries);
            break;
        case SHOAL_EBT_FX_SEND:
            if (s)
                send_range(r, s, fx[i].feed, fx[i].from, fx[i].to);
            break;
        case SHOAL_EBT_FX_CLOCK:
            if (s)
                keep_clock(r, s, fx[i].entries, fx[i].nentries);
            break;
        case SHOAL_EBT_FX_SCHEDULE_TICK:
            if (r->cb.schedule)
                r->cb.schedule(r, fx[i].at, r->ud);
            break;
        }
    }
    return rc;
}

/* ---- sessions -------------------------------------------------------------------------------- */

/* The session is over: the core hears it (its clock is kept), its ranges waiting are dropped,
 * and our half of the stream ends unless the whole session is going. */
static void end_session(shoal_repl *r, ebt_session *s, bool end_half)
{
    shoal_rpc *rpc = s->rpc;
    int32_t id = s->id;
    uint32_t peer = s->peer;
    (void)!reduce(r, &(shoal_ebt_event){.type = SHOAL_EBT_EV_DISCONNECT, .peer = peer});
    if ((s = session_of_peer(r, peer)) != NULL)
        *s = r->ebts[--r->nebts];
    for (size_t i = 0; i < r->nserving;)
        if (r->serving[i].ebt && r->serving[i].rpc == rpc && r->serving[i].id == id)
            r->serving[i] = r->serving[--r->nserving];
        else
            i++;
    if (end_half)
        (void)!shoal_rpc_end(rpc, id);
}

static void start_legacy(shoal_repl *r, choice *c)
{
    c->state = CHOICE_LEGACY;
    r->stats.legacy_sessions++;
    if (r->cb.legacy)
        r->cb.legacy(r, c->rpc, c->remote, r->ud);
}

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Whether an item is a notes object: an object whose keys are feed ids (or none). */
static bool is_notes(const shoal_rpc_body *body)
{
    size_t i = 0;
    while (i < body->len && is_space(body->data[i]))
        i++;
    if (i == body->len || body->data[i] != '{')
        return false;
    for (i++; i < body->len && is_space(body->data[i]); i++)
        ;
    return i < body->len && (body->data[i] == '}' || (body->data[i] == '"' && i + 1 < body->len &&
                                                      body->data[i + 1] == '@'));
}

static void on_notes(shoal_repl *r, ebt_session *s, const shoal_rpc_body *body)
{
    uint32_t peer = s->peer;
    repl_flush(r); /* what came before the notes is in the core's view first */
    if ((s = session_of_peer(r, peer)) == NULL)
        return; /* what the flush told ended the session */
    json_t *v = json_loadb((const char *)body->data, body->len, 0, NULL);
    size_t n = json_object_size(v), k = 0;
    shoal_ebt_entry *e = n ? shoal_malloc(n * sizeof *e) : NULL;
    const char *key;
    json_t *value;
    json_object_foreach(v, key, value)
    {
        shoal_ref ref;
        if (!e || !json_is_integer(value) ||
            shoal_ref_parse(&ref, key, strlen(key), NULL) != SHOAL_OK ||
            ref.kind != SHOAL_REF_FEED) {
            r->stats.ebt_notes_refused++;
            continue;
        }
        memcpy(e[k].feed, ref.key, 32);
        e[k++].value = json_integer_value(value);
        /* how far the peer holds a feed we replicate: as ssb-db's latestSequence tells it */
        int64_t seq;
        bool rx;
        if (r->cb.head_known && shoal_ebt_note_read(e[k - 1].value, &seq, &rx) && seq > 0 &&
            shoal_ebt_following(r->ebt, ref.key))
            r->cb.head_known(r, s->rpc, ref.key, seq, r->ud);
    }
    json_decref(v);
    r->stats.ebt_notes_received += k;
    (void)!reduce(r, &(shoal_ebt_event){
                         .type = SHOAL_EBT_EV_NOTES, .peer = peer, .entries = e, .nentries = k});
    shoal_free(e);
}

static void on_stream(shoal_rpc *rpc, int32_t id, shoal_rpc_event ev, const shoal_rpc_body *body,
                      void *ud)
{
    shoal_repl *r = ud;
    ebt_session *s = session_of_stream(r, rpc, id);
    if (!s)
        return;
    if (ev == SHOAL_RPC_DATA && is_notes(body)) {
        s->heard = true;
        on_notes(r, s, body);
    } else if (ev == SHOAL_RPC_DATA) {
        s->heard = true;
        if (!repl_take(r, rpc, id, s->peer, body))
            r->stats.messages_refused++; /* out of memory: the gap it leaves is asked again */
    } else {
        repl_flush(r); /* what came before the end is stored before anyone hears of it */
        if ((s = session_of_stream(r, rpc, id)) == NULL)
            return;
        bool refused = s->client && !s->heard && ev == SHOAL_RPC_ERROR;
        end_session(r, s, ev != SHOAL_RPC_CLOSED);
        choice *c = choice_of(r, rpc);
        if (refused && c) /* our call refused: the old way, then */
            start_legacy(r, c);
    }
}

static void on_drained(shoal_rpc *rpc, void *ud)
{
    (void)rpc;
    repl_hand_over(ud);
}

typedef struct clock_load {
    shoal_ebt_entry *e;
    size_t n, cap;
    bool failed;
} clock_load;

static bool load_one(const uint8_t author[32], int64_t sequence, void *ud)
{
    clock_load *l = ud;
    if (l->n == SHOAL_EBT_MAX_ENTRIES)
        return false;
    if (!repl_grow((void **)&l->e, &l->cap, l->n, sizeof *l->e)) {
        l->failed = true;
        return false;
    }
    memcpy(l->e[l->n].feed, author, 32);
    l->e[l->n++].value = sequence;
    return true;
}

/* A session begins on stream `id` of the choice's session; the core hears of it with the peer's
 * clock kept from last time. */
static int start_session(shoal_repl *r, choice *c, int32_t id, bool client)
{
    if (!repl_grow((void **)&r->ebts, &r->ebts_cap, r->nebts, sizeof *r->ebts))
        return SHOAL_E_NOMEM;
    repl_flush(r); /* the core notes the store as it will be */
    clock_load kept = {0};
    if (shoal_feed_store_clock(r->store, c->remote, load_one, &kept) != SHOAL_OK || kept.failed)
        kept.n = 0; /* none: every feed is noted, as to a peer never met */
    do
        r->last_peer++;
    while (r->last_peer == 0 || session_of_peer(r, r->last_peer));
    ebt_session *s = &r->ebts[r->nebts++];
    *s = (ebt_session){.rpc = c->rpc, .id = id, .peer = r->last_peer, .client = client};
    memcpy(s->remote, c->remote, 32);
    uint32_t peer = s->peer;
    shoal_rpc *rpc = c->rpc;
    int rc = reduce(r, &(shoal_ebt_event){.type = SHOAL_EBT_EV_CONNECT,
                                          .peer = peer,
                                          .client = client,
                                          .entries = kept.e,
                                          .nentries = kept.n});
    shoal_free(kept.e);
    if (rc != SHOAL_OK) {
        if ((s = session_of_peer(r, peer)) != NULL)
            *s = r->ebts[--r->nebts];
        return rc;
    }
    c->state = CHOICE_EBT;
    r->stats.ebt_sessions++;
    shoal_rpc_on_drained(rpc, on_drained, r);
    return SHOAL_OK;
}

/* ---- the calls ------------------------------------------------------------------------------- */

/* ebt.replicate, called by the peer that dialled us: version 3, format "classic" (ssb-ebt 5.6
 * sends no format). */
static void replicate(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req, void *ud)
{
    shoal_repl *r = ud;
    const json_t *opts = json_array_get(req->args, 0);
    const json_t *version = json_object_get(opts, "version");
    const json_t *format = json_object_get(opts, "format");
    choice *c = choice_of(r, rpc);
    const char *why = NULL;
    if (!json_is_integer(version) || json_integer_value(version) != EBT_VERSION)
        why = "ebt.replicate: only version 3 is spoken here";
    else if (format && (!json_is_string(format) || strcmp(json_string_value(format), "classic")))
        why = "ebt.replicate: only the classic format is spoken here";
    else if (!c || c->state == CHOICE_EBT || c->state == CHOICE_LEGACY)
        why = "ebt.replicate: this connection replicates already";
    if (!why) {
        int rc = shoal_rpc_listen(rpc, id, on_stream, r);
        if (rc == SHOAL_OK)
            rc = start_session(r, c, id, false);
        if (rc != SHOAL_OK)
            why = rc == SHOAL_E_INVAL ? "ebt.replicate: too many peers" : shoal_strerror(rc);
    }
    if (why)
        (void)!shoal_rpc_error(rpc, id, "Error", why);
}

/* ebt.clock: how far we hold each feed we replicate. */
typedef struct clock_write {
    shoal_repl *r;
    shoal_buf *b;
    bool first;
} clock_write;

static bool clock_one(const uint8_t author[32], int64_t sequence, void *ud)
{
    clock_write *w = ud;
    if (!shoal_ebt_following(w->r->ebt, author))
        return true;
    char id[SHOAL_KEY_B64SIZE];
    shoal_key_to_b64(author, id);
    shoal_buf_appendf(w->b, "%s\"@%s.ed25519\":%lld", w->first ? "" : ",", id, (long long)sequence);
    w->first = false;
    return shoal_buf_status(w->b) == SHOAL_OK;
}

static void clock(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req, void *ud)
{
    (void)req;
    shoal_repl *r = ud;
    if (repl_turn_spent(rpc)) { /* each answer names every feed: as many as the peer reads */
        (void)!shoal_rpc_error(rpc, id, "Error", "ebt.clock: asked again before reading");
        return;
    }
    repl_flush(r);
    shoal_buf b = SHOAL_BUF_INIT;
    clock_write w = {r, &b, true};
    shoal_buf_append(&b, "{", 1);
    int rc = shoal_feed_store_feeds(r->store, clock_one, &w);
    shoal_buf_append(&b, "}", 1);
    if (rc == SHOAL_OK)
        rc = shoal_buf_status(&b);
    if (rc == SHOAL_OK)
        (void)!shoal_rpc_reply(rpc, id,
                               &(shoal_rpc_body){SHOAL_RPC_JSON, (const uint8_t *)b.data, b.len});
    else
        (void)!shoal_rpc_error(rpc, id, "Error", shoal_strerror(rc));
    shoal_buf_free(&b);
}

int repl_ebt_register(shoal_repl *r, shoal_rpc *rpc)
{
    int rc = shoal_rpc_register(rpc, "ebt.replicate", SHOAL_RPC_DUPLEX, replicate, r);
    return rc == SHOAL_OK ? shoal_rpc_register(rpc, "ebt.clock", SHOAL_RPC_ASYNC, clock, r) : rc;
}

/* The peer's manifest came (or an error): EBT if it lists ebt.replicate as a duplex. */
static void on_manifest(shoal_rpc *rpc, int32_t id, shoal_rpc_event ev, const shoal_rpc_body *body,
                        void *ud)
{
    shoal_repl *r = ud;
    choice *c = choice_of(r, rpc);
    if (!c || c->state != CHOICE_ASKING || c->manifest != id || ev == SHOAL_RPC_CLOSED)
        return; /* closed: the session is going, and nothing is asked on it */
    json_t *m =
        ev == SHOAL_RPC_DATA ? json_loadb((const char *)body->data, body->len, 0, NULL) : NULL;
    const char *kind = json_string_value(json_object_get(json_object_get(m, "ebt"), "replicate"));
    bool ebt = kind && strcmp(kind, "duplex") == 0;
    json_decref(m);
    if (!ebt) {
        start_legacy(r, c);
        return;
    }
    json_t *args = json_pack("[{s:i, s:s}]", "version", EBT_VERSION, "format", "classic");
    int32_t call;
    int rc = args
                 ? shoal_rpc_call(rpc, SHOAL_RPC_DUPLEX, "ebt.replicate", args, on_stream, r, &call)
                 : SHOAL_E_NOMEM;
    json_decref(args);
    if (rc == SHOAL_OK && (rc = start_session(r, c, call, true)) != SHOAL_OK)
        (void)!shoal_rpc_end(rpc, call);
    if (rc != SHOAL_OK && (c = choice_of(r, rpc)) != NULL)
        start_legacy(r, c);
}

/* ---- the replicator's side ------------------------------------------------------------------- */

typedef struct have_load {
    shoal_repl *r;
    int rc;
} have_load;

static bool have_one(const uint8_t author[32], int64_t sequence, void *ud)
{
    have_load *l = ud;
    shoal_ebt_event ev = {.type = SHOAL_EBT_EV_HAVE, .seq = sequence};
    memcpy(ev.feed, author, 32);
    l->rc = reduce(l->r, &ev);
    return l->rc == SHOAL_OK;
}

int shoal_repl_use_ebt(shoal_repl *r, const uint8_t self[32], const shoal_ebt_config *cfg)
{
    if (r->ebt)
        return SHOAL_E_INVAL;
    shoal_ebt_config def;
    shoal_ebt_config_default(&def);
    int rc = shoal_ebt_new(&r->ebt, cfg ? cfg : &def, self);
    if (rc != SHOAL_OK)
        return rc;
    have_load l = {r, SHOAL_OK};
    rc = shoal_feed_store_feeds(r->store, have_one, &l);
    if (rc == SHOAL_OK)
        rc = l.rc == SHOAL_E_EBT_FULL ? SHOAL_OK : l.rc; /* feeds past the bound: not offered */
    if (rc != SHOAL_OK) {
        shoal_ebt_free(r->ebt);
        r->ebt = NULL;
    }
    return rc;
}

int shoal_repl_follow(shoal_repl *r, const uint8_t feed[32], bool follow)
{
    if (!r->ebt)
        return SHOAL_OK;
    shoal_ebt_event ev = {.type = SHOAL_EBT_EV_FOLLOW, .follow = follow};
    memcpy(ev.feed, feed, 32);
    return reduce(r, &ev);
}

void shoal_repl_tick(shoal_repl *r)
{
    if (r->ebt)
        (void)!reduce(r, &(shoal_ebt_event){.type = SHOAL_EBT_EV_TICK});
}

int shoal_repl_start(shoal_repl *r, shoal_rpc *rpc, const uint8_t remote[32], bool dialled)
{
    int rc = shoal_repl_serve(r, rpc);
    if (rc != SHOAL_OK || choice_of(r, rpc))
        return rc;
    if (!repl_grow((void **)&r->choices, &r->choices_cap, r->nchoices, sizeof *r->choices))
        return SHOAL_E_NOMEM;
    choice *c = &r->choices[r->nchoices++];
    *c = (choice){.rpc = rpc, .dialled = dialled, .state = CHOICE_ASKING};
    memcpy(c->remote, remote, 32);
    if (!r->ebt) {
        start_legacy(r, c);
        return SHOAL_OK;
    }
    if (!dialled) {
        c->state = CHOICE_AWAITING;
        return SHOAL_OK;
    }
    json_t *args = json_array();
    int32_t id;
    rc = args ? shoal_rpc_call(rpc, SHOAL_RPC_ASYNC, "manifest", args, on_manifest, r, &id)
              : SHOAL_E_NOMEM;
    json_decref(args);
    if ((c = choice_of(r, rpc)) == NULL)
        return rc;
    if (rc == SHOAL_OK)
        c->manifest = id;
    else
        start_legacy(r, c);
    return SHOAL_OK;
}

/* ---- what the batch and the rest of the replicator tell ------------------------------------- */

void repl_ebt_received(shoal_repl *r, const arrived *a, bool stored)
{
    if (!r->ebt || a->seq == 0 || !shoal_ebt_following(r->ebt, a->stream.feed))
        return; /* not a message we could believe, or of a feed we do not ask anyone for */
    shoal_ebt_event ev = {
        .type = SHOAL_EBT_EV_RECEIVED, .peer = a->ebt, .seq = a->seq, .stored = stored};
    memcpy(ev.feed, a->stream.feed, 32);
    (void)!reduce(r, &ev);
}

void repl_ebt_have(shoal_repl *r, const uint8_t feed[32], int64_t seq)
{
    if (!r->ebt)
        return;
    shoal_ebt_event ev = {.type = SHOAL_EBT_EV_HAVE, .seq = seq};
    memcpy(ev.feed, feed, 32);
    (void)!reduce(r, &ev);
}

bool repl_ebt_wanted(const shoal_repl *r, const uint8_t feed[32])
{
    return r->ebt && shoal_ebt_following(r->ebt, feed);
}

bool repl_ebt_old_way(shoal_repl *r, const shoal_rpc *rpc)
{
    const choice *c = r->ebt ? choice_of(r, rpc) : NULL;
    return !c || c->state == CHOICE_LEGACY;
}

void repl_ebt_legacy_seen(shoal_repl *r, shoal_rpc *rpc)
{
    choice *c = choice_of(r, rpc);
    if (c && c->state == CHOICE_AWAITING)
        start_legacy(r, c);
}

void repl_ebt_forget(shoal_repl *r, shoal_rpc *rpc)
{
    for (size_t i = 0; i < r->nebts;)
        if (r->ebts[i].rpc == rpc)
            end_session(r, &r->ebts[i], false); /* moves the last one here */
        else
            i++;
    for (size_t i = 0; i < r->nchoices; i++)
        if (r->choices[i].rpc == rpc) {
            r->choices[i] = r->choices[--r->nchoices];
            break;
        }
}

void repl_ebt_free(shoal_repl *r)
{
    shoal_ebt_free(r->ebt);
    shoal_free(r->ebts);
    shoal_free(r->choices);
}

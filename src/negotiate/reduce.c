/* The negotiation reducer (see shoal/negotiate.h).
 *
 * How this works. A record is created by a DIAL (we offer) or a stranger's offer (ADMITTING until
 * the state manager answers), and ends with its WebRTC peer's close (RTC_CLOSED), or at once
 * when abandoned. Its role says who hears of its end: a CURRENT record's outcome is reported to
 * the state manager; a SUCCESSOR's end only unlinks it from its predecessor; a RETIRED one's
 * end is silent. Invariants (fuzz/fuzz_negotiate.c checks those the accessors show, after every
 * step): at most one CURRENT record per channel; a SUCCESSOR and its CURRENT predecessor name
 * each other, the predecessor is ESTABLISHED and neither is plain; a RETIRED record is closing
 * and paired with none; only an ADMITTING record holds an offer's SDP, and it is CURRENT, not
 * closing; a closing record queues no signals; a record is posting whenever it queues signals;
 * every record but an established one that is not closing has a deadline; at most max_records
 * records, max_outbox signals each.
 *
 * Every step first allocates what it needs (the texts its effects carry) and only then changes
 * the state, so running out of memory leaves the state as it was. */
#include "negotiate_internal.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

typedef shoal__neg_rec rec;

#define by_id  shoal__neg_by_id
#define say    shoal__neg_log
#define emit   shoal__neg_fx
#define MAX_OF SHOAL_SWARM_MAX_FROM

static char *copy(const char *s)
{
    return shoal_strndup(s, strlen(s));
}

static void digest(const char *sdp, uint8_t out[DIGEST_SIZE])
{
    crypto_generichash(out, DIGEST_SIZE, (const uint8_t *)sdp, strlen(sdp), NULL, 0);
}

/* Our signal for the record's channel, as shoal_swarm_write_signal writes it, into *out.
 * SHOAL_E_INVAL when jansson cannot carry the text (not UTF-8), SHOAL_E_NOMEM. */
static int compose(const shoal_negotiate *n, const char *session, const char *type,
                   const char *text, uint32_t restart, char **out)
{
    json_t *signal;
    if (!text)
        signal = json_pack("{s:s}", "type", type);
    else if (restart)
        signal =
            json_pack("{s:s, s:s, s:I}", "type", type, "sdp", text, "restart", (json_int_t)restart);
    else if (strcmp(type, "candidate") == 0)
        signal = json_pack("{s:s, s:{s:s, s:i, s:s}}", "type", "candidate", "candidate",
                           "candidate", text, "sdpMLineIndex", 0, "sdpMid", "0");
    else
        signal = json_pack("{s:s, s:s}", "type", type, "sdp", text);
    if (!signal)
        return SHOAL_E_INVAL;
    shoal_buf buf = SHOAL_BUF_INIT;
    shoal_swarm_write_signal(n->self, session, signal, &buf);
    json_decref(signal);
    int rc = shoal_buf_status(&buf);
    if (rc != SHOAL_OK) {
        shoal_buf_free(&buf);
        return rc;
    }
    *out = buf.data;
    return SHOAL_OK;
}

static void report(shoal_negotiate *n, const rec *r, shoal_conn_act_type type, int err)
{
    shoal_negotiate_fx *fx = emit(n, SHOAL_NEG_FX_REPORT, r, NULL);
    fx->report.type = type;
    fx->report.err = err;
    fx->report.hub = r->pub.hub;
    fx->report.transport = SHOAL_TRANSPORT_RTC;
    memcpy(fx->report.feed, r->pub.feed, 32);
}

static void set_remote(shoal_negotiate *n, const rec *r, bool offer, char *sdp)
{
    emit(n, SHOAL_NEG_FX_SET_REMOTE, r, sdp)->offer = offer;
}

static void create_rtc(shoal_negotiate *n, const rec *r)
{
    emit(n, SHOAL_NEG_FX_CREATE_RTC, r, NULL);
}

/* The record's WebRTC peer closes; RTC_CLOSED ends the record, or the deadline abandons it. */
static void close_rtc(shoal_negotiate *n, rec *r, shoal_negotiate_close how, shoal_time now)
{
    assert(r->pub.phase != SHOAL_NEG_ADMITTING);
    r->pub.closing = true;
    r->pub.deadline = now + n->cfg.timeout;
    shoal__neg_clear_outbox(n, r);
    emit(n, SHOAL_NEG_FX_CLOSE_RTC, r, NULL)->close = how;
}

/* How a record closes: with goodbyes once a link runs over its channel (a plain peer's carries
 * none), else at once. */
static shoal_negotiate_close closing_kind(const rec *r, shoal_negotiate_phase linked_from)
{
    return !r->pub.plain && r->pub.phase >= linked_from ? SHOAL_NEG_CLOSE_GOODBYE
                                                        : SHOAL_NEG_CLOSE_NOW;
}

static void check_stopped(shoal_negotiate *n)
{
    if (!n->stopping || n->stopped)
        return;
    for (size_t i = 0; i < n->nrecs; i++)
        if (n->recs[i].pub.role != SHOAL_NEG_RETIRED)
            return;
    n->stopped = true;
    emit(n, SHOAL_NEG_FX_STOPPED, NULL, NULL);
}

static void retire(shoal_negotiate *n, rec *r, shoal_time now);

/* Gives up a returning peer's new negotiation, if there is one. */
static void drop_successor(shoal_negotiate *n, rec *r, shoal_time now)
{
    rec *s = r->pub.partner ? by_id(n, r->pub.partner) : NULL;
    if (!s || s->pub.role != SHOAL_NEG_SUCCESSOR)
        return;
    r->pub.partner = 0;
    s->pub.partner = 0;
    retire(n, s, now);
}

/* Closes a record that no one is to hear of again: its goodbyes go out first when connected. */
static void retire(shoal_negotiate *n, rec *r, shoal_time now)
{
    drop_successor(n, r, now);
    r->pub.role = SHOAL_NEG_RETIRED;
    if (!r->pub.closing)
        close_rtc(n, r, closing_kind(r, SHOAL_NEG_ESTABLISHED), now);
}

/* The record's WebRTC peer is gone (or abandoned): what the state manager hears depends on its
 * role and how far it got. */
static void finish(shoal_negotiate *n, rec *r, int err)
{
    shoal_negotiate_record *p = &r->pub;
    if (p->role == SHOAL_NEG_RETIRED) {
        shoal__neg_release(n, r);
        check_stopped(n);
        return;
    }
    rec *partner = p->partner ? by_id(n, p->partner) : NULL;
    if (partner)
        partner->pub.partner = 0;
    if (p->role ==
        SHOAL_NEG_SUCCESSOR) { /* a returning peer's negotiation failed: the old stands */
        say(n, "the new negotiation with %.8s… failed: %s", p->channel, shoal_strerror(err));
        shoal__neg_release(n, r);
        return;
    }
    if (partner) /* the old connection died first: the new one goes on as any other */
        partner->pub.role = SHOAL_NEG_CURRENT;
    bool established = p->phase == SHOAL_NEG_ESTABLISHED;
    if (!established && !n->stopping && !p->busy) {
        n->stats.negotiations_failed++;
        say(n, "the negotiation with %.8s… failed: %s", p->channel, shoal_strerror(err));
    }
    if (!n->stopping && !p->busy) /* a busy peer's record was settled when it said so */
        report(n, r,
               established  ? SHOAL_ACT_REMOTE_PEER_DID_DISCONNECT
               : p->dialled ? SHOAL_ACT_REMOTE_PEER_CONNECTION_FAILED
                            : SHOAL_ACT_REMOTE_PEER_DID_DISCONNECT,
               err);
    if (established)
        emit(n, SHOAL_NEG_FX_DISCONNECTED, r, NULL)->err = err;
    shoal__neg_release(n, r);
    check_stopped(n);
}

/* A successor's handshake is done: it takes its predecessor's place, which closes unreported (to
 * the state manager the peer stayed connected all along). */
static void take_over(shoal_negotiate *n, rec *s, shoal_time now)
{
    rec *old = by_id(n, s->pub.partner);
    assert(old && old->pub.role == SHOAL_NEG_CURRENT);
    old->pub.partner = 0;
    s->pub.partner = 0;
    s->pub.dialled = old->pub.dialled;
    s->pub.role = SHOAL_NEG_CURRENT;
    retire(n, old, now);
    say(n, "%.8s… is back: its new connection replaces the old", s->pub.channel);
}

/* The connection is up: the state manager hears of it as the dial's success, or as a peer that
 * dialled us. */
static void connection_up(shoal_negotiate *n, rec *r, shoal_time now)
{
    r->pub.phase = SHOAL_NEG_ESTABLISHED;
    r->pub.deadline = SHOAL_TIME_NEVER;
    n->stats.connections++;
    if (r->pub.role == SHOAL_NEG_SUCCESSOR)
        take_over(n, r, now);
    else
        report(n, r,
               r->pub.dialled ? SHOAL_ACT_REMOTE_PEER_CONNECTION_SUCCEEDED
                              : SHOAL_ACT_REMOTE_PEER_CLIENT_DID_CONNECT,
               SHOAL_OK);
    emit(n, SHOAL_NEG_FX_CONNECTED, r, NULL);
}

/* A record that events from the WebRTC stack or the link may still move forward. */
static rec *live(shoal_negotiate *n, uint32_t id)
{
    rec *r = by_id(n, id);
    if (!r || r->pub.role == SHOAL_NEG_RETIRED || r->pub.closing ||
        r->pub.phase == SHOAL_NEG_ADMITTING)
        return NULL;
    return r;
}

/* ---- the state manager's effects ------------------------------------------------------------ */

static int on_dial(shoal_negotiate *n, const shoal_negotiate_event *ev, shoal_time now)
{
    if (!ev->channel || !*ev->channel || strlen(ev->channel) > MAX_OF)
        return SHOAL_E_INVAL;
    if (n->stopping || strcmp(ev->channel, n->self) == 0 || shoal__neg_current(n, ev->channel))
        return SHOAL_OK;
    if (shoal__neg_full(n)) {
        say(n, "cannot dial %.8s…: too many negotiations under way", ev->channel);
        shoal__neg_rec stand_in = {.pub = {.hub = ev->hub}};
        memcpy(stand_in.pub.feed, ev->feed, 32);
        report(n, &stand_in, SHOAL_ACT_REMOTE_PEER_CONNECTION_FAILED, SHOAL_OK);
        return SHOAL_OK;
    }
    rec *r = shoal__neg_create(n, ev->channel, ev->feed, ev->hub, ev->plain, true, NULL, now);
    r->pub.dialled = true;
    say(n, "dialling %.8s… through hub %u", ev->channel, ev->hub);
    create_rtc(n, r);
    return SHOAL_OK;
}

/* A network change's close: the path it used may be gone, so there are no goodbyes to wait for,
 * and the record goes at once, leaving room to dial anew. */
static void reset_close(shoal_negotiate *n, rec *r, shoal_time now)
{
    drop_successor(n, r, now);
    if (r->pub.phase != SHOAL_NEG_ADMITTING)
        emit(n, SHOAL_NEG_FX_CLOSE_RTC, r, NULL)->close = SHOAL_NEG_CLOSE_ABANDON;
    finish(n, r, SHOAL_E_NETWORK_RESET);
}

static void on_close(shoal_negotiate *n, const shoal_negotiate_event *ev, shoal_time now)
{
    rec *r = shoal__neg_current_by_feed(n, ev->feed);
    if (!r || (r->pub.closing && ev->reason != SHOAL_CLOSE_NETWORK_RESET))
        return;
    say(n, "closing %.8s… (%s)", r->pub.channel, shoal_close_reason_name(ev->reason));
    if (ev->reason == SHOAL_CLOSE_NETWORK_RESET) {
        reset_close(n, r, now);
    } else if (r->pub.phase == SHOAL_NEG_ADMITTING) {
        finish(n, r, SHOAL_OK);
    } else {
        close_rtc(n, r, closing_kind(r, SHOAL_NEG_LINKING), now);
    }
}

static int on_admission(shoal_negotiate *n, const shoal_negotiate_event *ev)
{
    rec *r = by_id(n, ev->id);
    if (!r || r->pub.phase != SHOAL_NEG_ADMITTING)
        return SHOAL_OK;
    if (ev->admitted) {
        say(n, "%.8s… dials us", r->pub.channel);
        r->pub.phase = SHOAL_NEG_NEGOTIATING;
        create_rtc(n, r);
        set_remote(n, r, true, r->offer_sdp);
        r->offer_sdp = NULL;
        return SHOAL_OK;
    }
    /* Every slot is taken: the dialler hears so at once rather than waiting out its deadline and
     * counting a failure. A plain webrtc-swarm peer would not understand, and is left to time
     * out as webrtc-swarm does. */
    char *busy = NULL;
    int rc = r->pub.plain ? SHOAL_OK : compose(n, r->pub.session, "busy", NULL, 0, &busy);
    if (rc != SHOAL_OK)
        return rc;
    n->stats.offers_turned_away++;
    say(n, "%.8s… dialled us, but every slot is taken", r->pub.channel);
    if (busy)
        snprintf(emit(n, SHOAL_NEG_FX_POST_SIGNAL, r, busy)->channel, MAX_OF + 1, "%s",
                 r->pub.channel);
    shoal__neg_release(n, r);
    return SHOAL_OK;
}

/* ---- ICE restarts ---------------------------------------------------------------------------- */

/* The connection a restart is about: established, ours to report, not a plain peer's. */
static bool restartable(const rec *r)
{
    return r && !r->pub.plain && r->pub.role == SHOAL_NEG_CURRENT &&
           r->pub.phase == SHOAL_NEG_ESTABLISHED && !r->pub.closing;
}

static void on_restart(shoal_negotiate *n, const shoal_negotiate_event *ev, shoal_time now)
{
    rec *r = shoal__neg_current_by_feed(n, ev->feed);
    if (n->stopping || !r || r->pub.closing || r->pub.phase != SHOAL_NEG_ESTABLISHED)
        return;
    if (r->pub.plain) { /* no restarts: closed as the network change closes the rest */
        say(n, "%.8s… cannot restart ICE: closed (network-reset)", r->pub.channel);
        reset_close(n, r, now);
        return;
    }
    r->pub.restarts++;
    r->pub.restarting = true;
    say(n, "restarting ICE with %.8s… on the new network", r->pub.channel);
    emit(n, SHOAL_NEG_FX_RESTART_RTC, r, NULL);
}

/* "restart" (their offer) or "restarted" (the answer to ours), numbered `number`. */
static int on_restart_signal(shoal_negotiate *n, rec *r, const shoal_swarm_msg *m, bool offer,
                             const char *sdp, json_int_t number, shoal_time now)
{
    if (!restartable(r) || strcmp(r->pub.session, m->session) != 0 || number <= 0 ||
        number > UINT32_MAX || strlen(sdp) > SHOAL_NEGOTIATE_MAX_SDP) {
        n->stats.signals_dropped++;
        return SHOAL_OK;
    }
    if (offer ? (number <= r->pub.remote_restarts || now < r->pub.restart_quiet)
              : (!r->pub.restarting || number != r->pub.restarts)) {
        /* a repeat, an old one, one too soon, or an answer we did not ask for (or no longer
         * wait for: a crossing offer of theirs was taken instead) */
        n->stats.signals_dropped++;
        return SHOAL_OK;
    }
    char *text = copy(sdp);
    if (!text)
        return SHOAL_E_NOMEM;
    r->pub.restarting = false;
    if (offer) {
        r->pub.remote_restarts = (uint32_t)number;
        r->pub.restart_quiet = now + SHOAL_NEGOTIATE_RESTART_GAP;
        say(n, "%.8s… restarts ICE", r->pub.channel);
    }
    set_remote(n, r, offer, text);
    return SHOAL_OK;
}

static void on_restarted(shoal_negotiate *n, const shoal_negotiate_event *ev)
{
    rec *r = live(n, ev->id);
    if (!restartable(r))
        return;
    n->stats.restarts++;
    say(n, "the connection with %.8s… moved to a new path", r->pub.channel);
    report(n, r, SHOAL_ACT_REMOTE_PEER_RESTARTED, SHOAL_OK);
}

/* ---- what the hubs bring -------------------------------------------------------------------- */

static bool same_offer(const rec *r, const shoal_swarm_msg *m, const char *sdp)
{
    if (strcmp(r->pub.session, m->session) != 0)
        return false;
    if (!r->pub.plain)
        return true;
    uint8_t d[DIGEST_SIZE];
    digest(sdp, d);
    return r->has_offer && memcmp(d, r->offer_digest, DIGEST_SIZE) == 0;
}

/* A record answering the offer, created beside (successor) or in place of (replacing) p. */
static rec *answer(shoal_negotiate *n, uint32_t hub, const shoal_swarm_msg *m, const char *sdp,
                   char *text, shoal_time now)
{
    rec *r = shoal__neg_create(n, m->from, m->feed, hub, !m->has_feed, false, m->session, now);
    r->has_offer = true;
    digest(sdp, r->offer_digest);
    if (text) {
        create_rtc(n, r);
        set_remote(n, r, true, text);
    }
    return r;
}

static int on_offer(shoal_negotiate *n, uint32_t hub, const shoal_swarm_msg *m, const char *sdp,
                    rec *p, shoal_time now)
{
    if (strlen(sdp) > SHOAL_NEGOTIATE_MAX_SDP) {
        n->stats.signals_refused++;
        return SHOAL_OK;
    }
    if (p) {
        if (same_offer(p, m, sdp))
            return SHOAL_OK; /* the same offer again (through another hub, say) */
        rec *s = p->pub.partner ? by_id(n, p->pub.partner) : NULL;
        if (s && strcmp(s->pub.session, m->session) == 0)
            return SHOAL_OK;
        if (p->pub.initiator && p->pub.phase != SHOAL_NEG_ESTABLISHED && !p->pub.plain &&
            shoal_swarm_we_lead(n->self, m->from))
            return SHOAL_OK; /* glare: both offered; ours stands, they will answer it (a plain
                                peer never yields, so we always do) */
        if (p->pub.phase == SHOAL_NEG_ESTABLISHED && p->pub.plain)
            return SHOAL_OK;
        if (p->pub.phase == SHOAL_NEG_ADMITTING || p->pub.closing) {
            n->stats.signals_dropped++; /* its outcome is being settled: they may dial again */
            return SHOAL_OK;
        }
    }
    if (shoal__neg_full(n)) {
        n->stats.offers_over_cap++;
        return SHOAL_OK;
    }
    char *text = copy(sdp);
    if (!text)
        return SHOAL_E_NOMEM;
    if (!p) {
        rec *r = answer(n, hub, m, sdp, NULL, now);
        r->pub.phase = SHOAL_NEG_ADMITTING;
        r->offer_sdp = text;
        shoal_negotiate_fx *fx = emit(n, SHOAL_NEG_FX_ADMIT, r, NULL);
        fx->report.type = SHOAL_ACT_REMOTE_PEER_CONNECTING;
        fx->report.hub = hub;
        fx->report.transport = SHOAL_TRANSPORT_RTC;
        memcpy(fx->report.feed, m->feed, 32);
        return SHOAL_OK;
    }
    if (p->pub.phase == SHOAL_NEG_ESTABLISHED) {
        /* A connected peer offers anew: it came back. The new negotiation runs beside the old and
         * replaces it once its handshake proves the key, so a forged offer costs only a
         * negotiation that fails at its deadline. */
        drop_successor(n, p, now);
        say(n, "%.8s… dials us again: negotiating beside the connection we hold", m->from);
        rec *s = answer(n, hub, m, sdp, text, now); /* records move only when one is released */
        s->pub.role = SHOAL_NEG_SUCCESSOR;
        s->pub.partner = p->pub.id;
        p->pub.partner = s->pub.id;
        return SHOAL_OK;
    }
    /* Glare, and theirs stands; or they gave up the negotiation we were answering and began
     * another: ours goes quietly, and the new one inherits whether the state manager dialled. */
    say(n,
        p->pub.initiator ? "%.8s… and we dialled each other at once: answering theirs"
                         : "%.8s… began a new negotiation: answering that one",
        m->from);
    bool dialled = p->pub.dialled;
    retire(n, p, now);
    answer(n, hub, m, sdp, text, now)->pub.dialled = dialled;
    return SHOAL_OK;
}

static void on_busy(shoal_negotiate *n, rec *p, const shoal_swarm_msg *m, shoal_time now)
{
    /* only for the negotiation we began, only once, and only while it is not settled */
    if (!p || p->pub.plain || !p->pub.initiator || p->pub.phase == SHOAL_NEG_ESTABLISHED ||
        p->pub.busy || p->pub.closing || strcmp(p->pub.session, m->session) != 0) {
        n->stats.signals_dropped++;
        return;
    }
    say(n, "%.8s… has every slot taken: another candidate gets ours", m->from);
    p->pub.busy = true;
    if (p->pub.dialled)
        report(n, p, SHOAL_ACT_REMOTE_PEER_BUSY, SHOAL_OK);
    close_rtc(n, p, SHOAL_NEG_CLOSE_NOW, now);
}

/* A session is ours (16 hex digits) or the remote's: we echo it in our signals, so it must be
 * printable ASCII, and terminated. */
static bool printable(const char *s, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        if (!s[i])
            return true;
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
    }
    return false;
}

static int on_signal(shoal_negotiate *n, const shoal_negotiate_event *ev, shoal_time now)
{
    const shoal_swarm_msg *m = ev->msg;
    if (!m)
        return SHOAL_E_INVAL;
    if (n->stopping || strcmp(m->from, n->self) == 0)
        return SHOAL_OK;
    if (m->kind != SHOAL_SWARM_SIGNAL || !json_is_object(m->signal) || !*m->from ||
        strnlen(m->from, sizeof m->from) > MAX_OF || !printable(m->session, sizeof m->session)) {
        n->stats.signals_dropped++;
        return SHOAL_OK;
    }
    rec *p = shoal__neg_current(n, m->from);
    const char *type = json_string_value(json_object_get(m->signal, "type"));
    const char *sdp = json_string_value(json_object_get(m->signal, "sdp"));
    if (type && strcmp(type, "busy") == 0) {
        on_busy(n, p, m, now);
        return SHOAL_OK;
    }
    if (type && sdp && strcmp(type, "offer") == 0)
        return on_offer(n, ev->hub, m, sdp, p, now);
    if (type && sdp && (strcmp(type, "restart") == 0 || strcmp(type, "restarted") == 0))
        return on_restart_signal(n, p, m, strcmp(type, "restart") == 0, sdp,
                                 json_integer_value(json_object_get(m->signal, "restart")), now);
    rec *s = p && p->pub.partner ? by_id(n, p->pub.partner) : NULL;
    if (s && strcmp(s->pub.session, m->session) == 0)
        p = s;
    if (!p || p->pub.closing || p->pub.phase == SHOAL_NEG_ADMITTING ||
        strcmp(p->pub.session, m->session) != 0) {
        n->stats.signals_dropped++; /* a signal for a negotiation we do not have */
        return SHOAL_OK;
    }
    const char *cand =
        json_string_value(json_object_get(json_object_get(m->signal, "candidate"), "candidate"));
    if (type && sdp && strcmp(type, "answer") == 0) {
        if (!p->pub.initiator || p->pub.answered || strlen(sdp) > SHOAL_NEGOTIATE_MAX_SDP) {
            n->stats.signals_dropped++; /* an answer we did not ask for, or a second one */
            return SHOAL_OK;
        }
        char *text = copy(sdp);
        if (!text)
            return SHOAL_E_NOMEM;
        p->pub.answered = true;
        set_remote(n, p, false, text);
    } else if (cand) {
        char *text = copy(cand);
        if (!text)
            return SHOAL_E_NOMEM;
        emit(n, SHOAL_NEG_FX_ADD_CANDIDATE, p, text);
    } else {
        n->stats.signals_dropped++; /* a kind we do not know (simple-peer's renegotiate, say) */
    }
    return SHOAL_OK;
}

/* ---- what the WebRTC stack and the link bring ----------------------------------------------- */

static void post(shoal_negotiate *n, rec *r, char *text)
{
    r->pub.posting = true;
    snprintf(emit(n, SHOAL_NEG_FX_POST_SIGNAL, r, text)->channel, MAX_OF + 1, "%s", r->pub.channel);
}

static int on_local_signal(shoal_negotiate *n, const shoal_negotiate_event *ev, shoal_time now)
{
    rec *r = live(n, ev->id);
    if (!r || !ev->text)
        return SHOAL_OK;
    static const char *const types[] = {"offer", "answer", "candidate"};
    if ((unsigned)ev->sig >= sizeof types / sizeof types[0])
        return SHOAL_E_INVAL;
    const char *type = types[ev->sig];
    uint32_t restart = 0;
    if (r->pub.phase == SHOAL_NEG_ESTABLISHED && ev->sig != SHOAL_NEG_SIG_CANDIDATE) {
        /* an ICE restart's description: ours offered, or our answer to theirs */
        bool offer = ev->sig == SHOAL_NEG_SIG_OFFER;
        restart = offer ? r->pub.restarts : r->pub.remote_restarts;
        if (restart == 0 || (offer && !r->pub.restarting))
            return SHOAL_OK;
        type = offer ? "restart" : "restarted";
    }
    char *text;
    int rc = compose(n, r->pub.session, type, ev->text, restart, &text);
    if (rc != SHOAL_OK)
        return rc;
    if (!r->pub.posting) {
        post(n, r, text);
    } else if (r->pub.queued < n->cfg.max_outbox) {
        shoal__neg_push_signal(r, text, n->cfg.max_outbox);
    } else {
        shoal_free(text);
        n->stats.outbox_overflows++;
        say(n, "too many signals wait for %.8s…: the negotiation is closed", r->pub.channel);
        close_rtc(n, r, SHOAL_NEG_CLOSE_NOW, now);
    }
    return SHOAL_OK;
}

static void on_posted(shoal_negotiate *n, const shoal_negotiate_event *ev)
{
    rec *r = by_id(n, ev->id);
    if (!r || !r->pub.posting)
        return;
    r->pub.posting = false;
    if (ev->status != 200 && r->pub.role != SHOAL_NEG_RETIRED)
        say(n, "a signal to %.8s… was not delivered (HTTP %u)", r->pub.channel, ev->status);
    char *next = shoal__neg_pop_signal(r, n->cfg.max_outbox);
    if (next)
        post(n, r, next);
}

static void on_refused(shoal_negotiate *n, const shoal_negotiate_event *ev, shoal_time now)
{
    rec *r = live(n, ev->id);
    if (!r)
        return;
    n->stats.signals_refused++;
    if (ev->sig == SHOAL_NEG_SIG_CANDIDATE) {
        say(n, "a candidate from %.8s… could not be read", r->pub.channel);
        return;
    }
    if (r->pub.phase == SHOAL_NEG_ESTABLISHED) { /* a restart's: the connection stays as it is */
        r->pub.restarting = false;
        say(n, "an ICE restart with %.8s… could not be taken", r->pub.channel);
        return;
    }
    say(n, "the %s of %.8s… could not be read", ev->sig == SHOAL_NEG_SIG_OFFER ? "offer" : "answer",
        r->pub.channel);
    close_rtc(n, r, SHOAL_NEG_CLOSE_NOW, now);
}

static void on_open(shoal_negotiate *n, const shoal_negotiate_event *ev, shoal_time now)
{
    rec *r = live(n, ev->id);
    if (!r || r->pub.phase != SHOAL_NEG_NEGOTIATING)
        return;
    if (r->pub.plain) { /* raw messages: no handshake to wait for */
        connection_up(n, r, now);
        return;
    }
    r->pub.phase = SHOAL_NEG_LINKING;
    emit(n, SHOAL_NEG_FX_START_LINK, r, NULL);
}

static void on_linked(shoal_negotiate *n, const shoal_negotiate_event *ev, shoal_time now)
{
    rec *r = live(n, ev->id);
    if (!r || r->pub.phase != SHOAL_NEG_LINKING)
        return;
    if (memcmp(ev->feed, r->pub.feed, 32) != 0) {
        say(n, "%.8s… answered with another key: closed", r->pub.channel);
        close_rtc(n, r, SHOAL_NEG_CLOSE_NOW, now);
        return;
    }
    connection_up(n, r, now);
}

/* ---- time, and leaving ---------------------------------------------------------------------- */

static void on_tick(shoal_negotiate *n, shoal_time now)
{
    size_t count = 0;
    for (size_t i = 0; i < n->nrecs; i++)
        if (n->recs[i].pub.deadline <= now)
            n->scratch[count++] = n->recs[i].pub.id;
    for (size_t i = 0; i < count; i++) {
        rec *r = by_id(n, n->scratch[i]);
        if (!r)
            continue;
        if (r->pub.closing) { /* its close hangs: the record goes, and its peer with it */
            say(n, "%.8s… did not close in time: abandoned", r->pub.channel);
            emit(n, SHOAL_NEG_FX_CLOSE_RTC, r, NULL)->close = SHOAL_NEG_CLOSE_ABANDON;
            finish(n, r, SHOAL_E_NET_TIMEOUT);
        } else if (r->pub.phase == SHOAL_NEG_ADMITTING) { /* the state manager never answered */
            finish(n, r, SHOAL_E_NET_TIMEOUT);
        } else {
            say(n, "the negotiation with %.8s… took too long", r->pub.channel);
            close_rtc(n, r, SHOAL_NEG_CLOSE_NOW, now);
        }
    }
}

static void on_stop(shoal_negotiate *n, shoal_time now)
{
    if (n->stopping)
        return;
    n->stopping = true;
    size_t count = 0;
    for (size_t i = 0; i < n->nrecs; i++)
        if (n->recs[i].pub.role == SHOAL_NEG_CURRENT)
            n->scratch[count++] = n->recs[i].pub.id;
    for (size_t i = 0; i < count; i++) {
        rec *r = by_id(n, n->scratch[i]);
        drop_successor(n, r, now);
        if (r->pub.phase == SHOAL_NEG_ADMITTING) {
            finish(n, r, SHOAL_OK);
        } else if (!r->pub.closing) {
            say(n, "closing %.8s… (%s)", r->pub.channel,
                shoal_close_reason_name(SHOAL_CLOSE_REQUESTED));
            close_rtc(n, r, closing_kind(r, SHOAL_NEG_LINKING), now);
        }
    }
    check_stopped(n);
}

/* Asks for a tick at the earliest deadline, when that changed. */
static void schedule(shoal_negotiate *n)
{
    shoal_time at = SHOAL_TIME_NEVER;
    for (size_t i = 0; i < n->nrecs; i++)
        if (n->recs[i].pub.deadline < at)
            at = n->recs[i].pub.deadline;
    if (at == n->scheduled)
        return;
    n->scheduled = at;
    emit(n, SHOAL_NEG_FX_SCHEDULE_TICK, NULL, NULL)->at = at;
}

int shoal_negotiate_reduce(shoal_negotiate *n, const shoal_negotiate_event *ev, shoal_time now,
                           const shoal_negotiate_fx **fx, size_t *nfx)
{
    shoal__neg_clear_fx(n);
    *fx = n->fx;
    *nfx = 0;
    int rc = SHOAL_OK;
    switch (ev->type) {
    case SHOAL_NEG_EV_DIAL:
        rc = on_dial(n, ev, now);
        break;
    case SHOAL_NEG_EV_CLOSE:
        on_close(n, ev, now);
        break;
    case SHOAL_NEG_EV_SIGNAL:
        rc = on_signal(n, ev, now);
        break;
    case SHOAL_NEG_EV_ADMISSION:
        rc = on_admission(n, ev);
        break;
    case SHOAL_NEG_EV_LOCAL_SIGNAL:
        rc = on_local_signal(n, ev, now);
        break;
    case SHOAL_NEG_EV_POSTED:
        on_posted(n, ev);
        break;
    case SHOAL_NEG_EV_REFUSED:
        on_refused(n, ev, now);
        break;
    case SHOAL_NEG_EV_RTC_OPEN:
        on_open(n, ev, now);
        break;
    case SHOAL_NEG_EV_LINK_ESTABLISHED:
        on_linked(n, ev, now);
        break;
    case SHOAL_NEG_EV_RTC_CLOSED: {
        rec *r = by_id(n, ev->id);
        if (r && r->pub.phase != SHOAL_NEG_ADMITTING)
            finish(n, r, ev->err);
        break;
    }
    case SHOAL_NEG_EV_TICK:
        on_tick(n, now);
        break;
    case SHOAL_NEG_EV_STOP:
        on_stop(n, now);
        break;
    case SHOAL_NEG_EV_RESTART:
        on_restart(n, ev, now);
        break;
    case SHOAL_NEG_EV_RTC_RESTARTED:
        on_restarted(n, ev);
        break;
    default:
        rc = SHOAL_E_INVAL;
    }
    if (rc != SHOAL_OK) {
        assert(n->nfx == 0); /* failures come before any change */
        return rc;
    }
    schedule(n);
    *nfx = n->nfx;
    return SHOAL_OK;
}

/* libFuzzer target for the negotiation reducer: the input is a script of hostile events (each a
 * few bytes: kind, peer, detail, time step; a signal may take its SDP or candidate text from the
 * bytes that follow), applied to one reducer. After every step it checks the invariants the
 * reducer promises (src/negotiate/reduce.c): the record cap, the outbox bound, the pairing of
 * successors and predecessors, and each record's state. */
#include "shoal/negotiate.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define MAX_RECORDS 6
#define MAX_OUTBOX  3

static const char *const peers[] = {
    "B", "C", "N", "Z",
    "p", "q", "M", "0123456789012345678901234567890123456789012345678901234567890123"};
static const char *const kinds[] = {"offer",       "answer",  "candidate", "busy",
                                    "renegotiate", "restart", "restarted"};

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void check_records(const shoal_negotiate *n)
{
    size_t count = shoal_negotiate_count(n);
    check(count <= MAX_RECORDS);
    for (size_t i = 0; i < count; i++) {
        const shoal_negotiate_record *r = shoal_negotiate_at(n, i);
        check(r->id != 0 && shoal_negotiate_get(n, r->id) == r);
        check(r->queued <= MAX_OUTBOX);
        check(r->queued == 0 || r->posting);
        check(!r->closing || r->queued == 0);
        check(!r->busy || (r->closing && r->initiator && !r->plain));
        check(!r->plain || (r->session[0] == '\0' && r->partner == 0));
        /* only an established shoal connection restarts */
        check(!r->restarting || (r->phase == SHOAL_NEG_ESTABLISHED && !r->plain));
        check(!r->plain || (r->restarts == 0 && r->remote_restarts == 0));
        check((r->phase == SHOAL_NEG_ESTABLISHED && !r->closing) ==
              (r->deadline == SHOAL_TIME_NEVER));
        if (r->phase == SHOAL_NEG_ADMITTING)
            check(r->role == SHOAL_NEG_CURRENT && !r->closing && !r->initiator);
        const shoal_negotiate_record *partner = r->partner ? shoal_negotiate_get(n, r->partner) : 0;
        check(!r->partner ||
              (partner && partner->partner == r->id && strcmp(partner->channel, r->channel) == 0));
        switch (r->role) {
        case SHOAL_NEG_CURRENT:
            check(shoal_negotiate_find(n, r->channel) == r);
            check(!partner ||
                  (partner->role == SHOAL_NEG_SUCCESSOR && r->phase == SHOAL_NEG_ESTABLISHED));
            break;
        case SHOAL_NEG_SUCCESSOR:
            check(partner && partner->role == SHOAL_NEG_CURRENT);
            break;
        case SHOAL_NEG_RETIRED:
            check(!r->partner && r->closing);
            break;
        }
    }
}

static void check_effects(const shoal_negotiate *n, const shoal_negotiate_fx *fx, size_t nfx,
                          bool *stopped)
{
    for (size_t i = 0; i < nfx; i++) {
        switch (fx[i].type) {
        case SHOAL_NEG_FX_CREATE_RTC:
        case SHOAL_NEG_FX_START_LINK:
            check(shoal_negotiate_get(n, fx[i].id) != NULL);
            break;
        case SHOAL_NEG_FX_POST_SIGNAL:
        case SHOAL_NEG_FX_SET_REMOTE:
        case SHOAL_NEG_FX_ADD_CANDIDATE:
            check(fx[i].text && fx[i].id != 0);
            break;
        case SHOAL_NEG_FX_REPORT:
        case SHOAL_NEG_FX_ADMIT:
            check(!*stopped); /* after STOP the state manager hears nothing */
            break;
        case SHOAL_NEG_FX_STOPPED:
            check(!*stopped);
            *stopped = true;
            break;
        default:
            break;
        }
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    shoal_negotiate_config cfg;
    shoal_negotiate_config_default(&cfg);
    cfg.max_records = MAX_RECORDS;
    cfg.max_outbox = MAX_OUTBOX;
    shoal_negotiate *n;
    if (shoal_negotiate_new(&n, &cfg, "M", size) != SHOAL_OK)
        return 0;
    shoal_time now = 0;
    uint32_t newest = 0; /* the highest id seen in an effect, so ids hit live records */
    bool stopped = false, stopping = false;
    size_t i = 0;
    while (i + 4 <= size) {
        const unsigned char *op = data + i;
        i += 4;
        const char *peer = peers[op[1] % (sizeof peers / sizeof peers[0])];
        uint32_t id = newest >= (op[2] & 3) ? newest - (op[2] & 3) : 0;
        char text[64];
        size_t len = 0;
        if (op[0] & 0x80) { /* the event's text from the input */
            len = op[3] % sizeof text;
            len = len < size - i ? len : size - i;
            memcpy(text, data + i, len);
            i += len;
        } else {
            len = (size_t)snprintf(text, sizeof text, "t%u", op[2]);
        }
        text[len] = '\0';
        now += (shoal_time)(op[3] & 0x0f) * 4000;
        shoal_negotiate_event ev;
        memset(&ev, 0, sizeof ev);
        ev.id = id;
        ev.hub = op[2] % 3;
        memset(ev.feed, (op[2] & 0x40) ? 'X' : peer[0], 32);
        shoal_swarm_msg m;
        memset(&m, 0, sizeof m);
        switch (op[0] % 16) {
        case 0:
        case 1:
            ev.type = SHOAL_NEG_EV_DIAL;
            ev.channel = peer;
            ev.plain = peer[0] >= 'a';
            break;
        case 2:
            ev.type = SHOAL_NEG_EV_CLOSE;
            ev.reason = (shoal_close_reason)(op[2] % 6);
            break;
        case 3:
            ev.type = SHOAL_NEG_EV_ADMISSION;
            ev.admitted = op[2] & 0x10;
            break;
        case 4:
            ev.type = SHOAL_NEG_EV_LOCAL_SIGNAL;
            ev.sig = (shoal_negotiate_sig)(op[2] % 3);
            ev.text = text;
            break;
        case 5:
            ev.type = SHOAL_NEG_EV_POSTED;
            ev.status = op[2] & 0x20 ? 500 : 200;
            break;
        case 6:
            ev.type = SHOAL_NEG_EV_REFUSED;
            ev.sig = (shoal_negotiate_sig)(op[2] % 3);
            break;
        case 7:
            ev.type = SHOAL_NEG_EV_RTC_OPEN;
            break;
        case 8:
            ev.type = SHOAL_NEG_EV_LINK_ESTABLISHED;
            break;
        case 9:
            ev.type = SHOAL_NEG_EV_RTC_CLOSED;
            ev.err = op[2] & 0x20 ? SHOAL_E_RTC_ICE_FAILED : SHOAL_OK;
            break;
        case 10:
            ev.type = SHOAL_NEG_EV_TICK;
            break;
        case 11:
            ev.type = op[2] == 0xff ? SHOAL_NEG_EV_STOP : SHOAL_NEG_EV_TICK;
            break;
        case 12:
            ev.type = op[2] & 0x20 ? SHOAL_NEG_EV_RTC_RESTARTED : SHOAL_NEG_EV_RESTART;
            break;
        default: { /* a signal: from any peer, of any kind, for some session */
            ev.type = SHOAL_NEG_EV_SIGNAL;
            m.kind = SHOAL_SWARM_SIGNAL;
            snprintf(m.from, sizeof m.from, "%s", peer);
            m.has_feed = peer[0] < 'a';
            memset(m.feed, peer[0], 32);
            const shoal_negotiate_record *r = shoal_negotiate_get(n, id);
            if (op[2] & 0x80 && r)
                memcpy(m.session, r->session, sizeof m.session);
            else if (op[2] & 0x40)
                snprintf(m.session, sizeof m.session, "s%u", op[2] & 7);
            else if (op[0] & 0x80)
                memcpy(m.session, text, len < 16 ? len : 16);
            const char *kind = kinds[(op[0] >> 4) % (sizeof kinds / sizeof kinds[0])];
            m.signal = json_object();
            json_object_set_new(m.signal, "type", json_string(kind));
            json_t *value = json_stringn_nocheck(text, len);
            if (strcmp(kind, "candidate") == 0) {
                json_t *c = json_object();
                json_object_set_new(c, "candidate", value);
                json_object_set_new(m.signal, "candidate", c);
            } else {
                json_object_set_new(m.signal, "sdp", value);
            }
            if (strncmp(kind, "restart", 7) == 0) /* numbered around the ones held */
                json_object_set_new(m.signal, "restart", json_integer((op[3] & 7) - 1));
            ev.msg = &m;
            break;
        }
        }
        stopping |= ev.type == SHOAL_NEG_EV_STOP;
        const shoal_negotiate_fx *fx;
        size_t nfx;
        int rc = shoal_negotiate_reduce(n, &ev, now, &fx, &nfx);
        shoal_swarm_msg_clear(&m);
        check(rc == SHOAL_OK || rc == SHOAL_E_INVAL);
        if (rc == SHOAL_OK) {
            for (size_t k = 0; k < nfx; k++)
                if (fx[k].id > newest)
                    newest = fx[k].id;
            check_effects(n, fx, nfx, &stopped);
        }
        check_records(n);
        check(!stopped || stopping);
    }
    shoal_negotiate_free(n);
    return 0;
}

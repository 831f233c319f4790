#include "script.h"

#include <ctype.h>
#include <stdlib.h>

void script_init(script *s, const shoal_negotiate_config *cfg)
{
    memset(s, 0, sizeof *s);
    shoal_negotiate_config def;
    shoal_negotiate_config_default(&def);
    if (shoal_negotiate_new(&s->n, cfg ? cfg : &def, "M", 1) != SHOAL_OK)
        abort();
}

void script_free(script *s)
{
    shoal_negotiate_free(s->n);
}

static void append(char *out, size_t cap, const char *fmt, ...) SHOAL_PRINTF(3, 4);
static void append(char *out, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(out);
    if (len + 2 >= cap)
        return;
    if (len > 0) {
        strcpy(out + len, "; ");
        len += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + len, cap - len, fmt, ap);
    va_end(ap);
}

static const char *act_name(shoal_conn_act_type type)
{
    const char *name = shoal_conn_act_name(type);
    return strncmp(name, "REMOTE_PEER_", 12) == 0 ? name + 12 : name;
}

static void render(script *s, const shoal_negotiate_fx *fx)
{
    static const char *const closes[] = {"goodbye", "now", "abandon"};
    char *out = s->out;
    size_t cap = sizeof s->out;
    switch (fx->type) {
    case SHOAL_NEG_FX_CREATE_RTC:
        append(out, cap, "CREATE_RTC #%u %s", fx->id, fx->initiator ? "offerer" : "answerer");
        break;
    case SHOAL_NEG_FX_SET_REMOTE:
        append(out, cap, "SET_REMOTE #%u %s %s", fx->id, fx->offer ? "offer" : "answer", fx->text);
        break;
    case SHOAL_NEG_FX_ADD_CANDIDATE:
        append(out, cap, "ADD_CANDIDATE #%u %s", fx->id, fx->text);
        break;
    case SHOAL_NEG_FX_POST_SIGNAL:
        append(out, cap, "POST #%u h%u %s %s", fx->id, fx->hub, fx->channel, fx->text);
        break;
    case SHOAL_NEG_FX_START_LINK:
        append(out, cap, "START_LINK #%u %s %c", fx->id, fx->initiator ? "client" : "server",
               fx->feed[0]);
        break;
    case SHOAL_NEG_FX_CLOSE_RTC:
        append(out, cap, "CLOSE_RTC #%u %s", fx->id, closes[fx->close]);
        break;
    case SHOAL_NEG_FX_ADMIT:
        append(out, cap, "ADMIT #%u %s %c h%u", fx->id, act_name(fx->report.type),
               fx->report.feed[0], fx->report.hub);
        break;
    case SHOAL_NEG_FX_REPORT:
        append(out, cap, "REPORT %s %c", act_name(fx->report.type), fx->report.feed[0]);
        break;
    case SHOAL_NEG_FX_CONNECTED:
        append(out, cap, "CONNECTED #%u %c%s", fx->id, fx->feed[0], fx->plain ? " plain" : "");
        break;
    case SHOAL_NEG_FX_DISCONNECTED:
        append(out, cap, "DISCONNECTED #%u %c %s", fx->id, fx->feed[0], shoal_errname(fx->err));
        break;
    case SHOAL_NEG_FX_STOPPED:
        append(out, cap, "STOPPED");
        break;
    case SHOAL_NEG_FX_RESTART_RTC:
        append(out, cap, "RESTART_RTC #%u", fx->id);
        break;
    case SHOAL_NEG_FX_SCHEDULE_TICK:
        if (s->show_ticks) {
            if (fx->at == SHOAL_TIME_NEVER)
                append(out, cap, "TICK never");
            else
                append(out, cap, "TICK @%lld", (long long)fx->at);
        }
        break;
    case SHOAL_NEG_FX_LOG:
        if (s->show_logs)
            append(out, cap, "LOG %s", fx->line);
        break;
    }
}

const char *script_step(script *s, shoal_time now, shoal_negotiate_event ev)
{
    s->out[0] = '\0';
    int rc = shoal_negotiate_reduce(s->n, &ev, now, &s->fx, &s->nfx);
    if (rc != SHOAL_OK) {
        snprintf(s->out, sizeof s->out, "ERROR %s", shoal_errname(rc));
        return s->out;
    }
    for (size_t i = 0; i < s->nfx; i++)
        render(s, &s->fx[i]);
    return s->out;
}

const char *script_signal(script *s, shoal_time now, const char *from, uint32_t hub,
                          const char *session, const char *signal_json)
{
    shoal_swarm_msg m;
    memset(&m, 0, sizeof m);
    m.kind = SHOAL_SWARM_SIGNAL;
    snprintf(m.from, sizeof m.from, "%s", from);
    m.has_feed = !islower((unsigned char)from[0]);
    memset(m.feed, from[0], 32);
    snprintf(m.session, sizeof m.session, "%s", m.has_feed ? session : "");
    m.signal = json_loads(signal_json, 0, NULL);
    if (!m.signal)
        abort();
    shoal_negotiate_event ev = ev_type(SHOAL_NEG_EV_SIGNAL);
    ev.hub = hub;
    ev.msg = &m;
    script_step(s, now, ev);
    shoal_swarm_msg_clear(&m);
    return s->out;
}

shoal_negotiate_event ev_type(shoal_negotiate_ev_type type)
{
    shoal_negotiate_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    return ev;
}

shoal_negotiate_event ev_dial(const char *channel, uint32_t hub)
{
    shoal_negotiate_event ev = ev_type(SHOAL_NEG_EV_DIAL);
    ev.channel = channel;
    ev.plain = islower((unsigned char)channel[0]);
    ev.hub = hub;
    memset(ev.feed, channel[0], 32);
    return ev;
}

shoal_negotiate_event ev_close(const char *channel, shoal_close_reason reason)
{
    shoal_negotiate_event ev = ev_type(SHOAL_NEG_EV_CLOSE);
    memset(ev.feed, channel[0], 32);
    ev.reason = reason;
    return ev;
}

shoal_negotiate_event ev_admission(uint32_t id, bool admitted)
{
    shoal_negotiate_event ev = ev_type(SHOAL_NEG_EV_ADMISSION);
    ev.id = id;
    ev.admitted = admitted;
    return ev;
}

shoal_negotiate_event ev_local(uint32_t id, shoal_negotiate_sig sig, const char *text)
{
    shoal_negotiate_event ev = ev_type(SHOAL_NEG_EV_LOCAL_SIGNAL);
    ev.id = id;
    ev.sig = sig;
    ev.text = text;
    return ev;
}

shoal_negotiate_event ev_posted(uint32_t id, unsigned status)
{
    shoal_negotiate_event ev = ev_type(SHOAL_NEG_EV_POSTED);
    ev.id = id;
    ev.status = status;
    return ev;
}

shoal_negotiate_event ev_refused(uint32_t id, shoal_negotiate_sig sig)
{
    shoal_negotiate_event ev = ev_type(SHOAL_NEG_EV_REFUSED);
    ev.id = id;
    ev.sig = sig;
    return ev;
}

shoal_negotiate_event ev_open(uint32_t id)
{
    shoal_negotiate_event ev = ev_type(SHOAL_NEG_EV_RTC_OPEN);
    ev.id = id;
    return ev;
}

shoal_negotiate_event ev_linked(uint32_t id, char key)
{
    shoal_negotiate_event ev = ev_type(SHOAL_NEG_EV_LINK_ESTABLISHED);
    ev.id = id;
    memset(ev.feed, key, 32);
    return ev;
}

shoal_negotiate_event ev_closed(uint32_t id, int err)
{
    shoal_negotiate_event ev = ev_type(SHOAL_NEG_EV_RTC_CLOSED);
    ev.id = id;
    ev.err = err;
    return ev;
}

const shoal_negotiate_record *record_of(script *s, uint32_t id)
{
    const shoal_negotiate_record *r = shoal_negotiate_get(s->n, id);
    if (!r)
        abort();
    return r;
}

const char *session_of(script *s, uint32_t id)
{
    return record_of(s, id)->session;
}

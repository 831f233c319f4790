#include "script.h"

#include <stdlib.h>
#include <string.h>

void feed_of(char letter, uint8_t feed[32])
{
    memset(feed, letter, 32);
}

void script_init(script *s, const shoal_conn_config *cfg)
{
    memset(s, 0, sizeof *s);
    shoal_conn_config def;
    shoal_conn_config_default(&def);
    uint8_t self[32];
    feed_of('S', self);
    if (shoal_conn_new(&s->c, cfg ? cfg : &def, self, 1) != SHOAL_OK)
        abort();
    s->show_events = true;
}

void script_free(script *s)
{
    shoal_conn_free(s->c);
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

const char *script_step(script *s, shoal_time now, shoal_conn_action a)
{
    s->now = now;
    s->out[0] = '\0';
    int rc = shoal_conn_reduce(s->c, &a, now, &s->fx, &s->nfx);
    if (rc != SHOAL_OK) {
        snprintf(s->out, sizeof s->out, "ERROR %s", shoal_errname(rc));
        return s->out;
    }
    for (size_t i = 0; i < s->nfx; i++) {
        const shoal_conn_fx *fx = &s->fx[i];
        const char *name = shoal_conn_fx_name(fx->type);
        switch (fx->type) {
        case SHOAL_FX_CONNECT_TO_HUB:
        case SHOAL_FX_DISCONNECT_HUB:
        case SHOAL_FX_ANNOUNCE_TO_HUB:
            append(s->out, sizeof s->out, "%s h%u", name, fx->hub);
            break;
        case SHOAL_FX_DIAL_PEER:
        case SHOAL_FX_RESTART_PEER:
            append(s->out, sizeof s->out, "%s %c via h%u", name, fx->feed[0], fx->hub);
            break;
        case SHOAL_FX_CLOSE_PEER:
            append(s->out, sizeof s->out, "%s %c %s", name, fx->feed[0],
                   shoal_close_reason_name(fx->reason));
            break;
        case SHOAL_FX_SCHEDULE_TICK:
            s->tick_at = fx->at;
            if (s->show_ticks)
                append(s->out, sizeof s->out, "TICK @%lld", (long long)fx->at);
            break;
        case SHOAL_FX_HUB_CHANGED:
        case SHOAL_FX_HUB_REMOVED:
            if (s->show_events)
                append(s->out, sizeof s->out, "%s h%u %s",
                       fx->type == SHOAL_FX_HUB_REMOVED ? "HUB_REMOVED" : "HUB", fx->hub_record->id,
                       shoal_hub_state_name(fx->hub_record->state));
            break;
        case SHOAL_FX_PEER_CHANGED:
        case SHOAL_FX_PEER_FORGOTTEN:
            if (s->show_events)
                append(s->out, sizeof s->out, "%s %c %s",
                       fx->type == SHOAL_FX_PEER_FORGOTTEN ? "PEER_FORGOTTEN" : "PEER",
                       fx->peer_record->feed[0], shoal_peer_state_name(fx->peer_record->state));
            break;
        }
    }
    return s->out;
}

shoal_conn_action act(shoal_conn_act_type type)
{
    shoal_conn_action a;
    memset(&a, 0, sizeof a);
    a.type = type;
    a.hub = SHOAL_CONN_NO_HUB;
    return a;
}

shoal_conn_action act_hub(shoal_conn_act_type type, uint32_t hub)
{
    shoal_conn_action a = act(type);
    a.hub = hub;
    return a;
}

shoal_conn_action act_peer(shoal_conn_act_type type, char feed, uint32_t hub)
{
    shoal_conn_action a = act_hub(type, hub);
    feed_of(feed, a.feed);
    return a;
}

shoal_conn_action act_add_hub(int n)
{
    static shoal_hub_addr addrs[64];
    char text[64];
    int len = snprintf(text, sizeof text, "hub%d.example", n);
    if (n < 0 || n >= 64 || shoal_hub_addr_parse(&addrs[n], text, (size_t)len, NULL) != SHOAL_OK)
        abort();
    shoal_conn_action a = act(SHOAL_ACT_HUB_ADDRESS_ADDED);
    a.addr = &addrs[n];
    return a;
}

shoal_conn_action act_config(const shoal_conn_config *cfg)
{
    shoal_conn_action a = act(SHOAL_ACT_CONFIG_CHANGED);
    a.config = cfg;
    return a;
}

const shoal_conn_peer *peer_of(script *s, char letter)
{
    uint8_t feed[32];
    feed_of(letter, feed);
    return shoal_conn_peer_find(s->c, feed);
}

const char *script_connect_hub(script *s, shoal_time now, int n)
{
    script_step(s, now, act_add_hub(n));
    const shoal_conn_hub *h = shoal_conn_hub_find(s->c, act_add_hub(n).addr);
    if (!h)
        abort();
    return script_step(s, now, act_hub(SHOAL_ACT_HUB_CONNECTION_SUCCEEDED, h->id));
}

const char *script_connect_peer(script *s, shoal_time now, char letter, uint32_t hub)
{
    script_step(s, now, act_peer(SHOAL_ACT_REMOTE_PEER_DID_ANNOUNCE, letter, hub));
    return script_step(
        s, now, act_peer(SHOAL_ACT_REMOTE_PEER_CONNECTION_SUCCEEDED, letter, SHOAL_CONN_NO_HUB));
}

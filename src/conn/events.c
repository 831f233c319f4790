/* Effects, record marks and the flush that turns marks into exactly one event per record. */
#include "conn_internal.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The part of a hub record that can change: everything from `state` on (id and addr are fixed
 * for the hub's life). */
#define HUB_MUTABLE_SIZE (sizeof(shoal_conn_hub) - offsetof(shoal_conn_hub, state))

/* Capacity was reserved at the start of the call (shoal__conn_reserve). */
void shoal__conn_fx_push(shoal_conn *c, shoal_conn_fx_type type, uint32_t hub, const uint8_t *feed)
{
    assert(c->nfx < c->fx_cap); /* shoal__conn_reserve's bound is wrong otherwise */
    shoal_conn_fx *fx = &c->fx[c->nfx++];
    memset(fx, 0, sizeof *fx);
    fx->type = type;
    fx->hub = hub;
    if (feed)
        memcpy(fx->feed, feed, 32);
}

void shoal__conn_touch_peer(shoal_conn *c, size_t pos)
{
    if (c->peer_mark[pos] != MARK_NONE)
        return;
    assert(c->ndirty < c->dirty_cap && c->ndirty < c->ev_peer_cap);
    c->ev_peers[c->ndirty] = c->peers[pos];
    c->dirty_peers[c->ndirty++] = (uint32_t)pos;
    c->peer_mark[pos] = MARK_TOUCHED;
}

void shoal__conn_forget_peer(shoal_conn *c, size_t pos)
{
    shoal__conn_touch_peer(c, pos);
    c->peer_mark[pos] = MARK_GONE;
}

void shoal__conn_touch_hub(shoal_conn *c, uint32_t id)
{
    if (c->hub_mark[id] != MARK_NONE)
        return;
    /* The before-image needs only what can change: everything after the address. */
    memcpy(&c->ev_hubs[id].state, &c->hubs[id].state, HUB_MUTABLE_SIZE);
    c->hub_mark[id] = MARK_TOUCHED;
    c->hubs_touched = true;
}

static bool hub_unchanged(const shoal_conn_hub *before, const shoal_conn_hub *now)
{
    return before->state == now->state && before->failures == now->failures &&
           before->next_attempt == now->next_attempt && before->deadline == now->deadline &&
           before->last_message == now->last_message && before->score == now->score &&
           before->successes == now->successes && before->total_failures == now->total_failures;
}

void shoal__conn_drop_hub(shoal_conn *c, uint32_t id)
{
    shoal__conn_touch_hub(c, id);
    c->hub_mark[id] = MARK_GONE;
}

bool shoal_conn_peer_equal(const shoal_conn_peer *a, const shoal_conn_peer *b)
{
    if (memcmp(a->feed, b->feed, 32) != 0 || a->state != b->state || a->transport != b->transport ||
        a->route != b->route || a->nroutes != b->nroutes || a->failures != b->failures ||
        a->protected != b->protected || a->inbound != b->inbound ||
        a->last_announce != b->last_announce || a->last_attempt != b->last_attempt ||
        a->backoff_until != b->backoff_until || a->deadline != b->deadline ||
        a->connected_since != b->connected_since || a->rotate_at != b->rotate_at ||
        a->downloading_until != b->downloading_until || a->successes != b->successes ||
        a->total_failures != b->total_failures || a->connected_total != b->connected_total ||
        a->restart_by != b->restart_by || a->restart_asked != b->restart_asked)
        return false;
    for (uint32_t i = 0; i < a->nroutes; i++)
        if (a->routes[i].hub != b->routes[i].hub ||
            a->routes[i].announced != b->routes[i].announced)
            return false;
    return true;
}

bool shoal_conn_hub_equal(const shoal_conn_hub *a, const shoal_conn_hub *b)
{
    return a->id == b->id && shoal_hub_addr_equal(&a->addr, &b->addr) && a->state == b->state &&
           a->failures == b->failures && a->next_attempt == b->next_attempt &&
           a->deadline == b->deadline && a->last_message == b->last_message &&
           a->score == b->score && a->successes == b->successes &&
           a->total_failures == b->total_failures;
}

static bool holds_slot(shoal_peer_state s)
{
    return s == SHOAL_PEER_CONNECTING || s == SHOAL_PEER_CONNECTED;
}

/* Moves a peer to `state`, keeping the active list and the slot counts true, and closing the
 * books on a connection that ends. */
void shoal__conn_set_state(shoal_conn *c, size_t pos, shoal_peer_state state, shoal_time now)
{
    shoal_conn_peer *p = &c->peers[pos];
    shoal_peer_state old = p->state;
    if (old == state)
        return;
    shoal__conn_touch_peer(c, pos);
    bool was_active = old != SHOAL_PEER_DISCONNECTED;
    bool is_active = state != SHOAL_PEER_DISCONNECTED;
    if (was_active && !is_active) {
        for (size_t i = 0; i < c->nactive; i++)
            if (c->active[i] == pos) {
                c->active[i] = c->active[--c->nactive];
                break;
            }
    } else if (!was_active && is_active) {
        c->active[c->nactive++] = (uint32_t)pos;
    }
    c->cut_dirty = true;
    c->slots_used += (uint32_t)holds_slot(state) - (uint32_t)holds_slot(old);
    c->connected +=
        (uint32_t)(state == SHOAL_PEER_CONNECTED) - (uint32_t)(old == SHOAL_PEER_CONNECTED);
    if (old == SHOAL_PEER_CONNECTED) {
        p->connected_total += now - p->connected_since;
        shoal__conn_restart_done(c, pos);
    }
    if (holds_slot(old) && !holds_slot(state))
        c->fill_dirty = true;
    if (state == SHOAL_PEER_DISCONNECTED) {
        shoal__conn_forget_by(c, p->last_announce + c->cfg.forget_after);
        if (old == SHOAL_PEER_DISCONNECTING && p->backoff_until <= now)
            c->fill_dirty = true; /* closed with no rest (a restart that failed): a candidate */
        shoal_time dialable = p->backoff_until > now ? p->backoff_until : now;
        if (dialable < c->candidate_next)
            c->candidate_next = dialable;
    }
    p->state = state;
}

void shoal__conn_restart_done(shoal_conn *c, size_t pos)
{
    shoal_conn_peer *p = &c->peers[pos];
    if (p->restart_by == 0)
        return;
    shoal__conn_touch_peer(c, pos);
    p->restart_by = 0;
    p->restart_asked = false;
    c->restarting--;
}

void shoal__conn_forget_by(shoal_conn *c, shoal_time when)
{
    if (when < c->forget_next)
        c->forget_next = when;
}

void shoal__conn_close(shoal_conn *c, size_t pos, shoal_close_reason reason)
{
    shoal__conn_fx_push(c, SHOAL_FX_CLOSE_PEER, SHOAL_CONN_NO_HUB, c->peers[pos].feed);
    c->fx[c->nfx - 1].reason = reason;
}

/* Peers are dropped from the highest position down, so the peer that moves into a hole (always
 * the last one) is never one still waiting to be dropped. */
static int by_position_descending(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x < y) - (x > y);
}

void shoal__conn_flush(shoal_conn *c)
{
    for (uint32_t id = 0; c->hubs_touched && id < c->nhub_slots; id++) {
        int mark = c->hub_mark[id];
        c->hub_mark[id] = MARK_NONE;
        if (mark == MARK_NONE ||
            (mark == MARK_TOUCHED && hub_unchanged(&c->ev_hubs[id], &c->hubs[id])))
            continue;
        c->ev_hubs[id] = c->hubs[id];
        shoal__conn_fx_push(c, mark == MARK_GONE ? SHOAL_FX_HUB_REMOVED : SHOAL_FX_HUB_CHANGED, id,
                            NULL);
        c->fx[c->nfx - 1].hub_record = &c->ev_hubs[id];
        if (mark == MARK_GONE) {
            c->hub_live[id] = 0;
            c->nhubs--;
        }
    }

    size_t ngone = 0;
    for (size_t i = 0; i < c->ndirty; i++) {
        uint32_t pos = c->dirty_peers[i];
        int mark = c->peer_mark[pos];
        c->peer_mark[pos] = MARK_NONE;
        if (mark == MARK_TOUCHED && shoal_conn_peer_equal(&c->ev_peers[i], &c->peers[pos]))
            continue;
        c->ev_peers[i] = c->peers[pos];
        shoal__conn_fx_push(c, mark == MARK_GONE ? SHOAL_FX_PEER_FORGOTTEN : SHOAL_FX_PEER_CHANGED,
                            SHOAL_CONN_NO_HUB, c->peers[pos].feed);
        c->fx[c->nfx - 1].peer_record = &c->ev_peers[i];
        if (mark == MARK_GONE)
            c->dirty_peers[ngone++] = pos;
    }
    c->hubs_touched = false;
    if (ngone > 1)
        qsort(c->dirty_peers, ngone, sizeof *c->dirty_peers, by_position_descending);
    for (size_t i = 0; i < ngone; i++)
        shoal__conn_peer_remove(c, c->dirty_peers[i]);
    c->ndirty = 0;
}

/* Effects, record marks and the flush that turns marks into exactly one event per record. */
#include "conn_internal.h"

#include <stdlib.h>
#include <string.h>

/* Capacity was reserved at the start of the call (shoal__conn_reserve). */
void shoal__conn_fx_push(shoal_conn *c, shoal_conn_fx_type type, uint32_t hub,
                         const uint8_t *feed)
{
    shoal_conn_fx *fx = &c->fx[c->nfx++];
    memset(fx, 0, sizeof *fx);
    fx->type = type;
    fx->hub = hub;
    if (feed)
        memcpy(fx->feed, feed, 32);
}

void shoal__conn_mark_peer(shoal_conn *c, size_t pos, int mark)
{
    if (c->peer_mark[pos] == MARK_NONE)
        c->dirty_peers[c->ndirty++] = (uint32_t)pos;
    if (mark > c->peer_mark[pos])
        c->peer_mark[pos] = (uint8_t)mark;
}

void shoal__conn_mark_hub(shoal_conn *c, uint32_t id, int mark)
{
    if (mark > c->hub_mark[id])
        c->hub_mark[id] = (uint8_t)mark;
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
    c->slots_used += (uint32_t)holds_slot(state) - (uint32_t)holds_slot(old);
    c->connected += (uint32_t)(state == SHOAL_PEER_CONNECTED) -
                    (uint32_t)(old == SHOAL_PEER_CONNECTED);
    if (old == SHOAL_PEER_CONNECTED)
        p->connected_total += now - p->connected_since;
    if (holds_slot(old) && !holds_slot(state))
        c->fill_dirty = true;
    p->state = state;
    shoal__conn_mark_peer(c, pos, MARK_CHANGED);
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
    size_t nev = 0;
    for (uint32_t id = 0; id < c->nhub_slots; id++) {
        if (c->hub_mark[id] == MARK_NONE)
            continue;
        c->ev_hubs[nev] = c->hubs[id];
        shoal__conn_fx_push(c, c->hub_mark[id] == MARK_GONE ? SHOAL_FX_HUB_REMOVED
                                                            : SHOAL_FX_HUB_CHANGED,
                            id, NULL);
        c->fx[c->nfx - 1].hub_record = &c->ev_hubs[nev++];
        if (c->hub_mark[id] == MARK_GONE) {
            c->hub_live[id] = 0;
            c->nhubs--;
        }
        c->hub_mark[id] = MARK_NONE;
    }

    size_t ngone = 0;
    for (size_t i = 0; i < c->ndirty; i++) {
        uint32_t pos = c->dirty_peers[i];
        bool gone = c->peer_mark[pos] == MARK_GONE;
        c->ev_peers[i] = c->peers[pos];
        shoal__conn_fx_push(c, gone ? SHOAL_FX_PEER_FORGOTTEN : SHOAL_FX_PEER_CHANGED,
                            SHOAL_CONN_NO_HUB, c->peers[pos].feed);
        c->fx[c->nfx - 1].peer_record = &c->ev_peers[i];
        c->peer_mark[pos] = MARK_NONE;
        if (gone)
            c->dirty_peers[ngone++] = pos;
    }
    if (ngone > 1)
        qsort(c->dirty_peers, ngone, sizeof *c->dirty_peers, by_position_descending);
    for (size_t i = 0; i < ngone; i++)
        shoal__conn_peer_remove(c, c->dirty_peers[i]);
    c->ndirty = 0;
}

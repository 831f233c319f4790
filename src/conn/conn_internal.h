/* The peer state manager's internals.
 *
 * HOW THIS WORKS
 * Peers live in one dense array (`peers`), indexed by feed id through an open-addressing hash
 * table (`index`, with a hash keyed by a secret, so chosen keys cannot pile up in one probe run).
 * Peers that hold a slot (connecting, connected, disconnecting) are also listed in `active`, so
 * timeouts, rotation and trimming look at a handful of peers, not all of them. Hubs live in `hubs`,
 * where a hub's id is its index; removed hubs leave a free slot that a later hub may take.
 *
 * One reduce call runs in three phases:
 *  1. reserve: grow every buffer the call may need (effects, event copies, a new peer), so that an
 *     allocation failure returns SHOAL_E_NOMEM before anything has changed;
 *  2. apply: the action's handler, then the scheduler (hub timers, timeouts, forgetting,
 *     trimming, rotation, dialling), each pushing effects and marking the records they change;
 *  3. flush: one event per record that differs from its before-image (kept when the record was
 *     first touched), is new or is gone; then forgotten peers and removed hubs are dropped, and
 *     the next tick is scheduled.
 *
 * Ticks are asked for exactly when a timer runs out: the swarm's announce, a hub's retry or
 * deadline, an attempt's deadline, the end of a backoff (`fill_next`), the end of a lifetime,
 * grace period or download. Forgetting is not worth a wake-up of its own: it runs at the first
 * tick after `forget_next` (the next announce, at most a heartbeat away). A rotation
 * that is due but finds no candidate waits for one: for an announce of a dialable peer (which
 * rotates at once) or for the end of the first backoff (`candidate_next`). A jittered heartbeat
 * guards the rest. So an idle manager wakes a few times a minute, never on a fixed short poll.
 *
 * Dialling is incremental. `fill` scans all peers for the best candidates only when something may
 * have made a new candidate (a slot freed, a hub connected, the config changed: `fill_dirty`) or
 * a backoff has run out (`fill_next`). Between such scans every eligible peer has been dialled
 * or the slots are full, so an announce only needs to consider the peer it names. */
#ifndef SHOAL_CONN_INTERNAL_H
#define SHOAL_CONN_INTERNAL_H

#include "shoal/conn.h"

/* Marks on records during one reduce call: touched (its before-image kept), new, or gone. */
enum { MARK_NONE, MARK_TOUCHED, MARK_NEW, MARK_GONE };

/* Peers forgotten in one tick at most, and records looked at for forgetting in one tick: so a
 * tick's work stays bounded however large the table. */
#define FORGET_PER_TICK 256
#define FORGET_SLICE    16384

#define NO_INDEX SHOAL_SLOT_EMPTY

/* Hub ids stay below this. */
#define SHOAL__CONN_MAX_HUBS 4096

struct shoal_conn {
    shoal_conn_config cfg;
    uint8_t self[32];
    uint64_t rng;
    uint64_t hash_key[4];
    double tick_factor;

    shoal_conn_hub *hubs;
    uint8_t *hub_live;
    uint8_t *hub_mark;
    uint32_t nhub_slots, hub_cap, nhubs;

    shoal_conn_peer *peers;
    uint8_t *peer_mark;
    size_t npeers, peer_cap;
    uint32_t *index;  /* peer positions, NO_INDEX when empty */
    size_t index_cap; /* a power of two, at least twice npeers */

    uint32_t *active; /* positions of peers that hold a slot */
    size_t nactive, active_cap;
    uint32_t slots_used; /* connecting + connected */
    uint32_t connected;
    uint32_t restarting; /* connected peers with a restart_by */

    /* One call's output. */
    shoal_conn_fx *fx;
    size_t nfx, fx_cap;
    uint32_t *dirty_peers;
    size_t ndirty, dirty_cap;
    shoal_conn_peer *ev_peers;
    size_t ev_peer_cap;
    shoal_conn_hub *ev_hubs;
    size_t ev_hub_cap;

    bool fill_dirty;
    shoal_time fill_next;   /* no dial can become possible by time alone before this */
    shoal_time forget_next; /* no peer can become forgettable before this */
    size_t forget_cursor;   /* where the forgetting pass under way goes on */
    shoal_time forget_min;  /* the earliest a peer this pass skipped can be forgotten */
    shoal_time next_announce;
    shoal_time hub_next; /* the earliest hub retry or deadline ... */
    bool hubs_touched;   /* ... unless a hub changed in this call */
    shoal_time heartbeat;
    bool rotation_waits;       /* a rotation is due, and no candidate waited last time */
    shoal_time cut_at;         /* when a rotation or trim may next be due (see next_cut) ... */
    bool cut_dirty;            /* ... unless a slot holder, a download or a flag changed since */
    shoal_time candidate_next; /* no peer in backoff becomes dialable before this */
    shoal_time scheduled;
    bool started;
    shoal_conn_stats stats;
};

/* policy.c */
shoal_time shoal__conn_hub_backoff(const shoal_conn_config *cfg, uint32_t failures, double r);

/* table.c */
double shoal__conn_random(shoal_conn *c);
size_t shoal__conn_peer_pos(const shoal_conn *c, const uint8_t feed[32]);
int shoal__conn_reserve(shoal_conn *c, size_t peer_events, size_t extra_fx, bool new_peer);
size_t shoal__conn_peer_add(shoal_conn *c, const uint8_t feed[32]);
void shoal__conn_peer_remove(shoal_conn *c, size_t pos);
/* Makes sure one more hub fits; then shoal__conn_hub_add cannot fail. */
int shoal__conn_hub_reserve(shoal_conn *c);
uint32_t shoal__conn_hub_add(shoal_conn *c, const shoal_hub_addr *addr);

/* events.c */
void shoal__conn_fx_push(shoal_conn *c, shoal_conn_fx_type type, uint32_t hub, const uint8_t *feed);
void shoal__conn_close(shoal_conn *c, size_t pos, shoal_close_reason reason);
/* Call before changing a record. The first touch in a call keeps the record's before-image, so
 * that the flush emits an event exactly when something changed. */
void shoal__conn_touch_peer(shoal_conn *c, size_t pos);
void shoal__conn_touch_hub(shoal_conn *c, uint32_t id);
void shoal__conn_forget_peer(shoal_conn *c, size_t pos);
/* The peer's ICE restart is over (done, or its connection gone): restart_by cleared. */
void shoal__conn_restart_done(shoal_conn *c, size_t pos);
void shoal__conn_drop_hub(shoal_conn *c, uint32_t id);
void shoal__conn_set_state(shoal_conn *c, size_t pos, shoal_peer_state state, shoal_time now);
/* The peer may become forgettable: bring forget_next forward to when. */
void shoal__conn_forget_by(shoal_conn *c, shoal_time when);
void shoal__conn_flush(shoal_conn *c);

/* schedule.c */
/* An attempt failed (`err` why, SHOAL_OK when not told): backoff, and forgetting past too many. */
void shoal__conn_peer_failed(shoal_conn *c, size_t pos, shoal_time now, int err);
void shoal__conn_hub_failed(shoal_conn *c, uint32_t id, shoal_time now);
bool shoal__conn_try_dial(shoal_conn *c, size_t pos, shoal_time now);
/* Cuts the connection most past its lifetime for a waiting candidate, if the rules allow. */
void shoal__conn_rotate(shoal_conn *c, shoal_time now);
/* A peer dials us with every slot taken: the connection most past its lifetime makes room for
 * it, if there is one and nothing downloads. True if one was cut. */
bool shoal__conn_rotate_for_inbound(shoal_conn *c, shoal_time now);
void shoal__conn_schedule(shoal_conn *c, shoal_time now, bool ticked);
/* Sets the next swarm announce: the alone or peered period from now, plus jitter. */
void shoal__conn_next_announce(shoal_conn *c, shoal_time now);

#endif

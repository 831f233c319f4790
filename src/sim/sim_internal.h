/* The simulator's internals: the world, its event queue and the links between peers. */
#ifndef SHOAL_SIM_INTERNAL_H
#define SHOAL_SIM_INTERNAL_H

#include "shoal/sim.h"

#define SIM_MAX_HUBS  64
#define SIM_MAX_PEERS 100000
#define NO_LINK       SHOAL_SLOT_EMPTY

/* A download reports progress this often: within the default 500 ms download window. */
#define DOWNLOAD_EVERY SHOAL_MS(400)

enum {
    EV_TICK,       /* a: peer, b: tick generation */
    EV_HUB_UP,     /* a: peer, b: hub, c: peer epoch */
    EV_HUB_FAILED, /* a: peer, b: hub, c: peer epoch */
    EV_ANNOUNCE,   /* a: from, b and c: the hubs it went to (low and high 32 bits of a mask) */
    EV_LEAVE,      /* a: from, b and c: the hubs it went to */
    EV_OFFER,      /* a: link, b: link generation */
    EV_NEGOTIATED, /* a: link, b: link generation */
    EV_DOWNLOAD,   /* a: link, b: link generation */
    EV_CLOSED,     /* a: peer told, b: the other end */
    EV_FAILED,     /* a: peer told, b: the other end */
    EV_ONLINE,     /* a: peer, b: 1 the first time */
    EV_OFFLINE,    /* a: peer */
    EV_RESET,      /* a: peer */
    EV_HUB_FLAP,   /* a: hub */
    EV_SAMPLE,
};

typedef struct sim_event {
    shoal_time at;
    uint64_t seq; /* ties broken by order of scheduling, so runs repeat exactly */
    uint32_t type, a, b, c;
} sim_event;

typedef struct sim_peer {
    shoal_conn *conn;
    bool online;
    bool churns;
    /* The tick the manager asked for last, and the one event queued for it: a later request
     * reuses the queued event (which fires early and queues itself again), so rescheduling does
     * not fill the queue with dead events. */
    shoal_time tick_at, queued_at;
    bool tick_queued;
    uint32_t tick_gen;             /* an event whose generation is not this one is dead */
    uint32_t epoch;                /* hub answers from before a reset or an outage are dropped */
    int32_t sub_pos[SIM_MAX_HUBS]; /* index in the hub's subscriber list, or -1 */
    shoal_time first_online, first_connected;
} sim_peer;

typedef struct sim_hub {
    shoal_hub_addr addr;
    bool up, dead, flaky;
    uint32_t *subs;
    uint32_t nsubs;
} sim_hub;

typedef struct sim_link {
    uint32_t a, b; /* a dialled */
    bool live, up, glare;
    bool offered; /* b has heard of the attempt */
    uint32_t gen;
    uint32_t hub;
    shoal_time up_since;
    shoal_time dl_until; /* a downloads from b until then */
} sim_link;

typedef struct sim {
    shoal_sim_config cfg;
    uint64_t rng;
    shoal_time now;
    int failed; /* the first error, which stops the run */

    sim_peer *peers;
    sim_hub hubs[SIM_MAX_HUBS];

    sim_event *queue;
    size_t nqueue, queue_cap;
    uint64_t seq;

    sim_link *links;
    uint32_t nlinks, links_cap;
    uint32_t *free_links;
    uint32_t nfree;
    uint32_t *link_index; /* open addressing over (min, max) peer pairs */
    uint32_t index_cap;

    uint64_t actions, cuts, dials_to_offline;
    struct {
        uint64_t over_max_peers, cut_while_downloading, stuck, link_mismatch;
    } violations;
    shoal_buf samples_mean, samples_isolated;
} sim;

/* sim.c */
double shoal__sim_uniform(sim *s);
shoal_time shoal__sim_between(sim *s, shoal_time lo, shoal_time hi);
shoal_time shoal__sim_exp(sim *s, shoal_time mean);
uint32_t shoal__sim_pick(sim *s, uint32_t n);
void shoal__sim_feed(uint32_t peer, uint8_t feed[32]);
void shoal__sim_act(sim *s, uint32_t p, shoal_conn_action a);
void shoal__sim_schedule_tick(sim *s, uint32_t p, shoal_time at);
void shoal__sim_tick(sim *s, uint32_t p, uint32_t gen);
void shoal__sim_offered(sim *s, uint32_t id);
void shoal__sim_negotiated(sim *s, uint32_t id);
void shoal__sim_go_offline(sim *s, uint32_t p);
void shoal__sim_go_online(sim *s, uint32_t p, bool first);
void shoal__sim_reset(sim *s, uint32_t p);
void shoal__sim_hub_down(sim *s, uint32_t h);
void shoal__sim_hub_connected(sim *s, uint32_t p, uint32_t h, bool ok);
void shoal__sim_deliver(sim *s, const sim_event *e);
void shoal__sim_download(sim *s, uint32_t id);

/* queue.c: a binary heap of events and the link table. Allocation failures set s->failed. */
void shoal__sim_at(sim *s, shoal_time at, uint32_t type, uint32_t a, uint32_t b, uint32_t c);
bool shoal__sim_pop(sim *s, sim_event *e);
uint32_t shoal__sim_link_find(const sim *s, uint32_t p, uint32_t q);
uint32_t shoal__sim_link_new(sim *s, uint32_t a, uint32_t b);
void shoal__sim_link_free(sim *s, uint32_t id);

#endif

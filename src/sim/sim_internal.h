/* The simulator's internals: the world, its event queue and the links between peers, and with
 * --negotiate the negotiation cores, their simulated WebRTC peers and the signals in flight. */
#ifndef SHOAL_SIM_INTERNAL_H
#define SHOAL_SIM_INTERNAL_H

#include "shoal/negotiate.h"
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
    EV_RESTARTED, /* a: peer told, b: the other end: an ICE restart after a reset connected */
    /* --negotiate only */
    EV_NEG_TICK,      /* a: peer, b: tick generation */
    EV_DESCRIBE,      /* a: rtc, b: rtc generation: its offer or answer is ready */
    EV_CANDIDATE,     /* a: rtc, b: rtc generation */
    EV_SIGNAL,        /* a: post: the hub brings it to its recipient */
    EV_POSTED,        /* a: post: the sender hears how its POST went */
    EV_RTC_OPEN,      /* a: the offerer's rtc, b: its generation: the channel opens at both ends */
    EV_LINKED,        /* a: rtc, b: rtc generation: its handshake is done */
    EV_RTC_CLOSED,    /* a: rtc, b: rtc generation */
    EV_RTC_DOWNLOAD,  /* a: rtc, b: rtc generation */
    EV_RTC_RESTARTED, /* a: rtc, b: rtc generation: its ICE restart connected */
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

/* A simulated WebRTC peer: what a negotiation record of `owner` holds for `remote`. Its
 * descriptions name it ("sim <index> <generation>"), so each end learns which peer it pairs
 * with from the description it takes, as a real one does from ICE credentials. */
typedef struct sim_rtc {
    uint32_t owner, remote, id; /* id: the owner's negotiation record */
    uint32_t gen, next_free;
    uint32_t partner, partner_gen; /* the rtc whose description it took (NO_LINK: none yet) */
    bool live, initiator;
    bool open;   /* the data channel is open */
    bool up;     /* the owner's core said CONNECTED */
    bool ending; /* an RTC_CLOSED is on its way to it */
    shoal_time up_since, dl_until;
} sim_rtc;

/* A signal on its way through a hub. */
typedef struct sim_post {
    char *text;
    uint32_t from, life, id, to, hub, next_free;
    bool delivered; /* the hub takes it: POSTED reports 200, else 0 */
} sim_post;

/* A peer's negotiation core, while it is online (a peer back online starts a new one). */
typedef struct sim_negotiator {
    shoal_negotiate *neg;
    uint32_t life; /* how many cores it has had: a POSTED for an earlier one is dropped */
    shoal_time tick_at, queued_at;
    bool tick_queued;
    uint32_t tick_gen;
    uint32_t *rtcs; /* its WebRTC peers */
    uint32_t nrtcs, rtcs_cap;
} sim_negotiator;

/* Work for a peer's state manager or negotiation core, run in order after the effects being
 * carried out, so no reducer is called while its effects are (as the node's queue does). */
typedef enum sim_pending_kind {
    PENDING_CONN,
    PENDING_NEGOTIATE,
    PENDING_ADMIT,
} sim_pending_kind;

typedef struct sim_pending {
    sim_pending_kind kind;
    uint32_t peer;
    shoal_conn_action action;    /* CONN, ADMIT */
    shoal_negotiate_event event; /* NEGOTIATE; ADMIT: the record's id */
    char channel[SHOAL_SWARM_MAX_FROM + 1];
} sim_pending;

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
        uint64_t two_current, over_max_records, rtc_mismatch, unreadable_signals;
    } violations;
    shoal_buf samples_mean, samples_isolated;

    /* --negotiate */
    sim_negotiator *negs;
    sim_rtc *rtcs;
    uint32_t nrtcs, rtcs_cap, free_rtc;
    sim_post *posts;
    uint32_t nposts, posts_cap, free_post;
    sim_pending *pending;
    size_t npending, pending_cap;
    bool draining;
    struct {
        shoal_negotiate_stats gone; /* of the cores of peers that went offline */
        uint64_t events, posted, lost, opened, open_failed, glare_crossed, glare_yielded;
    } neg;
} sim;

/* sim.c */
double shoal__sim_uniform(sim *s);
shoal_time shoal__sim_between(sim *s, shoal_time lo, shoal_time hi);
shoal_time shoal__sim_exp(sim *s, shoal_time mean);
uint32_t shoal__sim_pick(sim *s, uint32_t n);
void shoal__sim_feed(uint32_t peer, uint8_t feed[32]);
uint32_t shoal__sim_peer_of_feed(const uint8_t feed[32]);
void shoal__sim_act(sim *s, uint32_t p, shoal_conn_action a);
void shoal__sim_reduce_conn(sim *s, uint32_t p, const shoal_conn_action *a);
void shoal__sim_conn_effects(sim *s, uint32_t p, const shoal_conn_fx *fx, size_t nfx);
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

/* negotiation.c: --negotiate. Allocation failures set s->failed. */
/* `items` (`*cap` of `size` bytes, n used) with room for one more: moved, or NULL when out of
 * memory (then they stay as they were). */
void *shoal__sim_grow(sim *s, void *items, uint32_t n, uint32_t *cap, size_t size);
int shoal__sim_neg_setup(sim *s);
void shoal__sim_neg_teardown(sim *s);
void shoal__sim_neg_conn(sim *s, uint32_t p, const shoal_conn_action *a);
void shoal__sim_neg_dial(sim *s, uint32_t p, const shoal_conn_fx *fx);
void shoal__sim_neg_close(sim *s, uint32_t p, const shoal_conn_fx *fx);
void shoal__sim_neg_restart(sim *s, uint32_t p, const shoal_conn_fx *fx);
/* Feeds an event of the loop to p's core (its pointers are borrowed for the call). */
void shoal__sim_neg_now(sim *s, uint32_t p, const shoal_negotiate_event *ev);
void shoal__sim_neg_refused(sim *s, uint32_t p, uint32_t id, shoal_negotiate_sig sig);
void shoal__sim_neg_join(sim *s, uint32_t p);
void shoal__sim_neg_leave(sim *s, uint32_t p);
void shoal__sim_neg_dispatch(sim *s, const sim_event *e);
void shoal__sim_neg_sample(sim *s);
void shoal__sim_neg_report(sim *s, shoal_buf *out);

/* webrtc.c: the simulated WebRTC peers (rtcs). */
bool shoal__sim_rtc_live(const sim *s, uint32_t x, uint32_t gen);
uint32_t shoal__sim_rtc_of(const sim *s, uint32_t p, uint32_t id);         /* p's for its record, or
                                                                              NO_LINK */
void shoal__sim_rtc_new(sim *s, uint32_t p, const shoal_negotiate_fx *fx); /* a CREATE_RTC */
/* The rtc that x pairs with (each took the other's description), or NO_LINK. */
uint32_t shoal__sim_rtc_paired(const sim *s, uint32_t x);
void shoal__sim_rtc_set_remote(sim *s, uint32_t p, uint32_t x, const shoal_negotiate_fx *fx);
void shoal__sim_rtc_close(sim *s, uint32_t x, shoal_negotiate_close how);
void shoal__sim_rtc_drop(sim *s, uint32_t x); /* gone at once; its partner hears of it */
void shoal__sim_rtc_connected(sim *s, uint32_t x);
bool shoal__sim_rtc_downloading(const sim *s, uint32_t p, uint32_t target);
void shoal__sim_rtc_dispatch(sim *s, const sim_event *e);

#endif

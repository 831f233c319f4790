/* shoal sim: many peers, each running the real peer state manager, in virtual time over a
 * simulated network of hubs.
 *
 * The model. Every peer holds every hub and announces on all of them at once. The hubs relay an
 * announce to the `fanout` online peers that follow the announcer in the ring of peer indices
 * and share a hub with it, after a delay up to announce_delay; each hears it once, through one
 * shared hub (the hub client drops copies that come through the others). A real signalhub relays
 * to every subscriber (fanout 0 does that); a steady neighbourhood keeps a thousand peers
 * affordable and still gives each peer more candidates than slots. A dial succeeds after 0.5-5 s
 * with probability 1 - connect_failure when both ends are online and subscribed to the hub, and
 * never answers otherwise (the dialler's own timeout ends it). A new connection brings a download
 * (progress every 400 ms for 5-120 s) with probability download_chance. Faults: dead hubs never
 * accept; flaky hubs go down for 10 s-5 min about once an hour; churning peers stay online about 2
 * h and offline about 20 min, leaving with a leave message; network resets strike each peer
 * resets_per_day times a day.
 *
 * With `negotiate`, every peer also runs the real negotiation core (shoal/negotiate.h), driven as
 * the node drives it: the state manager's DIAL_PEER and CLOSE_PEER become the core's DIAL and
 * CLOSE, its ADMIT is settled against the state manager and its REPORTs reduced there, through
 * one queue, so no reducer is called while its effects are carried out. A CREATE_RTC makes a
 * simulated WebRTC peer that gives its offer (or, once it took an offer, its answer) after
 * 5-50 ms, and 0-2 candidates; each signal is POSTed through the record's hub and arrives after
 * up to announce_delay, read by shoal_swarm_parse (unsealed), or fails with status 0 when the hub
 * is down or the recipient is not subscribed to it. Once both ends hold each other's description
 * the channel opens at both after 0.5-5 s with probability 1 - connect_failure (else the core's
 * deadline ends the attempt), and the handshake proves the right key 20-200 ms later. A closed
 * WebRTC peer's other end sees it close 10-100 ms later; a peer going offline stops its core and
 * starts a new one when it comes back; a network reset reaches the core through the state
 * manager's CLOSE_PEER. Glare comes by itself, when two peers dial each other at once. The
 * report adds the cores' counters summed over peers and checks that no core holds two current
 * records for a channel or more than max_records, that every WebRTC peer has its record and every
 * record past admission its WebRTC peer, and that the state manager and the core agree on who is
 * connected. Each core holds about a quarter of a megabyte (its effect list and outboxes are
 * allocated at creation), so a hundred thousand peers do not fit; a thousand do.
 *
 * Everything is drawn from one generator seeded by `seed`: the same configuration gives the same
 * report, byte for byte. */
#ifndef SHOAL_SIM_H
#define SHOAL_SIM_H

#include "shoal/conn.h"

typedef struct shoal_sim_config {
    uint32_t peers;
    uint32_t hubs;
    shoal_time duration;
    uint64_t seed;
    uint32_t fanout;           /* 4; 0 relays every announce to every peer */
    shoal_time announce_delay; /* 500 ms */
    double connect_failure;    /* 0.1 */
    double download_chance;    /* 0.3 */
    uint32_t dead_hubs;        /* 0 */
    uint32_t flaky_hubs;       /* 0 */
    double churn;              /* 0: the fraction of peers that come and go */
    double resets_per_day;     /* 0 */
    shoal_time sample_every;   /* 1 h: how often connection counts are sampled */
    bool negotiate;            /* false; true sends every dial through the negotiation core */
    shoal_conn_config conn;    /* every peer's policy (defaults) */
} shoal_sim_config;

void shoal_sim_config_default(shoal_sim_config *cfg);

/* Runs the simulation and appends its JSON report (one line) to `out`. SHOAL_E_INVAL for a
 * configuration out of range (no peers or hubs, more than 100,000 peers or 64 hubs, more dead and
 * flaky hubs than hubs, probabilities outside [0, 1]), SHOAL_E_CONN_CONFIG, or SHOAL_E_NOMEM. */
SHOAL_MUST_CHECK int shoal_sim_run(const shoal_sim_config *cfg, shoal_buf *out);

#endif

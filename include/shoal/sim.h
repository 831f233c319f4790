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
    shoal_conn_config conn;    /* every peer's policy (defaults) */
} shoal_sim_config;

void shoal_sim_config_default(shoal_sim_config *cfg);

/* Runs the simulation and appends its JSON report (one line) to `out`. SHOAL_E_INVAL for a
 * configuration out of range (no peers or hubs, more than 100,000 peers or 64 hubs, more dead and
 * flaky hubs than hubs, probabilities outside [0, 1]), SHOAL_E_CONN_CONFIG, or SHOAL_E_NOMEM. */
SHOAL_MUST_CHECK int shoal_sim_run(const shoal_sim_config *cfg, shoal_buf *out);

#endif

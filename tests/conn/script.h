/* Tests of the peer state manager as data: actions at given times, and the exact effects each
 * gives, written as one line ("DIAL_PEER B via h0; PEER B connecting").
 *
 * Feeds are named by a letter: feed 'B' is 32 bytes of 'B'; the manager's own feed is 'S'.
 * Hubs are h0, h1, ... in the order they were added; hub(n) is the address hub<n>.example. */
#ifndef SHOAL_TEST_CONN_SCRIPT_H
#define SHOAL_TEST_CONN_SCRIPT_H

#include "harness.h"

#include "shoal/conn.h"

#include <string.h>

typedef struct script {
    shoal_conn *c;
    shoal_time now;
    bool show_ticks;    /* include "TICK @t" lines */
    bool show_events;   /* include the HUB / PEER event lines */
    shoal_time tick_at; /* the time of the last SCHEDULE_TICK seen */
    char out[16384];
    const shoal_conn_fx *fx; /* the last step's effects */
    size_t nfx;
} script;

/* A manager with `cfg` (defaults when NULL) and seed 1. Events shown, ticks hidden. */
void script_init(script *s, const shoal_conn_config *cfg);
void script_free(script *s);

/* Applies `a` at time `now` and returns the effects as one line (borrowed until the next step).
 * A failed reduce returns "ERROR <name>". */
const char *script_step(script *s, shoal_time now, shoal_conn_action a);

/* Action builders. */
shoal_conn_action act(shoal_conn_act_type type);
shoal_conn_action act_hub(shoal_conn_act_type type, uint32_t hub);
shoal_conn_action act_peer(shoal_conn_act_type type, char feed, uint32_t hub);
shoal_conn_action act_add_hub(int n); /* hub<n>.example; the address lives in static storage */
shoal_conn_action act_config(const shoal_conn_config *cfg);

void feed_of(char letter, uint8_t feed[32]);
const shoal_conn_peer *peer_of(script *s, char letter);

/* Adds hub n and makes it connected; returns the effects of the last step. */
const char *script_connect_hub(script *s, shoal_time now, int n);
/* Announces peer `letter` on hub `hub`, then completes the dial it causes (if any). */
const char *script_connect_peer(script *s, shoal_time now, char letter, uint32_t hub);

#define EXPECT_STEP(s, t, action, expected) CHECK_EQ_STR(script_step((s), (t), (action)), expected)
/* The last step's effects contain `part` (for steps whose other effects do not matter). */
#define CHECK_HAS(s, part)                                                                         \
    (strstr((s)->out, (part))                                                                      \
         ? true                                                                                    \
         : harness_eq_str((s)->out, (part), "effects", "contain", __FILE__, __LINE__))
#define CHECK_LACKS(s, part) CHECK(strstr((s)->out, (part)) == NULL)

/* Frequently used actions. */
#define TICK                   act(SHOAL_ACT_PEER_CONNECTION_TIMER_TICKED)
#define ANNOUNCE(letter, hub)  act_peer(SHOAL_ACT_REMOTE_PEER_DID_ANNOUNCE, (letter), (hub))
#define PEER_ACT(type, letter) act_peer(SHOAL_ACT_##type, (letter), SHOAL_CONN_NO_HUB)

#endif

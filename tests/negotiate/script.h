/* Tests of the negotiation reducer as data: events at given times, and the exact effects each
 * gives, written as one line ("CREATE_RTC #1 offerer; POST #1 h0 B {...}").
 *
 * Peers are named by their channel: an upper-case name ("B") is a shoal peer whose feed is 32
 * bytes of its first letter; a lower-case one ("p") a plain webrtc-swarm peer, whose stand-in
 * feed is made the same way. Our own channel is "M", so we lead glare against "N".."Z" and yield
 * to "A".."L". The generator's seed is 1. */
#ifndef SHOAL_TEST_NEGOTIATE_SCRIPT_H
#define SHOAL_TEST_NEGOTIATE_SCRIPT_H

#include "harness.h"

#include "shoal/negotiate.h"

#include <string.h>

typedef struct script {
    shoal_negotiate *n;
    bool show_logs;  /* include "LOG ..." lines */
    bool show_ticks; /* include "TICK @t" lines */
    char out[16384];
    const shoal_negotiate_fx *fx; /* the last step's effects */
    size_t nfx;
} script;

/* A reducer with `cfg` (defaults when NULL), our channel "M", seed 1; logs and ticks hidden. */
void script_init(script *s, const shoal_negotiate_config *cfg);
void script_free(script *s);

/* Applies `ev` at `now` and returns the effects as one line (borrowed until the next step).
 * A failed reduce returns "ERROR <name>". */
const char *script_step(script *s, shoal_time now, shoal_negotiate_event ev);
/* A signal from `from` through hub `hub`: signal_json is the "signal" object's text. */
const char *script_signal(script *s, shoal_time now, const char *from, uint32_t hub,
                          const char *session, const char *signal_json);

/* Event builders. */
shoal_negotiate_event ev_dial(const char *channel, uint32_t hub); /* channel: static storage */
shoal_negotiate_event ev_close(const char *channel, shoal_close_reason reason);
shoal_negotiate_event ev_admission(uint32_t id, bool admitted);
shoal_negotiate_event ev_local(uint32_t id, shoal_negotiate_sig sig, const char *text);
shoal_negotiate_event ev_posted(uint32_t id, unsigned status);
shoal_negotiate_event ev_refused(uint32_t id, shoal_negotiate_sig sig);
shoal_negotiate_event ev_open(uint32_t id);
shoal_negotiate_event ev_linked(uint32_t id, char key);
shoal_negotiate_event ev_closed(uint32_t id, int err);
shoal_negotiate_event ev_type(shoal_negotiate_ev_type type); /* TICK, STOP */

/* The session of record `id` (it must exist). */
const char *session_of(script *s, uint32_t id);
const shoal_negotiate_record *record_of(script *s, uint32_t id);

#define EXPECT_STEP(s, t, ev, expected) CHECK_EQ_STR(script_step((s), (t), (ev)), expected)
#define EXPECT_SIGNAL(s, t, from, hub, session, json, expected)                                    \
    CHECK_EQ_STR(script_signal((s), (t), (from), (hub), (session), (json)), expected)
#define CHECK_HAS(s, part)                                                                         \
    (strstr((s)->out, (part))                                                                      \
         ? true                                                                                    \
         : harness_eq_str((s)->out, (part), "effects", "contain", __FILE__, __LINE__))

#define OFFER(sdp)   "{\"type\":\"offer\",\"sdp\":\"" sdp "\"}"
#define ANSWER(sdp)  "{\"type\":\"answer\",\"sdp\":\"" sdp "\"}"
#define CANDIDATE(c) "{\"type\":\"candidate\",\"candidate\":{\"candidate\":\"" c "\"}}"
#define BUSY         "{\"type\":\"busy\"}"
#define TICK         ev_type(SHOAL_NEG_EV_TICK)
#define STOP         ev_type(SHOAL_NEG_EV_STOP)

#endif

/* Properties over random action sequences: whatever happens, the state manager keeps its
 * invariants.
 *  - no dial when the slots are full, and never two dials of one feed id;
 *  - above max_peers only by a protected peer coming in or max_peers falling, and never growing
 *    further (the excess only shrinks, by trimming);
 *  - no dial of a peer still backing off;
 *  - no cut (rotation, trimming) of a downloading or protected peer;
 *  - every record an action changes gives exactly one event, and no other record gives one;
 *  - the slot count matches the table; we never appear in it;
 *  - the next tick asked for never comes after a pending deadline or backoff's end;
 *  - the same seed and actions give the same effects. */
#include "script.h"

#include <stdlib.h>

#define NPEERS 24
#define NHUBS  3

static uint64_t rng;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static char letter(unsigned i)
{
    return (char)('a' + i); /* 'S' (ourselves) is upper case: picked rarely, below */
}

static shoal_conn_action random_action(script *s)
{
    char p = rnd(50) == 0 ? 'S' : letter(rnd(NPEERS));
    uint32_t hub = rnd(NHUBS + 1); /* sometimes an id that does not exist */
    switch (rnd(20)) {
    case 0:
        return act_add_hub((int)rnd(NHUBS));
    case 1:
        return rnd(4) ? act_hub(SHOAL_ACT_HUB_CONNECTION_SUCCEEDED, hub)
                      : act_hub(SHOAL_ACT_HUB_ADDRESS_REMOVED, hub);
    case 2:
        return act_hub(rnd(2) ? SHOAL_ACT_HUB_CONNECTION_FAILED : SHOAL_ACT_HUB_DID_DISCONNECT,
                       hub);
    case 3:
    case 4:
    case 5:
        return ANNOUNCE(p, hub);
    case 6:
        return act_peer(SHOAL_ACT_REMOTE_PEER_DID_LEAVE, p, hub);
    case 7: {
        shoal_conn_action a = act_peer(SHOAL_ACT_REMOTE_PEER_CONNECTING, p, hub);
        a.transport = rnd(2) ? SHOAL_TRANSPORT_NET : SHOAL_TRANSPORT_RTC;
        return a;
    }
    case 8:
    case 9:
        return PEER_ACT(REMOTE_PEER_CONNECTION_SUCCEEDED, p);
    case 10:
        return PEER_ACT(REMOTE_PEER_CONNECTION_FAILED, p);
    case 11:
        return PEER_ACT(REMOTE_PEER_DISCONNECT, p);
    case 12:
        return rnd(2) ? PEER_ACT(REMOTE_PEER_DID_DISCONNECT, p)
                      : PEER_ACT(REMOTE_PEER_RESTARTED, p);
    case 13:
        return PEER_ACT(REMOTE_PEER_CLIENT_DID_CONNECT, p);
    case 14:
        return PEER_ACT(DOWNLOAD_PROGRESS, p);
    case 15:
        return rnd(10) ? TICK
                       : act(rnd(2) ? SHOAL_ACT_NETWORK_DID_RECONNECT : SHOAL_ACT_SYSTEM_DID_WAKE);
    case 16:
        return PEER_ACT(PEER_PROTECT, p);
    case 17:
        return PEER_ACT(PEER_UNPROTECT, p);
    case 18: {
        static shoal_conn_config cfg;
        shoal_conn_config_default(&cfg);
        cfg.max_peers = 1 + rnd(5);
        cfg.lifetime = 1000 + rnd(120000);
        cfg.grace = rnd(30000);
        (void)s;
        return act_config(&cfg);
    }
    default:
        return TICK;
    }
}

typedef struct snapshot {
    bool present[256];
    shoal_conn_peer peers[256];
    bool hub_present[NHUBS + 1];
    shoal_conn_hub hubs[NHUBS + 1];
} snapshot;

static void take(const shoal_conn *c, snapshot *snap)
{
    memset(snap->present, 0, sizeof snap->present);
    for (size_t i = 0; i < shoal_conn_peer_count(c); i++) {
        const shoal_conn_peer *p = shoal_conn_peer_at(c, i);
        snap->present[p->feed[0]] = true;
        snap->peers[p->feed[0]] = *p;
    }
    memset(snap->hub_present, 0, sizeof snap->hub_present);
    CHECK(shoal_conn_hub_id_bound(c) <= NHUBS + 1);
    for (uint32_t id = 0; id < shoal_conn_hub_id_bound(c) && id <= NHUBS; id++) {
        const shoal_conn_hub *h = shoal_conn_hub_get(c, id);
        snap->hub_present[id] = h != NULL;
        if (h)
            snap->hubs[id] = *h;
    }
}

static uint64_t digest;

static void check_step(script *s, const snapshot *before, shoal_time now)
{
    snapshot after;
    take(s->c, &after);
    const shoal_conn_config *cfg = shoal_conn_get_config(s->c);
    int peer_events[256] = {0}, hub_events[NHUBS + 1] = {0}, dials[256] = {0};
    for (size_t i = 0; i < s->nfx; i++) {
        const shoal_conn_fx *fx = &s->fx[i];
        digest = digest * 31 + (uint64_t)fx->type * 7 + fx->hub + fx->feed[0] + (uint64_t)fx->at;
        const shoal_conn_peer *old = &before->peers[fx->feed[0]];
        switch (fx->type) {
        case SHOAL_FX_DIAL_PEER:
            /* A peer first heard of in this step has no past to check. */
            if (before->present[fx->feed[0]]) {
                CHECK_EQ_INT(old->state, SHOAL_PEER_DISCONNECTED);
                CHECK(old->backoff_until <= now);
            }
            CHECK_EQ_INT(++dials[fx->feed[0]], 1);
            CHECK(shoal_conn_slots_used(s->c) <= cfg->max_peers);
            break;
        case SHOAL_FX_CLOSE_PEER:
            if (fx->reason == SHOAL_CLOSE_ROTATED || fx->reason == SHOAL_CLOSE_TRIMMED) {
                CHECK(!old->protected);
                CHECK(old->downloading_until <= now);
                CHECK_EQ_INT(old->state, SHOAL_PEER_CONNECTED);
                CHECK(now - old->connected_since >= cfg->grace);
            }
            break;
        case SHOAL_FX_PEER_CHANGED:
            CHECK_EQ_INT(++peer_events[fx->feed[0]], 1);
            CHECK(after.present[fx->feed[0]] &&
                  shoal_conn_peer_equal(fx->peer_record, &after.peers[fx->feed[0]]));
            break;
        case SHOAL_FX_PEER_FORGOTTEN:
            CHECK_EQ_INT(++peer_events[fx->feed[0]], 1);
            CHECK(!after.present[fx->feed[0]]);
            CHECK_EQ_INT(fx->peer_record->state, SHOAL_PEER_DISCONNECTED);
            break;
        case SHOAL_FX_HUB_CHANGED:
            CHECK_EQ_INT(++hub_events[fx->hub], 1);
            CHECK(after.hub_present[fx->hub] &&
                  shoal_conn_hub_equal(fx->hub_record, &after.hubs[fx->hub]));
            break;
        case SHOAL_FX_HUB_REMOVED:
            CHECK_EQ_INT(++hub_events[fx->hub], 1);
            CHECK(!after.hub_present[fx->hub]);
            break;
        default:
            break;
        }
    }
    for (int f = 0; f < 256; f++) {
        bool changed =
            before->present[f] != after.present[f] ||
            (after.present[f] && !shoal_conn_peer_equal(&before->peers[f], &after.peers[f]));
        if (!CHECK_EQ_INT(changed, peer_events[f] == 1))
            printf("    peer %c\n", f);
    }
    for (uint32_t id = 0; id <= NHUBS; id++) {
        bool changed =
            before->hub_present[id] != after.hub_present[id] ||
            (after.hub_present[id] && !shoal_conn_hub_equal(&before->hubs[id], &after.hubs[id]));
        CHECK_EQ_INT(changed, hub_events[id] == 1);
    }
    uint32_t used = 0, used_before = 0, protected_joined = 0;
    for (int f = 0; f < 256; f++) {
        bool holds = after.present[f] && (after.peers[f].state == SHOAL_PEER_CONNECTING ||
                                          after.peers[f].state == SHOAL_PEER_CONNECTED);
        bool held = before->present[f] && (before->peers[f].state == SHOAL_PEER_CONNECTING ||
                                           before->peers[f].state == SHOAL_PEER_CONNECTED);
        used += holds;
        used_before += held;
        protected_joined += holds && !held && after.peers[f].protected;
    }
    CHECK_EQ_INT(used, shoal_conn_slots_used(s->c));
    if (used > cfg->max_peers)
        CHECK(used <= used_before || used - used_before <= protected_joined);
    CHECK(!after.present['S']);
    CHECK(s->tick_at > now);
    for (int f = 0; f < 256; f++) {
        const shoal_conn_peer *p = &after.peers[f];
        if (!after.present[f])
            continue;
        if (p->state == SHOAL_PEER_CONNECTING)
            CHECK(s->tick_at <= (p->deadline > now ? p->deadline : now + 1));
        /* only a connection through a hub restarts, and it is judged at its time */
        if (p->restart_by != 0) {
            CHECK(p->state == SHOAL_PEER_CONNECTED && p->transport == SHOAL_TRANSPORT_RTC);
            CHECK(s->tick_at <= (p->restart_by > now ? p->restart_by : now + 1));
        }
        CHECK(p->restart_by != 0 || !p->restart_asked);
    }
    for (uint32_t id = 0; id <= NHUBS; id++) {
        const shoal_conn_hub *h = &after.hubs[id];
        if (after.hub_present[id] && h->state == SHOAL_HUB_CONNECTING)
            CHECK(s->tick_at <= (h->deadline > now ? h->deadline : now + 1));
        if (after.hub_present[id] && h->state == SHOAL_HUB_DISCONNECTED)
            CHECK(s->tick_at <= (h->next_attempt > now ? h->next_attempt : now + 1));
    }
}

/* Runs one random sequence; returns a digest of every effect. */
static uint64_t run(uint64_t seed, int steps)
{
    rng = seed * 2654435761u + 1;
    digest = 0;
    script s;
    script_init(&s, NULL);
    shoal_time now = 0;
    snapshot *before = malloc(sizeof *before);
    for (int i = 0; i < steps; i++) {
        now += rnd(4) ? rnd(3000) : 0;
        shoal_conn_action a = random_action(&s);
        take(s.c, before);
        const char *out = script_step(&s, now, a);
        if (strncmp(out, "ERROR", 5) == 0) {
            CHECK_EQ_STR(out, "ERROR CONN_UNKNOWN_HUB");
            continue;
        }
        check_step(&s, before, now);
    }
    free(before);
    script_free(&s);
    return digest;
}

static void invariants_hold_over_random_sequences(void)
{
    for (uint64_t seed = 1; seed <= 200; seed++)
        run(seed, 600);
}

static void the_same_seed_gives_the_same_effects(void)
{
    for (uint64_t seed = 1; seed <= 5; seed++)
        CHECK_EQ_INT(run(seed, 2000), run(seed, 2000));
    CHECK(run(1, 2000) != run(2, 2000));
}

int main(void)
{
    RUN(invariants_hold_over_random_sequences);
    RUN(the_same_seed_gives_the_same_effects);
    return harness_finish();
}

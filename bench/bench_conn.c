/* Benchmarks of the peer state manager against the goals of issue 3:
 *   actions   >= 1,000,000 reducer actions per second on one core, 10,000 known peers;
 *   tick      one tick with 100,000 known peers under 1 ms (nothing quadratic);
 *   memory    bytes per known peer (goal <= 512), counted by the allocator hook.
 * Each line gives the figure and its ratio to the goal (> 1 is better than the goal).
 * Usage: bench_conn [--quick] */
#include "shoal/conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252u;
static uint64_t rnd(uint64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng % n;
}

static void feed_of(uint32_t i, uint8_t feed[32])
{
    memset(feed, 0x5a, 32);
    memcpy(feed, &i, sizeof i);
}

/* Live bytes through the allocator hook: each block carries its size in a header. */
static size_t live_bytes;
static void *counting_realloc(void *ptr, size_t size, void *ud)
{
    (void)ud;
    size_t *h = ptr ? (size_t *)ptr - 2 : NULL;
    size_t old = h ? h[0] : 0;
    size_t *n = realloc(h, size + 2 * sizeof(size_t));
    if (!n)
        return NULL;
    live_bytes += size - old;
    n[0] = size;
    return n + 2;
}
static void counting_free(void *ptr, void *ud)
{
    (void)ud;
    size_t *h = (size_t *)ptr - 2;
    live_bytes -= h[0];
    free(h);
}

typedef struct world {
    shoal_conn *c;
    shoal_time now, tick_at;
    uint32_t npeers;
    uint64_t actions;
    /* Dials waiting for their outcome, answered a few actions later. */
    uint8_t pending[64][32];
    size_t npending;
} world;

static void must(int rc, const char *what)
{
    if (rc != SHOAL_OK) {
        fprintf(stderr, "bench_conn: %s: %s\n", what, shoal_strerror(rc));
        exit(1);
    }
}

static void apply(world *w, shoal_conn_action a)
{
    const shoal_conn_fx *fx;
    size_t nfx;
    must(shoal_conn_reduce(w->c, &a, w->now, &fx, &nfx), shoal_conn_act_name(a.type));
    w->actions++;
    for (size_t i = 0; i < nfx; i++) {
        if (fx[i].type == SHOAL_FX_SCHEDULE_TICK)
            w->tick_at = fx[i].at;
        else if (fx[i].type == SHOAL_FX_DIAL_PEER && w->npending < 64)
            memcpy(w->pending[w->npending++], fx[i].feed, 32);
    }
}

static shoal_conn_action action(shoal_conn_act_type type, uint32_t hub, uint32_t peer)
{
    shoal_conn_action a;
    memset(&a, 0, sizeof a);
    a.type = type;
    a.hub = hub;
    feed_of(peer, a.feed);
    return a;
}

static void setup(world *w, uint32_t npeers)
{
    memset(w, 0, sizeof *w);
    shoal_conn_config cfg;
    shoal_conn_config_default(&cfg);
    uint8_t self[32] = {1};
    must(shoal_conn_new(&w->c, &cfg, self, 42), "new");
    w->npeers = npeers;
    static shoal_hub_addr addrs[2];
    for (uint32_t h = 0; h < 2; h++) {
        char text[32];
        int len = snprintf(text, sizeof text, "hub%u.example", h);
        must(shoal_hub_addr_parse(&addrs[h], text, (size_t)len, NULL), "hub address");
        shoal_conn_action a = action(SHOAL_ACT_HUB_ADDRESS_ADDED, 0, 0);
        a.addr = &addrs[h];
        apply(w, a);
        apply(w, action(SHOAL_ACT_HUB_CONNECTION_SUCCEEDED, h, 0));
    }
    for (uint32_t i = 0; i < npeers; i++) {
        w->now = (shoal_time)i * 50000 / npeers; /* all announced within the last 50 s */
        apply(w, action(SHOAL_ACT_REMOTE_PEER_DID_ANNOUNCE, (uint32_t)rnd(2), i));
    }
}

/* One step of a busy day: mostly announces, outcomes of dials, download progress, and the ticks
 * the manager asks for. Time moves 1 ms per action. */
static void step(world *w)
{
    w->now++;
    if (w->now >= w->tick_at) {
        apply(w, action(SHOAL_ACT_PEER_CONNECTION_TIMER_TICKED, 0, 0));
        return;
    }
    if (w->npending && rnd(4) == 0) {
        shoal_conn_action a = action(rnd(3) ? SHOAL_ACT_REMOTE_PEER_CONNECTION_SUCCEEDED
                                            : SHOAL_ACT_REMOTE_PEER_CONNECTION_FAILED,
                                     0, 0);
        memcpy(a.feed, w->pending[--w->npending], 32);
        apply(w, a);
        return;
    }
    uint64_t r = rnd(100);
    uint32_t peer = (uint32_t)rnd(w->npeers);
    if (r < 80)
        apply(w, action(SHOAL_ACT_REMOTE_PEER_DID_ANNOUNCE, (uint32_t)rnd(2), peer));
    else if (r < 95)
        apply(w, action(SHOAL_ACT_DOWNLOAD_PROGRESS, 0, peer));
    else if (r < 99)
        apply(w, action(SHOAL_ACT_REMOTE_PEER_DID_DISCONNECT, 0, peer));
    else
        apply(w, action(SHOAL_ACT_REMOTE_PEER_DID_LEAVE, (uint32_t)rnd(2), peer));
}

static void bench_actions(uint32_t npeers, uint64_t n)
{
    world w;
    setup(&w, npeers);
    for (int i = 0; i < 100000; i++) /* warm up */
        step(&w);
    uint64_t start_actions = w.actions;
    double t0 = seconds();
    while (w.actions - start_actions < n)
        step(&w);
    double dt = seconds() - t0;
    double rate = (double)(w.actions - start_actions) / dt;
    printf("actions: %.0f actions/s with %zu known peers (goal 1000000/s): ratio %.2f\n", rate,
           shoal_conn_peer_count(w.c), rate / 1e6);
    shoal_conn_free(w.c);
}

static void bench_tick(uint32_t npeers, int ticks)
{
    world w;
    setup(&w, npeers);
    double total = 0, worst = 0;
    int measured = 0;
    uint32_t cursor = 0;
    while (measured < ticks) {
        /* Between ticks: some churn, and announces enough that every peer is heard from within
         * forget_after (every peer is announced every 40 s). */
        for (int i = 0; i < 200; i++)
            step(&w);
        for (uint32_t i = 0; i < npeers / 20; i++, cursor = (cursor + 1) % npeers)
            apply(&w, action(SHOAL_ACT_REMOTE_PEER_DID_ANNOUNCE, cursor & 1, cursor));
        /* A tick every 2 s, whether or not the manager asked for it. */
        w.now += 2000;
        double t0 = seconds();
        apply(&w, action(SHOAL_ACT_PEER_CONNECTION_TIMER_TICKED, 0, 0));
        double dt = seconds() - t0;
        total += dt;
        worst = dt > worst ? dt : worst;
        measured++;
    }
    printf("tick: mean %.3f ms, worst %.3f ms over %d ticks with %zu known peers (goal < 1 ms): "
           "ratio %.2f (worst %.2f)\n",
           total / ticks * 1e3, worst * 1e3, ticks, shoal_conn_peer_count(w.c),
           1e-3 / (total / ticks), 1e-3 / worst);
    shoal_conn_free(w.c);
}

static void bench_memory(uint32_t npeers)
{
    static const shoal_allocator counting = {counting_realloc, counting_free, NULL};
    shoal_set_allocator(&counting);
    world w;
    setup(&w, 16);
    size_t base = live_bytes;
    size_t base_peers = shoal_conn_peer_count(w.c);
    for (uint32_t i = 16; i < npeers; i++)
        apply(&w, action(SHOAL_ACT_REMOTE_PEER_DID_ANNOUNCE, 0, i));
    for (int i = 0; i < 1000; i++)
        step(&w);
    double per_peer =
        (double)(live_bytes - base) / (double)(shoal_conn_peer_count(w.c) - base_peers);
    printf("memory: %.0f bytes per known peer with %zu peers (record %zu bytes; goal <= 512): "
           "ratio %.2f\n",
           per_peer, shoal_conn_peer_count(w.c), sizeof(shoal_conn_peer), 512 / per_peer);
    shoal_conn_free(w.c);
    shoal_set_allocator(NULL);
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    bench_actions(10000, quick ? 100000 : 5000000);
    bench_tick(100000, quick ? 5 : 200);
    bench_memory(quick ? 10000 : 100000);
    return 0;
}

/* Running out of memory at any allocation leaves epidemic broadcast trees exactly as they were
 * before the call that failed (every feed's sequence and rx session, the counters), and leaks
 * nothing: 100 feeds (past the first growth of every table), three sessions, notes, messages,
 * a tick and a departure. */
#include "harness.h"
#include "shoal/ebt.h"

#include <stdlib.h>
#include <string.h>

#define NFEEDS 100

static void key_of(unsigned n, uint8_t key[32])
{
    memset(key, 'k', 32);
    key[0] = (uint8_t)n;
    key[1] = (uint8_t)(n >> 8);
}

typedef struct image {
    int64_t have[NFEEDS];
    uint32_t rx[NFEEDS];
    shoal_ebt_stats stats;
} image;

static void capture(const shoal_ebt *e, image *im)
{
    for (unsigned n = 0; n < NFEEDS; n++) {
        uint8_t key[32];
        key_of(n, key);
        im->have[n] = shoal_ebt_have(e, key);
        im->rx[n] = shoal_ebt_rx_peer(e, key);
    }
    im->stats = *shoal_ebt_get_stats(e);
}

static int scenario(void *ctx)
{
    (void)ctx;
    shoal_ebt_config cfg;
    shoal_ebt_config_default(&cfg);
    uint8_t self[32];
    key_of(0, self);
    shoal_ebt *e;
    int rc = shoal_ebt_new(&e, &cfg, self);
    if (rc != SHOAL_OK)
        return rc;
    static shoal_ebt_event steps[3 * NFEEDS + 16];
    static shoal_ebt_entry notes[NFEEDS];
    size_t n = 0;
    for (unsigned f = 1; f < NFEEDS; f++) {
        shoal_ebt_event *ev = &steps[n++];
        *ev = (shoal_ebt_event){.type = SHOAL_EBT_EV_FOLLOW, .follow = true};
        key_of(f, ev->feed);
        ev = &steps[n++];
        *ev = (shoal_ebt_event){.type = SHOAL_EBT_EV_HAVE, .seq = f % 7};
        key_of(f, ev->feed);
    }
    for (unsigned f = 0; f < NFEEDS; f++) { /* each ahead of us, or behind, by a little */
        key_of(f, notes[f].feed);
        notes[f].value = shoal_ebt_note((f % 7) + (f % 3) - 1, f % 2);
    }
    steps[n++] = (shoal_ebt_event){.type = SHOAL_EBT_EV_CONNECT, .peer = 1};
    steps[n++] = (shoal_ebt_event){.type = SHOAL_EBT_EV_CONNECT, .peer = 2, .client = true};
    steps[n++] = (shoal_ebt_event){
        .type = SHOAL_EBT_EV_NOTES, .peer = 1, .entries = notes, .nentries = NFEEDS};
    steps[n++] = (shoal_ebt_event){
        .type = SHOAL_EBT_EV_NOTES, .peer = 2, .entries = notes, .nentries = NFEEDS / 2};
    steps[n++] = (shoal_ebt_event){.type = SHOAL_EBT_EV_RECEIVED, .peer = 1, .seq = 9};
    key_of(5, steps[n - 1].feed);
    steps[n++] = (shoal_ebt_event){.type = SHOAL_EBT_EV_RECEIVED, .peer = 1, .seq = 6};
    key_of(5, steps[n - 1].feed);
    steps[n - 1].stored = true;
    steps[n++] = (shoal_ebt_event){
        .type = SHOAL_EBT_EV_CONNECT, .peer = 3, .entries = notes, .nentries = NFEEDS};
    steps[n++] = (shoal_ebt_event){.type = SHOAL_EBT_EV_TICK};
    steps[n++] = (shoal_ebt_event){.type = SHOAL_EBT_EV_DISCONNECT, .peer = 1};
    steps[n++] = (shoal_ebt_event){.type = SHOAL_EBT_EV_FOLLOW, .follow = false};
    key_of(3, steps[n - 1].feed);
    image *before = malloc(sizeof *before), *after = malloc(sizeof *after);
    for (size_t i = 0; i < n && rc == SHOAL_OK; i++) {
        capture(e, before);
        const shoal_ebt_fx *fx;
        size_t nfx;
        rc = shoal_ebt_reduce(e, &steps[i], (shoal_time)i * 10000, &fx, &nfx);
        if (rc == SHOAL_E_NOMEM) {
            capture(e, after);
            CHECK(memcmp(before, after, sizeof *before) == 0);
        } else {
            CHECK_EQ_ERR(rc, SHOAL_OK);
        }
    }
    free(before);
    free(after);
    shoal_ebt_free(e);
    return rc;
}

static void every_failed_allocation_leaves_the_state_unchanged(void)
{
    size_t allocs = harness_failmalloc_sweep(scenario, NULL);
    CHECK(allocs > 10);
}

int main(void)
{
    RUN(every_failed_allocation_leaves_the_state_unchanged);
    return harness_finish();
}

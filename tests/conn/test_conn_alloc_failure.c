/* Running out of memory at any allocation leaves the state manager exactly as it was before the
 * call that failed, and leaks nothing. */
#include "script.h"

#include <stdlib.h>

typedef struct image {
    size_t npeers;
    shoal_conn_peer peers[64];
    shoal_conn_hub hubs[8];
    bool hub_present[8];
    shoal_conn_stats stats;
    uint32_t slots;
} image;

static void capture(const shoal_conn *c, image *im)
{
    im->npeers = shoal_conn_peer_count(c);
    for (size_t i = 0; i < im->npeers && i < 64; i++)
        im->peers[i] = *shoal_conn_peer_at(c, i);
    for (uint32_t id = 0; id < 8; id++) {
        const shoal_conn_hub *h = shoal_conn_hub_get(c, id);
        im->hub_present[id] = h != NULL;
        if (h)
            im->hubs[id] = *h;
    }
    im->stats = *shoal_conn_get_stats(c);
    im->slots = shoal_conn_slots_used(c);
}

static bool same(const image *a, const image *b)
{
    if (a->npeers != b->npeers || a->slots != b->slots ||
        memcmp(&a->stats, &b->stats, sizeof a->stats) != 0)
        return false;
    for (size_t i = 0; i < a->npeers && i < 64; i++)
        if (!shoal_conn_peer_equal(&a->peers[i], &b->peers[i]))
            return false;
    for (uint32_t id = 0; id < 8; id++)
        if (a->hub_present[id] != b->hub_present[id] ||
            (a->hub_present[id] && !shoal_conn_hub_equal(&a->hubs[id], &b->hubs[id])))
            return false;
    return true;
}

/* A day in the life: hubs, announces, dials, failures, a tick, a reset. */
static int scenario(void *ctx)
{
    (void)ctx;
    shoal_conn_config cfg;
    shoal_conn_config_default(&cfg);
    uint8_t self[32];
    feed_of('S', self);
    shoal_conn *c;
    int rc = shoal_conn_new(&c, &cfg, self, 7);
    if (rc != SHOAL_OK)
        return rc;
    shoal_conn_action steps[40];
    size_t n = 0;
    steps[n++] = act_add_hub(0);
    steps[n++] = act_add_hub(1);
    steps[n++] = act_hub(SHOAL_ACT_HUB_CONNECTION_SUCCEEDED, 0);
    for (char p = 'a'; p < 'a' + 20; p++)
        steps[n++] = ANNOUNCE(p, 0);
    steps[n++] = PEER_ACT(REMOTE_PEER_CONNECTION_SUCCEEDED, 'a');
    steps[n++] = PEER_ACT(REMOTE_PEER_CONNECTION_FAILED, 'b');
    steps[n++] = PEER_ACT(REMOTE_PEER_CLIENT_DID_CONNECT, 'z');
    steps[n++] = PEER_ACT(DOWNLOAD_PROGRESS, 'a');
    steps[n++] = TICK;
    steps[n++] = act_hub(SHOAL_ACT_HUB_ADDRESS_REMOVED, 1);
    steps[n++] = act(SHOAL_ACT_NETWORK_DID_RECONNECT);
    steps[n++] = TICK;
    image *before = malloc(sizeof *before), *after = malloc(sizeof *after);
    for (size_t i = 0; i < n && rc == SHOAL_OK; i++) {
        capture(c, before);
        const shoal_conn_fx *fx;
        size_t nfx;
        rc = shoal_conn_reduce(c, &steps[i], (shoal_time)i * 100000, &fx, &nfx);
        if (rc == SHOAL_E_NOMEM) {
            capture(c, after);
            CHECK(same(before, after));
        } else {
            CHECK_EQ_ERR(rc, SHOAL_OK);
        }
    }
    free(before);
    free(after);
    shoal_conn_free(c);
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

/* Running out of memory at any allocation leaves the reducer exactly as it was before the call
 * that failed (no effects, no change), and leaks nothing. */
#include "script.h"

#include <stdlib.h>

#define MAX 8

typedef struct image {
    size_t count;
    shoal_negotiate_record records[MAX];
    shoal_negotiate_stats stats;
} image;

static void capture(const shoal_negotiate *n, image *im)
{
    memset(im, 0, sizeof *im);
    im->count = shoal_negotiate_count(n);
    for (size_t i = 0; i < im->count && i < MAX; i++)
        memcpy(&im->records[i], shoal_negotiate_at(n, i), sizeof im->records[i]);
    im->stats = *shoal_negotiate_get_stats(n);
}

static bool same(const image *a, const image *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

static shoal_negotiate_event signal_ev(shoal_swarm_msg *m, const char *from, const char *session,
                                       const char *json)
{
    memset(m, 0, sizeof *m);
    m->kind = SHOAL_SWARM_SIGNAL;
    snprintf(m->from, sizeof m->from, "%s", from);
    m->has_feed = true;
    memset(m->feed, from[0], 32);
    snprintf(m->session, sizeof m->session, "%s", session);
    m->signal = json_loads(json, 0, NULL);
    shoal_negotiate_event ev = ev_type(SHOAL_NEG_EV_SIGNAL);
    ev.msg = m;
    return ev;
}

/* Dials, offers, answers, candidates, a refusal, a successor, a stop. */
static int scenario(void *ctx)
{
    (void)ctx;
    shoal_negotiate_config cfg;
    shoal_negotiate_config_default(&cfg);
    cfg.max_records = MAX;
    shoal_negotiate *n;
    int rc = shoal_negotiate_new(&n, &cfg, "M", 3);
    if (rc != SHOAL_OK)
        return rc;
    shoal_swarm_msg msgs[6];
    shoal_negotiate_event steps[32];
    size_t k = 0, nm = 0;
    steps[k++] = ev_dial("B", 0);
    steps[k++] = ev_local(1, SHOAL_NEG_SIG_OFFER, "o1");
    steps[k++] = ev_local(1, SHOAL_NEG_SIG_CANDIDATE, "c1");
    steps[k++] = ev_posted(1, 200);
    steps[k++] = signal_ev(&msgs[nm++], "B", "1d0b14e4db018fed", ANSWER("a1"));
    steps[k++] = signal_ev(&msgs[nm++], "B", "1d0b14e4db018fed", CANDIDATE("rc"));
    steps[k++] = ev_open(1);
    steps[k++] = ev_linked(1, 'B');
    steps[k++] = signal_ev(&msgs[nm++], "C", "c1", OFFER("oc"));
    steps[k++] = ev_admission(2, false);
    steps[k++] = signal_ev(&msgs[nm++], "D", "d1", OFFER("od"));
    steps[k++] = ev_admission(3, true);
    steps[k++] = ev_local(3, SHOAL_NEG_SIG_ANSWER, "ad");
    steps[k++] = signal_ev(&msgs[nm++], "B", "b2", OFFER("o2"));
    steps[k++] = ev_type(SHOAL_NEG_EV_TICK);
    steps[k++] = ev_type(SHOAL_NEG_EV_STOP);
    for (size_t i = 0; i < k && rc == SHOAL_OK; i++) {
        image before, after;
        capture(n, &before);
        const shoal_negotiate_fx *fx;
        size_t nfx;
        rc = shoal_negotiate_reduce(n, &steps[i], (shoal_time)i * 1000, &fx, &nfx);
        if (rc == SHOAL_E_NOMEM) {
            capture(n, &after);
            if (!same(&before, &after) || nfx != 0)
                rc = SHOAL_E_INVAL; /* reported by the sweep as a wrong code */
        }
    }
    for (size_t i = 0; i < nm; i++)
        shoal_swarm_msg_clear(&msgs[i]);
    shoal_negotiate_free(n);
    return rc;
}

static void every_allocation_failure_leaves_the_state_unchanged(void)
{
    size_t allocations = harness_failmalloc_sweep(scenario, NULL);
    CHECK(allocations > 10);
}

int main(void)
{
    RUN(every_allocation_failure_leaves_the_state_unchanged);
    return harness_finish();
}

/* Benchmarks of the simulator (issue 3):
 *   speed    `shoal sim` of 1,000 peers over 24 h of virtual time in under 10 s;
 *   backoff  the three backoff formulas under churn and failing connects: dials, dials to peers
 *            that are offline, connectivity and time to first connection, from the same world.
 * Usage: bench_sim [--quick] */
#include "shoal/sim.h"

#include <jansson.h>
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

static json_t *run(const shoal_sim_config *cfg, double *elapsed)
{
    shoal_buf out = SHOAL_BUF_INIT;
    double t0 = seconds();
    int rc = shoal_sim_run(cfg, &out);
    *elapsed = seconds() - t0;
    if (rc != SHOAL_OK) {
        fprintf(stderr, "bench_sim: %s\n", shoal_strerror(rc));
        exit(1);
    }
    json_t *report = json_loadb(out.data, out.len, 0, NULL);
    shoal_buf_free(&out);
    if (!report) {
        fprintf(stderr, "bench_sim: the report is not JSON\n");
        exit(1);
    }
    return report;
}

static json_int_t get(json_t *r, const char *section, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(r, section), key));
}

static double mean_of(json_t *r, const char *key)
{
    json_t *a = json_object_get(json_object_get(r, "connected"), key);
    double sum = 0;
    for (size_t i = 0; i < json_array_size(a); i++)
        sum += json_real_value(json_array_get(a, i));
    return json_array_size(a) ? sum / (double)json_array_size(a) : 0;
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    shoal_sim_config cfg;
    shoal_sim_config_default(&cfg);
    cfg.peers = quick ? 50 : 1000;
    cfg.duration = quick ? SHOAL_HOURS(1) : SHOAL_HOURS(24);
    double elapsed;
    json_t *r = run(&cfg, &elapsed);
    printf("speed: %u peers over %lld h of virtual time in %.2f s (goal < 10 s): ratio %.2f; "
           "%lld actions, %lld invariant violations\n",
           cfg.peers, (long long)(cfg.duration / SHOAL_HOURS(1)), elapsed, 10.0 / elapsed,
           (long long)get(r, "totals", "actions"),
           (long long)get(r, "invariant_violations", "total"));
    json_decref(r);

    static const char *const names[] = {"shoal", "ssb-conn", "libp2p"};
    printf("backoff under churn 0.5 and 20%% failing connects (%s peers, %s):\n",
           quick ? "30" : "300", quick ? "1 h" : "24 h");
    printf("  %-9s %9s %9s %16s %9s %9s %9s %9s\n", "formula", "dials", "failures",
           "dials_to_offline", "mean", "isolated", "ttfc_p50", "ttfc_p95");
    for (int kind = SHOAL_BACKOFF_SHOAL; kind <= SHOAL_BACKOFF_LIBP2P; kind++) {
        shoal_sim_config_default(&cfg);
        cfg.peers = quick ? 30 : 300;
        cfg.duration = quick ? SHOAL_HOURS(1) : SHOAL_HOURS(24);
        cfg.churn = 0.5;
        cfg.connect_failure = 0.2;
        cfg.seed = 5;
        cfg.conn.backoff = (shoal_backoff_kind)kind;
        r = run(&cfg, &elapsed);
        printf("  %-9s %9lld %9lld %16lld %9.3f %9.3f %9lld %9lld\n", names[kind],
               (long long)get(r, "totals", "dials"), (long long)get(r, "totals", "failures"),
               (long long)get(r, "totals", "dials_to_offline"), mean_of(r, "mean_per_peer"),
               mean_of(r, "isolated_fraction"),
               (long long)get(r, "time_to_first_connection_ms", "p50"),
               (long long)get(r, "time_to_first_connection_ms", "p95"));
        json_decref(r);
    }
    return 0;
}

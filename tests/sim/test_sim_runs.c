/* The simulator: the same configuration gives the same report byte for byte, every fault
 * scenario keeps every invariant, and bad configurations are refused; with the real negotiation
 * core too, where glare comes by itself and is settled. */
#include "harness.h"

#include "shoal/sim.h"

#include <jansson.h>
#include <string.h>

static shoal_sim_config small(void)
{
    shoal_sim_config cfg;
    shoal_sim_config_default(&cfg);
    cfg.peers = 40;
    cfg.duration = SHOAL_HOURS(2);
    cfg.sample_every = SHOAL_MINUTES(30);
    return cfg;
}

/* Runs cfg and returns its parsed report (NULL after a failed check). */
static json_t *run(const shoal_sim_config *cfg, shoal_buf *text)
{
    shoal_buf local = SHOAL_BUF_INIT;
    shoal_buf *out = text ? text : &local;
    if (!CHECK_EQ_ERR(shoal_sim_run(cfg, out), SHOAL_OK))
        return NULL;
    json_error_t err;
    json_t *report = json_loadb(out->data, out->len, 0, &err);
    if (!CHECK(report != NULL))
        printf("    %s\n", err.text);
    shoal_buf_free(&local);
    return report;
}

static json_int_t get(json_t *report, const char *section, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(report, section), key));
}

/* 20 peers on 3 hubs for an hour, dialling through the negotiation core; every announce reaches
 * everyone (as a real signalhub relays), so peers that know each other dial each other at once. */
static shoal_sim_config negotiating(void)
{
    shoal_sim_config cfg;
    shoal_sim_config_default(&cfg);
    cfg.peers = 20;
    cfg.hubs = 3;
    cfg.duration = SHOAL_HOURS(1);
    cfg.sample_every = SHOAL_MINUTES(15);
    cfg.fanout = 0;
    cfg.negotiate = true;
    return cfg;
}

static void the_same_seed_gives_the_same_report(void)
{
    shoal_sim_config cfg = small();
    cfg.churn = 0.3;
    cfg.flaky_hubs = 1;
    cfg.resets_per_day = 12;
    shoal_buf a = SHOAL_BUF_INIT, b = SHOAL_BUF_INIT, c = SHOAL_BUF_INIT;
    json_decref(run(&cfg, &a));
    json_decref(run(&cfg, &b));
    CHECK_EQ_MEM(a.data, a.len, b.data, b.len);
    cfg.seed = 2;
    json_decref(run(&cfg, &c));
    CHECK(a.len != c.len || memcmp(a.data, c.data, a.len) != 0);
    shoal_buf_free(&a);
    shoal_buf_free(&b);
    shoal_buf_free(&c);
}

static void a_calm_network_connects_everyone(void)
{
    shoal_sim_config cfg = small();
    json_t *r = run(&cfg, NULL);
    if (!r)
        return;
    CHECK_EQ_INT(get(r, "invariant_violations", "total"), 0);
    CHECK_EQ_INT(get(r, "time_to_first_connection_ms", "never"), 0);
    CHECK(get(r, "time_to_first_connection_ms", "p95") < 30000);
    json_t *mean = json_object_get(json_object_get(r, "connected"), "mean_per_peer");
    CHECK_EQ_INT(json_array_size(mean), 4);
    for (size_t i = 0; i < json_array_size(mean); i++)
        CHECK(json_real_value(json_array_get(mean, i)) > 3.0);
    CHECK(get(r, "totals", "dials") > 0);
    json_decref(r);
}

static void every_fault_keeps_the_invariants(void)
{
    static const char *const faults[] = {
        "flaky and dead hubs",
        "churn",
        "resets",
        "failing connects",
        "ssb-conn backoff",
        "libp2p backoff",
        "everything, all announces to all",
    };
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        shoal_sim_config cfg = small();
        cfg.seed = 10 + i;
        switch (i) {
        case 0:
            cfg.hubs = 4;
            cfg.flaky_hubs = 2;
            cfg.dead_hubs = 1;
            break;
        case 1:
            cfg.churn = 0.5;
            break;
        case 2:
            cfg.resets_per_day = 48;
            break;
        case 3:
            cfg.connect_failure = 0.6;
            break;
        case 4:
            cfg.conn.backoff = SHOAL_BACKOFF_SSB_CONN;
            cfg.connect_failure = 0.3;
            break;
        case 5:
            cfg.conn.backoff = SHOAL_BACKOFF_LIBP2P;
            cfg.connect_failure = 0.3;
            break;
        default:
            cfg.fanout = 0;
            cfg.hubs = 3;
            cfg.flaky_hubs = 1;
            cfg.churn = 0.3;
            cfg.resets_per_day = 24;
            cfg.connect_failure = 0.3;
            break;
        }
        json_t *r = run(&cfg, NULL);
        if (!r)
            continue;
        if (!CHECK_EQ_INT(get(r, "invariant_violations", "total"), 0))
            printf("    fault: %s\n", faults[i]);
        CHECK(get(r, "totals", "dials") > 0);
        json_decref(r);
    }
}

static void the_default_report_has_no_negotiation(void)
{
    shoal_sim_config cfg = small();
    cfg.peers = 10;
    cfg.duration = SHOAL_MINUTES(10);
    json_t *r = run(&cfg, NULL);
    if (!r)
        return;
    CHECK(json_object_get(r, "negotiation") == NULL);
    CHECK(json_object_get(json_object_get(r, "invariant_violations"), "two_current") == NULL);
    json_decref(r);
}

static void negotiating_peers_connect_and_settle_glare(void)
{
    shoal_sim_config cfg = negotiating();
    shoal_buf a = SHOAL_BUF_INIT, b = SHOAL_BUF_INIT;
    json_t *r = run(&cfg, &a);
    json_decref(run(&cfg, &b));
    CHECK_EQ_MEM(a.data, a.len, b.data, b.len);
    shoal_buf_free(&a);
    shoal_buf_free(&b);
    if (!r)
        return;
    CHECK_EQ_INT(get(r, "invariant_violations", "total"), 0);
    CHECK_EQ_INT(get(r, "invariant_violations", "two_current"), 0);
    CHECK_EQ_INT(get(r, "invariant_violations", "over_max_records"), 0);
    CHECK_EQ_INT(get(r, "time_to_first_connection_ms", "never"), 0);
    json_t *mean = json_object_get(json_object_get(r, "connected"), "mean_per_peer");
    CHECK_EQ_INT(json_array_size(mean), 4);
    for (size_t i = 0; i < json_array_size(mean); i++)
        CHECK(json_real_value(json_array_get(mean, i)) > 3.0);
    /* every connection is the core's: both ends count the channel they opened */
    CHECK(get(r, "negotiation", "connections") > 0);
    CHECK_EQ_INT(get(r, "negotiation", "connections"),
                 2 * get(r, "negotiation", "channels_opened"));
    CHECK_EQ_INT(get(r, "negotiation", "connections"), get(r, "totals", "successes"));
    /* full peers answer "busy", and the dialler's state manager hears it (not when the dialler
     * gave up that offer meanwhile, nor while the answer is still on its way at the end) */
    CHECK(get(r, "negotiation", "busy") > 0);
    CHECK(get(r, "negotiation", "busy") <= get(r, "negotiation", "offers_turned_away"));
    /* glare: offers crossed, and the side whose offer went answered the other's */
    json_t *glare = json_object_get(json_object_get(r, "negotiation"), "glare");
    json_int_t crossed = json_integer_value(json_object_get(glare, "crossed"));
    json_int_t yielded = json_integer_value(json_object_get(glare, "yielded"));
    CHECK(crossed > 0);
    CHECK(yielded > 0);
    CHECK(yielded <= crossed);
    json_decref(r);
}

static void every_fault_keeps_the_negotiation_invariants(void)
{
    static const char *const faults[] = {"churn", "resets", "flaky and dead hubs",
                                         "failing channels"};
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        shoal_sim_config cfg = negotiating();
        cfg.seed = 20 + i;
        cfg.fanout = 4;
        cfg.duration = SHOAL_HOURS(3);
        switch (i) {
        case 0:
            cfg.churn = 0.5;
            break;
        case 1:
            cfg.resets_per_day = 96;
            break;
        case 2:
            cfg.hubs = 4;
            cfg.flaky_hubs = 2;
            cfg.dead_hubs = 1;
            break;
        default:
            cfg.connect_failure = 0.6;
            break;
        }
        json_t *r = run(&cfg, NULL);
        if (!r)
            continue;
        if (!CHECK_EQ_INT(get(r, "invariant_violations", "total"), 0))
            printf("    fault: %s\n", faults[i]);
        CHECK(get(r, "negotiation", "connections") > 0);
        if (i == 1) /* connections outlive network changes */
            CHECK(get(r, "totals", "restarts") > 0);
        if (i == 3)
            CHECK(get(r, "negotiation", "negotiations_failed") > 0);
        json_decref(r);
    }
}

static void bad_configurations_are_refused(void)
{
    shoal_buf out = SHOAL_BUF_INIT;
    shoal_sim_config cfg = small();
    cfg.peers = 0;
    CHECK_EQ_ERR(shoal_sim_run(&cfg, &out), SHOAL_E_INVAL);
    cfg = small();
    cfg.dead_hubs = 2;
    cfg.flaky_hubs = 2;
    CHECK_EQ_ERR(shoal_sim_run(&cfg, &out), SHOAL_E_INVAL);
    cfg = small();
    cfg.connect_failure = 1.5;
    CHECK_EQ_ERR(shoal_sim_run(&cfg, &out), SHOAL_E_INVAL);
    cfg = small();
    cfg.conn.max_peers = 0;
    CHECK_EQ_ERR(shoal_sim_run(&cfg, &out), SHOAL_E_CONN_CONFIG);
    CHECK_EQ_INT(out.len, 0);
    shoal_buf_free(&out);
}

static int tiny_run(void *ctx)
{
    shoal_sim_config cfg = small();
    cfg.peers = 6;
    cfg.duration = SHOAL_MINUTES(5);
    cfg.negotiate = ctx != NULL;
    shoal_buf out = SHOAL_BUF_INIT;
    int rc = shoal_sim_run(&cfg, &out);
    shoal_buf_free(&out);
    return rc;
}

static void running_out_of_memory_is_reported_cleanly(void)
{
    CHECK(harness_failmalloc_sweep(tiny_run, NULL) > 10);
    static bool negotiate = true;
    CHECK(harness_failmalloc_sweep(tiny_run, &negotiate) > 10);
}

int main(void)
{
    RUN(the_same_seed_gives_the_same_report);
    RUN(a_calm_network_connects_everyone);
    RUN(every_fault_keeps_the_invariants);
    RUN(the_default_report_has_no_negotiation);
    RUN(negotiating_peers_connect_and_settle_glare);
    RUN(every_fault_keeps_the_negotiation_invariants);
    RUN(bad_configurations_are_refused);
    RUN(running_out_of_memory_is_reported_cleanly);
    return harness_finish();
}

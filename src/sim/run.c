/* Setting up a simulated world, running its events in order, and reporting. */
#include "sim_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR   SHOAL_HOURS(1)
#define MINUTE SHOAL_MINUTES(1)

void shoal_sim_config_default(shoal_sim_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->peers = 100;
    cfg->hubs = 3;
    cfg->duration = SHOAL_HOURS(24);
    cfg->seed = 1;
    cfg->fanout = 4;
    cfg->announce_delay = SHOAL_MS(500);
    cfg->connect_failure = 0.1;
    cfg->download_chance = 0.3;
    cfg->sample_every = HOUR;
    shoal_conn_config_default(&cfg->conn);
}

static bool probability(double p)
{
    return p >= 0 && p <= 1;
}

static int check(const shoal_sim_config *cfg)
{
    if (cfg->peers == 0 || cfg->peers > SIM_MAX_PEERS || cfg->hubs == 0 ||
        cfg->hubs > SIM_MAX_HUBS || cfg->dead_hubs + cfg->flaky_hubs > cfg->hubs ||
        cfg->duration <= 0 || cfg->duration > SHOAL_HOURS(24 * 365) || cfg->sample_every <= 0 ||
        cfg->announce_delay < 0 || !probability(cfg->connect_failure) ||
        !probability(cfg->download_chance) || !probability(cfg->churn) ||
        !(cfg->resets_per_day >= 0 && cfg->resets_per_day <= 1e6))
        return SHOAL_E_INVAL;
    return shoal_conn_config_check(&cfg->conn);
}

static int setup(sim *s, const shoal_sim_config *cfg)
{
    s->cfg = *cfg;
    s->rng = cfg->seed;
    s->peers = shoal_calloc(cfg->peers, sizeof *s->peers);
    if (!s->peers)
        return SHOAL_E_NOMEM;
    if (cfg->negotiate) {
        int rc = shoal__sim_neg_setup(s);
        if (rc != SHOAL_OK)
            return rc;
    }
    for (uint32_t h = 0; h < cfg->hubs; h++) {
        sim_hub *hub = &s->hubs[h];
        char name[32];
        int len = snprintf(name, sizeof name, "hub%u.sim", h);
        if (shoal_hub_addr_parse(&hub->addr, name, (size_t)len, NULL) != SHOAL_OK)
            return SHOAL_E_INVAL;
        hub->dead = h < cfg->dead_hubs;
        hub->flaky = !hub->dead && h < cfg->dead_hubs + cfg->flaky_hubs;
        hub->up = !hub->dead;
        hub->subs = shoal_calloc(cfg->peers, sizeof *hub->subs);
        if (!hub->subs)
            return SHOAL_E_NOMEM;
        if (hub->flaky)
            shoal__sim_at(s, shoal__sim_exp(s, HOUR), EV_HUB_FLAP, h, 0, 0);
    }
    for (uint32_t p = 0; p < cfg->peers; p++) {
        sim_peer *peer = &s->peers[p];
        uint8_t feed[32];
        shoal__sim_feed(p, feed);
        uint64_t seed = (uint64_t)(shoal__sim_uniform(s) * 0x1p53);
        int rc = shoal_conn_new(&peer->conn, &cfg->conn, feed, seed);
        if (rc != SHOAL_OK)
            return rc;
        for (uint32_t h = 0; h < SIM_MAX_HUBS; h++)
            peer->sub_pos[h] = -1;
        peer->first_connected = -1;
        peer->churns = shoal__sim_uniform(s) < cfg->churn;
        shoal__sim_at(s, shoal__sim_between(s, 0, MINUTE), EV_ONLINE, p, 1, 0);
        if (cfg->resets_per_day > 0)
            shoal__sim_at(s, shoal__sim_exp(s, (shoal_time)(SHOAL_HOURS(24) / cfg->resets_per_day)),
                          EV_RESET, p, 0, 0);
    }
    shoal__sim_at(s, cfg->sample_every, EV_SAMPLE, 0, 0, 0);
    return s->failed;
}

static void teardown(sim *s)
{
    shoal__sim_neg_teardown(s);
    if (s->peers)
        for (uint32_t p = 0; p < s->cfg.peers; p++)
            shoal_conn_free(s->peers[p].conn);
    for (uint32_t h = 0; h < SIM_MAX_HUBS; h++)
        shoal_free(s->hubs[h].subs);
    shoal_free(s->peers);
    shoal_free(s->queue);
    shoal_free(s->links);
    shoal_free(s->free_links);
    shoal_free(s->link_index);
    shoal_buf_free(&s->samples_mean);
    shoal_buf_free(&s->samples_isolated);
}

/* Connection counts, and the checks that only a look at every peer can make: no attempt left
 * past its deadline, and both ends of every link agree that it is up. */
static void sample(sim *s)
{
    uint64_t online = 0, connected = 0, isolated = 0;
    for (uint32_t p = 0; p < s->cfg.peers; p++) {
        const sim_peer *peer = &s->peers[p];
        if (!peer->online)
            continue;
        online++;
        uint32_t n = 0;
        for (size_t i = 0; i < shoal_conn_peer_count(peer->conn); i++) {
            const shoal_conn_peer *r = shoal_conn_peer_at(peer->conn, i);
            n += r->state == SHOAL_PEER_CONNECTED;
            if (r->state == SHOAL_PEER_CONNECTING && r->deadline < s->now - 1000)
                s->violations.stuck++;
        }
        connected += n;
        isolated += n == 0;
    }
    if (s->cfg.negotiate)
        shoal__sim_neg_sample(s);
    for (uint32_t id = 0; id < s->nlinks; id++) {
        const sim_link *l = &s->links[id];
        if (!l->live || !l->up || l->up_since > s->now - 1000)
            continue;
        for (int side = 0; side < 2; side++) {
            uint32_t me = side ? l->b : l->a, other = side ? l->a : l->b;
            uint8_t feed[32];
            shoal__sim_feed(other, feed);
            const shoal_conn_peer *r = shoal_conn_peer_find(s->peers[me].conn, feed);
            if (!r || (r->state != SHOAL_PEER_CONNECTED && r->state != SHOAL_PEER_DISCONNECTING))
                s->violations.link_mismatch++;
        }
    }
    const char *sep = s->samples_mean.len ? "," : "";
    shoal_buf_appendf(&s->samples_mean, "%s%.3f", sep, online ? (double)connected / online : 0.0);
    shoal_buf_appendf(&s->samples_isolated, "%s%.3f", sep,
                      online ? (double)isolated / online : 0.0);
}

static void dispatch(sim *s, const sim_event *e)
{
    sim_peer *peer = e->a < s->cfg.peers ? &s->peers[e->a] : NULL;
    switch (e->type) {
    case EV_TICK:
        shoal__sim_tick(s, e->a, e->b);
        break;
    case EV_HUB_UP:
    case EV_HUB_FAILED:
        if (peer->online && e->c == peer->epoch)
            shoal__sim_hub_connected(s, e->a, e->b, e->type == EV_HUB_UP);
        break;
    case EV_OFFER:
    case EV_NEGOTIATED:
    case EV_DOWNLOAD:
        if (e->a < s->nlinks && s->links[e->a].live && s->links[e->a].gen == e->b) {
            if (e->type == EV_OFFER)
                shoal__sim_offered(s, e->a);
            else if (e->type == EV_NEGOTIATED)
                shoal__sim_negotiated(s, e->a);
            else
                shoal__sim_download(s, e->a);
        }
        break;
    case EV_ONLINE:
        shoal__sim_go_online(s, e->a, e->b == 1);
        if (peer->churns)
            shoal__sim_at(s, s->now + shoal__sim_exp(s, 2 * HOUR), EV_OFFLINE, e->a, 0, 0);
        break;
    case EV_OFFLINE:
        shoal__sim_go_offline(s, e->a);
        shoal__sim_at(s, s->now + shoal__sim_exp(s, 20 * MINUTE), EV_ONLINE, e->a, 0, 0);
        break;
    case EV_RESET:
        if (peer->online)
            shoal__sim_reset(s, e->a);
        shoal__sim_at(
            s, s->now + shoal__sim_exp(s, (shoal_time)(SHOAL_HOURS(24) / s->cfg.resets_per_day)),
            EV_RESET, e->a, 0, 0);
        break;
    case EV_HUB_FLAP:
        if (s->hubs[e->a].up) {
            shoal__sim_hub_down(s, e->a);
            shoal__sim_at(s, s->now + shoal__sim_between(s, 10000, 5 * MINUTE), EV_HUB_FLAP, e->a,
                          0, 0);
        } else {
            s->hubs[e->a].up = true;
            shoal__sim_at(s, s->now + shoal__sim_exp(s, HOUR), EV_HUB_FLAP, e->a, 0, 0);
        }
        break;
    case EV_SAMPLE:
        sample(s);
        shoal__sim_at(s, s->now + s->cfg.sample_every, EV_SAMPLE, 0, 0, 0);
        break;
    case EV_NEG_TICK:
    case EV_DESCRIBE:
    case EV_CANDIDATE:
    case EV_SIGNAL:
    case EV_POSTED:
    case EV_RTC_OPEN:
    case EV_LINKED:
    case EV_RTC_CLOSED:
    case EV_RTC_DOWNLOAD:
    case EV_RTC_RESTARTED:
        shoal__sim_neg_dispatch(s, e);
        break;
    default:
        shoal__sim_deliver(s, e);
        break;
    }
}

static int by_time(const void *x, const void *y)
{
    shoal_time a = *(const shoal_time *)x, b = *(const shoal_time *)y;
    return (a > b) - (a < b);
}

static const char *backoff_name(shoal_backoff_kind kind)
{
    static const char *const names[] = {"shoal", "ssb-conn", "libp2p"};
    return names[kind];
}

static int report(sim *s, shoal_buf *out)
{
    shoal_conn_stats total = {0};
    shoal_time *ttfc = shoal_calloc(s->cfg.peers, sizeof *ttfc);
    if (!ttfc)
        return SHOAL_E_NOMEM;
    size_t n = 0;
    for (uint32_t p = 0; p < s->cfg.peers; p++) {
        const shoal_conn_stats *st = shoal_conn_get_stats(s->peers[p].conn);
        total.dials += st->dials;
        total.successes += st->successes;
        total.failures += st->failures;
        total.timeouts += st->timeouts;
        total.rotations += st->rotations;
        total.trims += st->trims;
        total.forgotten += st->forgotten;
        total.resets += st->resets;
        total.restarts += st->restarts;
        if (s->peers[p].first_connected >= 0)
            ttfc[n++] = s->peers[p].first_connected - s->peers[p].first_online;
    }
    double mean = 0;
    for (size_t i = 0; i < n; i++)
        mean += (double)ttfc[i];
    mean = n ? mean / (double)n : 0;
    if (n > 1)
        qsort(ttfc, n, sizeof *ttfc, by_time);
    const shoal_sim_config *c = &s->cfg;
    uint64_t violations = s->violations.over_max_peers + s->violations.cut_while_downloading +
                          s->violations.stuck + s->violations.link_mismatch +
                          s->violations.two_current + s->violations.over_max_records +
                          s->violations.rtc_mismatch + s->violations.unreadable_signals;
    shoal_buf_appendf(
        out,
        "{\"seed\":%llu,\"peers\":%u,\"hubs\":%u,\"duration_s\":%lld,\"backoff\":\"%s\","
        "\"max_peers\":%u,\"fanout\":%u,"
        "\"faults\":{\"connect_failure\":%.3f,\"dead_hubs\":%u,\"flaky_hubs\":%u,"
        "\"churn\":%.3f,\"resets_per_day\":%.3f},",
        (unsigned long long)c->seed, c->peers, c->hubs, (long long)(c->duration / 1000),
        backoff_name(c->conn.backoff), c->conn.max_peers, c->fanout, c->connect_failure,
        c->dead_hubs, c->flaky_hubs, c->churn, c->resets_per_day);
    shoal_buf_appendf(out, "\"connected\":{\"every_s\":%lld,\"mean_per_peer\":[%s],",
                      (long long)(c->sample_every / 1000),
                      s->samples_mean.data ? s->samples_mean.data : "");
    shoal_buf_appendf(out, "\"isolated_fraction\":[%s]},",
                      s->samples_isolated.data ? s->samples_isolated.data : "");
    shoal_buf_appendf(out,
                      "\"totals\":{\"actions\":%llu,\"dials\":%llu,\"successes\":%llu,"
                      "\"failures\":%llu,\"timeouts\":%llu,\"rotations\":%llu,\"trims\":%llu,"
                      "\"cuts\":%llu,\"forgotten\":%llu,\"resets\":%llu,\"restarts\":%llu,"
                      "\"dials_to_offline\":%llu},",
                      (unsigned long long)s->actions, (unsigned long long)total.dials,
                      (unsigned long long)total.successes, (unsigned long long)total.failures,
                      (unsigned long long)total.timeouts, (unsigned long long)total.rotations,
                      (unsigned long long)total.trims, (unsigned long long)s->cuts,
                      (unsigned long long)total.forgotten, (unsigned long long)total.resets,
                      (unsigned long long)total.restarts, (unsigned long long)s->dials_to_offline);
    shoal_buf_appendf(out,
                      "\"time_to_first_connection_ms\":{\"connected\":%zu,\"never\":%zu,"
                      "\"mean\":%.0f,\"p50\":%lld,\"p95\":%lld,\"max\":%lld},",
                      n, (size_t)c->peers - n, mean, (long long)(n ? ttfc[n / 2] : 0),
                      (long long)(n ? ttfc[n * 95 / 100] : 0), (long long)(n ? ttfc[n - 1] : 0));
    if (c->negotiate)
        shoal__sim_neg_report(s, out);
    shoal_buf_appendf(
        out,
        "\"invariant_violations\":{\"total\":%llu,\"over_max_peers\":%llu,"
        "\"cut_while_downloading\":%llu,\"stuck_connecting\":%llu,"
        "\"link_mismatch\":%llu",
        (unsigned long long)violations, (unsigned long long)s->violations.over_max_peers,
        (unsigned long long)s->violations.cut_while_downloading,
        (unsigned long long)s->violations.stuck, (unsigned long long)s->violations.link_mismatch);
    if (c->negotiate)
        shoal_buf_appendf(out,
                          ",\"two_current\":%llu,\"over_max_records\":%llu,"
                          "\"rtc_mismatch\":%llu,\"unreadable_signals\":%llu",
                          (unsigned long long)s->violations.two_current,
                          (unsigned long long)s->violations.over_max_records,
                          (unsigned long long)s->violations.rtc_mismatch,
                          (unsigned long long)s->violations.unreadable_signals);
    shoal_buf_appendf(out, "}}\n");
    shoal_free(ttfc);
    if (shoal_buf_status(&s->samples_mean) != SHOAL_OK ||
        shoal_buf_status(&s->samples_isolated) != SHOAL_OK)
        return SHOAL_E_NOMEM;
    return shoal_buf_status(out);
}

int shoal_sim_run(const shoal_sim_config *cfg, shoal_buf *out)
{
    int rc = check(cfg);
    if (rc != SHOAL_OK)
        return rc;
    sim *s = shoal_calloc(1, sizeof *s);
    if (!s)
        return SHOAL_E_NOMEM;
    rc = setup(s, cfg);
    sim_event e;
    while (rc == SHOAL_OK && shoal__sim_pop(s, &e) && e.at <= cfg->duration) {
        s->now = e.at;
        dispatch(s, &e);
        rc = s->failed;
    }
    if (rc == SHOAL_OK)
        rc = report(s, out);
    teardown(s);
    shoal_free(s);
    return rc;
}

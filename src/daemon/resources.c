/* The resource manager's figures: the limits in force, what the connections hold now, and what
 * was refused or let go, counted since the start. One table serves `shoal status` (JSON) and the
 * status page's /metrics (Prometheus' text format), so the two never disagree. */
#include "daemon_internal.h"

#include "shoal/net.h"

/* One count: its key in status JSON, its label in /metrics (include/shoal/daemon.h says what
 * each counts). */
typedef struct refusal {
    const char *key;
    uint64_t value;
} refusal;

enum { NREFUSALS = 15 };

static void refusals(shoal_daemon *d, refusal out[NREFUSALS])
{
    static const shoal_net_stats none = {0};
    const shoal_net_stats *net = d->server ? shoal_net_server_stats(d->server) : &none;
    const shoal_node_stats *node = shoal_node_get_stats(d->node);
    static const shoal_repl_stats no_repl = {0};
    shoal_repl *repl = shoal_node_repl(d->node);
    const shoal_repl_stats *rs = repl ? shoal_repl_get_stats(repl) : &no_repl;
    const refusal all[NREFUSALS] = {
        {"handshakesFailed", net->handshakes_failed},
        {"acceptPaused", net->accept_paused},
        {"turnedAway", node->offers_turned_away},
        {"negotiations", node->offers_over_cap},
        {"queued", d->account.backlog},
        {"queuedTotal", d->account.total},
        {"silent", d->account.silent},
        {"streams", rs->streams_refused},
        {"messages", rs->messages_refused},
        {"hubMessages", node->messages_refused},
        {"forged", node->messages_forged},
        {"replayed", node->messages_replayed},
        {"unsealed", node->messages_unsealed},
        {"signalsDropped", node->signals_dropped},
        {"signalsRefused", node->signals_refused},
    };
    memcpy(out, all, sizeof all);
}

json_t *daemon_resources_json(shoal_daemon *d)
{
    const shoal_config_limits *l = &d->cfg.limits;
    json_t *limits = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "handshakes", (json_int_t)l->handshakes, "queued",
        (json_int_t)l->queued, "queuedTotal", (json_int_t)l->queued_total, "silent",
        (json_int_t)l->silent, "streams", (json_int_t)l->streams, "streamsPerFeed",
        (json_int_t)l->streams_per_feed, "negotiations", (json_int_t)l->negotiations);
    json_t *refused = json_object();
    refusal r[NREFUSALS];
    refusals(d, r);
    for (size_t i = 0; i < NREFUSALS; i++)
        json_object_set_new(refused, r[i].key, json_integer((json_int_t)r[i].value));
    return json_pack("{s:o, s:I, s:o}", "limits", limits, "queued", (json_int_t)d->account.queued,
                     "refused", refused);
}

char *daemon_metrics(shoal_daemon *d)
{
    GString *m = g_string_new(NULL);
    refusal r[NREFUSALS];
    refusals(d, r);
    g_string_append(m, "# HELP shoal_refused_total What was refused or let go, by what.\n"
                       "# TYPE shoal_refused_total counter\n");
    for (size_t i = 0; i < NREFUSALS; i++)
        g_string_append_printf(m, "shoal_refused_total{what=\"%s\"} %" G_GUINT64_FORMAT "\n",
                               r[i].key, r[i].value);
    const shoal_conn *conn = shoal_node_conn(d->node);
    size_t connected = 0, connecting = 0;
    for (size_t i = 0; i < shoal_conn_peer_count(conn); i++) {
        shoal_peer_state st = shoal_conn_peer_at(conn, i)->state;
        connected += st == SHOAL_PEER_CONNECTED;
        connecting += st == SHOAL_PEER_CONNECTING;
    }
    static const shoal_net_stats none = {0};
    const shoal_net_stats *net = d->server ? shoal_net_server_stats(d->server) : &none;
    g_string_append_printf(
        m,
        "# HELP shoal_queued_bytes Output held for peers that have not read it yet.\n"
        "# TYPE shoal_queued_bytes gauge\nshoal_queued_bytes %zu\n"
        "# HELP shoal_queued_limit_bytes The bound on it (queuedTotal).\n"
        "# TYPE shoal_queued_limit_bytes gauge\nshoal_queued_limit_bytes %zu\n"
        "# HELP shoal_peers Peers in the state manager's table, by state.\n"
        "# TYPE shoal_peers gauge\nshoal_peers{state=\"connected\"} %zu\n"
        "shoal_peers{state=\"connecting\"} %zu\n"
        "# HELP shoal_net_accepted_total net: connections accepted.\n"
        "# TYPE shoal_net_accepted_total counter\nshoal_net_accepted_total %" G_GUINT64_FORMAT "\n"
        "# HELP shoal_connections_total Handshakes completed over data channels.\n"
        "# TYPE shoal_connections_total counter\nshoal_connections_total %" G_GUINT64_FORMAT "\n",
        d->account.queued, d->account.max_queued, connected, connecting, net->accepted,
        shoal_node_get_stats(d->node)->connections);
    return g_string_free(m, FALSE);
}

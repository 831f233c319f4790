/* The node's replication (see node_internal.h): the replicator over every session, whom the state
 * manager hears it is downloading from, EBT's ticks, what is followed. */
#include "node_internal.h"

#include <glib-unix.h>
#include <string.h>

const uint8_t *node_remote_of_rpc(shoal_node *n, shoal_rpc *rpc, shoal_node_peer **peer)
{
    GHashTableIter it;
    gpointer key, value;
    *peer = NULL;
    g_hash_table_iter_init(&it, n->peers);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        shoal_node_peer *p = value;
        if (p->driver && shoal_link_rpc(shoal_link_driver_link(p->driver)) == rpc) {
            *peer = p;
            return p->feed;
        }
    }
    for (guint i = 0; i < n->nets->len; i++)
        if (g_array_index(n->nets, net_peer, i).rpc == rpc)
            return g_array_index(n->nets, net_peer, i).feed;
    return NULL;
}

/* Messages came from a peer: the state manager must not rotate it out while they do. */
static void on_progress(shoal_repl *r, shoal_rpc *from, const uint8_t feed[32], int64_t head,
                        void *ud)
{
    (void)r;
    shoal_node *n = ud;
    shoal_node_peer *p;
    const uint8_t *remote = node_remote_of_rpc(n, from, &p);
    node_reask_progress(n, from, feed);
    if (remote) {
        shoal_conn_action a = {.type = SHOAL_ACT_DOWNLOAD_PROGRESS};
        memcpy(a.feed, remote, 32);
        node_conn(n, &a);
    }
    if (n->cb.progress)
        n->cb.progress(n, p, feed, head, n->ud);
}

static void on_head_known(shoal_repl *r, shoal_rpc *from, const uint8_t feed[32], int64_t head,
                          void *ud)
{
    (void)r, (void)from;
    shoal_node *n = ud;
    if (n->cb.head_known)
        n->cb.head_known(n, feed, head, n->ud);
}

static void on_refused(shoal_repl *r, shoal_rpc *from, const uint8_t feed[32], const char *reason,
                       void *ud)
{
    (void)r;
    shoal_node *n = ud;
    shoal_node_peer *p;
    const uint8_t *remote = node_remote_of_rpc(n, from, &p);
    char channel[SHOAL_SWARM_MAX_FROM + 1] = "?";
    if (remote)
        shoal_swarm_channel(remote, channel);
    node_say(n, "a message from %.8s… was refused: %s", channel, reason);
    node_ask_again(n, from, feed);
}

static void on_ended(shoal_repl *r, shoal_rpc *from, const uint8_t feed[32], void *ud)
{
    (void)r;
    node_ask_again(ud, from, feed);
}

int shoal_node_publish(shoal_node *n, const char *content, size_t len, shoal_msg_info *info,
                       const char **reason)
{
    if (!n->repl)
        return SHOAL_E_INVAL;
    return shoal_repl_publish(n->repl, &n->keys, (double)(g_get_real_time() / 1000), content, len,
                              info, reason); /* live streams fed by it write on their own */
}

/* A feed asked of a session the old way, unless a stream of it is open already (a feed followed
 * while the session was deciding). */
static int ask_once(shoal_node *n, shoal_rpc *rpc, const uint8_t feed[32])
{
    return shoal_repl_asking(n->repl, rpc, feed) ? SHOAL_OK
                                                 : shoal_repl_request(n->repl, rpc, feed, true);
}

/* A peer that replicates the old way is asked for what we follow, our own feed (a peer may hold
 * what we lost), and, if we replicate peers, the peer's own. */
static void on_legacy(shoal_repl *r, shoal_rpc *rpc, const uint8_t remote[32], void *ud)
{
    (void)r;
    shoal_node *n = ud;
    bool self_followed = false, remote_followed = false;
    int rc = SHOAL_OK;
    for (size_t i = 0; rc == SHOAL_OK && i < n->nfollows; i++) {
        self_followed |= memcmp(n->follows[i], n->keys.pub, 32) == 0;
        remote_followed |= memcmp(n->follows[i], remote, 32) == 0;
        rc = ask_once(n, rpc, n->follows[i]);
    }
    if (rc == SHOAL_OK && !self_followed)
        rc = ask_once(n, rpc, n->keys.pub);
    if (rc == SHOAL_OK && n->replicate_peers && !remote_followed)
        rc = ask_once(n, rpc, remote);
    if (rc != SHOAL_OK)
        node_say(n, "feeds could not be asked for: %s", shoal_strerror(rc));
}

static shoal_time ebt_now(void *ud)
{
    (void)ud;
    return node_now();
}

static gboolean on_ebt_tick(gpointer ud)
{
    shoal_node *n = ud;
    n->ebt_tick = 0;
    shoal_repl_tick(n->repl);
    return G_SOURCE_REMOVE;
}

static void on_ebt_schedule(shoal_repl *r, shoal_time at, void *ud)
{
    (void)r;
    shoal_node *n = ud;
    g_clear_handle_id(&n->ebt_tick, g_source_remove);
    if (at != SHOAL_TIME_NEVER) {
        shoal_time now = node_now();
        n->ebt_tick = g_timeout_add(at > now ? (guint)(at - now) : 0, on_ebt_tick, n);
    }
}

int shoal_node_replicate(shoal_node *n, shoal_rpc *rpc, const uint8_t remote[32], bool dialled)
{
    if (!n->repl)
        return SHOAL_E_INVAL;
    /* a peer's own feed, with replicate_peers: past EBT's bound on feeds it is asked the old way
     * only (the session replicates all the same) */
    if (n->replicate_peers && shoal_repl_follow(n->repl, remote, true) == SHOAL_E_EBT_FULL)
        node_say(n, "EBT holds as many feeds as it may: a peer's own is not added");
    return shoal_repl_start(n->repl, rpc, remote, dialled);
}

int shoal_node_follow(shoal_node *n, const uint8_t feed[32], bool following)
{
    if (!n->repl)
        return SHOAL_E_INVAL;
    for (size_t i = 0; i < n->nfollows; i++)
        if (memcmp(n->follows[i], feed, 32) == 0) {
            if (!following)
                memmove(n->follows[i], n->follows[--n->nfollows], 32);
            return following ? SHOAL_OK : shoal_repl_follow(n->repl, feed, false);
        }
    if (!following)
        return SHOAL_OK;
    n->follows = g_realloc_n(n->follows, n->nfollows + 1, 32);
    memcpy(n->follows[n->nfollows++], feed, 32);
    int rc = shoal_repl_follow(n->repl, feed, true);                           /* EBT sessions */
    return rc == SHOAL_OK ? shoal_repl_request_everywhere(n->repl, feed) : rc; /* the others */
}

const uint8_t (*shoal_node_follows(const shoal_node *n, size_t *count))[32]
{
    *count = n->nfollows;
    return (const uint8_t(*)[32])n->follows;
}

/* The intake's pool has checked batches: they are stored. */
static gboolean on_intake(gint fd, GIOCondition cond, gpointer ud)
{
    (void)fd, (void)cond;
    shoal_node *n = ud;
    shoal_repl_intake_ready(n->repl);
    return G_SOURCE_CONTINUE;
}

/* Replication for a node with a store: the replicator (its intake on a pool of threads, or, when
 * none can start, on the loop's thread), EBT (unless the config says no) with the
 * feeds followed, the bounds. SHOAL_E_NOMEM, or EBT's errors; the node is freed by its caller. */
int node_replication_start(shoal_node *n, const shoal_node_config *cfg,
                           const shoal_node_callbacks *cb)
{
    shoal_repl_callbacks rcb = {.progress = on_progress,
                                .refused = on_refused,
                                .ended = on_ended,
                                .head_known = cb->head_known ? on_head_known : NULL,
                                .clock = node_wall_clock,
                                .legacy = on_legacy,
                                .now = ebt_now,
                                .schedule = on_ebt_schedule};
    n->repl = shoal_repl_new(cfg->store, NULL, &rcb, n);
    int rc = n->repl ? SHOAL_OK : SHOAL_E_NOMEM;
    if (rc == SHOAL_OK && !cfg->no_ebt)
        rc = shoal_repl_use_ebt(n->repl, cfg->keys->pub, NULL);
    for (size_t i = 0; rc == SHOAL_OK && !cfg->no_ebt && i < cfg->nfollows; i++)
        if ((rc = shoal_repl_follow(n->repl, cfg->follows[i], true)) == SHOAL_E_EBT_FULL)
            rc = SHOAL_OK; /* past EBT's bound: a start all the same */
    if (n->repl)
        shoal_repl_set_limits(n->repl, cfg->max_streams, cfg->max_streams_per_feed);
    int intake = n->repl ? shoal_repl_intake_fd(n->repl) : -1;
    if (intake >= 0)
        n->intake_watch = g_unix_fd_add(intake, G_IO_IN, on_intake, n);
    else if (n->repl)
        node_say(n, "no threads for checking messages: they are checked on the loop's");
    n->nfollows = cfg->nfollows;
    n->replicate_peers = cfg->replicate_peers;
    n->follows = n->nfollows ? g_memdup2(cfg->follows, n->nfollows * 32) : NULL;
    return rc;
}

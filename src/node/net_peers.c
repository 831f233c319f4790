/* net: connections (TCP), as the state manager's peers: the shell of shoal/net.h dials and
 * accepts them, the node tells the manager and runs replication over them (see shoal/node.h). */
#include "node_internal.h"

#include <string.h>

net_peer *net_of_feed(shoal_node *n, const uint8_t feed[32])
{
    for (guint i = 0; i < n->nets->len; i++)
        if (memcmp(g_array_index(n->nets, net_peer, i).feed, feed, 32) == 0)
            return &g_array_index(n->nets, net_peer, i);
    return NULL;
}

static net_peer *net_of_conn(shoal_node *n, const void *conn, guint *at)
{
    for (guint i = 0; i < n->nets->len; i++)
        if (g_array_index(n->nets, net_peer, i).conn == conn) {
            *at = i;
            return &g_array_index(n->nets, net_peer, i);
        }
    return NULL;
}

int shoal_node_net_dial(shoal_node *n, const uint8_t feed[32], void *conn)
{
    const shoal_conn_peer *known = shoal_conn_peer_find(n->conn, feed);
    if (n->stopping || n->draining) /* stopping, or called from one of our callbacks */
        return SHOAL_E_CONN_FULL;
    if (known && (known->state == SHOAL_PEER_CONNECTING || known->state == SHOAL_PEER_CONNECTED))
        return SHOAL_E_CONN_ALREADY;
    shoal_conn_action a = {
        .type = SHOAL_ACT_PEER_DIAL, .hub = SHOAL_CONN_NO_HUB, .transport = SHOAL_TRANSPORT_NET};
    memcpy(a.feed, feed, 32);
    node_conn(n, &a);
    known = shoal_conn_peer_find(n->conn, feed);
    if (!known || known->state != SHOAL_PEER_CONNECTING)
        return SHOAL_E_CONN_FULL;
    net_peer np = {.conn = conn, .dialled = true};
    memcpy(np.feed, feed, 32);
    g_array_append_val(n->nets, np);
    return SHOAL_OK;
}

bool shoal_node_net_up(shoal_node *n, void *conn, shoal_rpc *rpc, const uint8_t feed[32])
{
    guint at;
    net_peer *np = net_of_conn(n, conn, &at);
    char channel[SHOAL_SWARM_MAX_FROM + 1];
    shoal_swarm_channel(feed, channel);
    if (n->stopping || n->draining)
        return false;
    if (!np) { /* it dialled us: admitted as any peer that dials us, unless we hold it already */
        const shoal_conn_peer *known = shoal_conn_peer_find(n->conn, feed);
        if (known &&
            (known->state == SHOAL_PEER_CONNECTING || known->state == SHOAL_PEER_CONNECTED)) {
            node_say(n, "%.8s… dialled us over net:, but is connected already", channel);
            return false;
        }
        shoal_conn_action a = {.type = SHOAL_ACT_REMOTE_PEER_CLIENT_DID_CONNECT,
                               .hub = SHOAL_CONN_NO_HUB,
                               .transport = SHOAL_TRANSPORT_NET};
        memcpy(a.feed, feed, 32);
        node_conn(n, &a);
        known = shoal_conn_peer_find(n->conn, feed);
        if (!known || known->state != SHOAL_PEER_CONNECTED) {
            n->net_turned_away++;
            node_say(n, "%.8s… dialled us over net:, but every slot is taken", channel);
            return false;
        }
        net_peer fresh = {.conn = conn};
        memcpy(fresh.feed, feed, 32);
        g_array_append_val(n->nets, fresh);
        np = &g_array_index(n->nets, net_peer, n->nets->len - 1);
        node_say(n, "%.8s… dialled us over net:", channel);
    } else {
        shoal_conn_action a = {.type = SHOAL_ACT_REMOTE_PEER_CONNECTION_SUCCEEDED};
        memcpy(a.feed, feed, 32);
        node_conn(n, &a);
        np = net_of_conn(n, conn, &at); /* apply may have closed it (a deadline passed) */
        if (!np)
            return false;
    }
    np->rpc = rpc;
    n->stats.connections++;
    if (shoal_basics_register(rpc, &n->basics) != SHOAL_OK ||
        (n->repl && shoal_node_replicate(n, rpc, feed, np->dialled) != SHOAL_OK)) {
        node_say(n, "replication with %.8s… could not start", channel);
        return false; /* the shell closes it: shoal_node_net_down follows */
    }
    return true;
}

void shoal_node_net_down(shoal_node *n, void *conn, int err)
{
    guint at;
    net_peer *np = net_of_conn(n, conn, &at);
    if (!np)
        return;
    net_peer gone = *np;
    g_array_remove_index_fast(n->nets, at);
    if (n->repl && gone.rpc)
        shoal_repl_forget(n->repl, gone.rpc);
    if (gone.rpc)
        node_reask_forget(n, gone.rpc);
    if (n->stopping)
        return;
    shoal_conn_action a = {.type = gone.rpc || !gone.dialled
                                       ? SHOAL_ACT_REMOTE_PEER_DID_DISCONNECT
                                       : SHOAL_ACT_REMOTE_PEER_CONNECTION_FAILED,
                           .err = err};
    memcpy(a.feed, gone.feed, 32);
    node_conn(n, &a);
    if (gone.rpc && n->cb.disconnected)
        n->cb.disconnected(n, gone.feed, err, n->ud);
}

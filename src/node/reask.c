/* Asking again. A stream we asked a peer for can end while the connection goes on: the peer
 * ended it, or answered an error (its store could not be read, say), or a message of it did not
 * follow and we ended it. Nothing else would ask for that feed again until the connection is
 * renewed (its lifetime is half an hour) while every other feed goes on: the feed would stand
 * still. So it is asked for again from our head, on the same session, after a pause that doubles
 * with each time in a row, forgotten once the feed moves again from that session (found by
 * test_faults, where a feed once stood still at 769 of 6,000). See node_internal.h. */
#include "node_internal.h"

#include <string.h>

#define FIRST_MS  1000 /* a stream that ended is asked for again after this, */
#define DOUBLINGS 6    /* doubled with each time in a row, up to 64 s */

typedef struct reask {
    shoal_node *node;
    shoal_rpc *rpc; /* looked up again when the pause is over: the session may be gone */
    uint8_t feed[32];
    uint32_t tries; /* in a row */
    guint timer;    /* 0 while none is pending */
} reask;

/* What we ask every peer for: what we follow, our own feed, and with replicate_peers its own. */
static bool wanted(const shoal_node *n, const uint8_t *remote, const uint8_t feed[32])
{
    size_t count;
    const uint8_t(*follows)[32] = shoal_node_follows(n, &count);
    for (size_t i = 0; i < count; i++)
        if (memcmp(follows[i], feed, 32) == 0)
            return true;
    return memcmp(feed, n->keys.pub, 32) == 0 ||
           (n->replicate_peers && memcmp(feed, remote, 32) == 0);
}

static reask *find(shoal_node *n, const shoal_rpc *rpc, const uint8_t feed[32])
{
    for (guint i = 0; i < n->reasks->len; i++) {
        reask *x = g_ptr_array_index(n->reasks, i);
        if (x->rpc == rpc && memcmp(x->feed, feed, 32) == 0)
            return x;
    }
    return NULL;
}

static gboolean on_reask(gpointer ud)
{
    reask *x = ud;
    shoal_node *n = x->node;
    x->timer = 0;
    shoal_node_peer *p;
    const uint8_t *remote = node_remote_of_rpc(n, x->rpc, &p);
    if (!remote || n->stopping || shoal_rpc_ended(x->rpc)) { /* the session is gone */
        g_ptr_array_remove_fast(n->reasks, x);
        return G_SOURCE_REMOVE;
    }
    if (wanted(n, remote, x->feed) && !shoal_repl_asking(n->repl, x->rpc, x->feed) &&
        shoal_repl_request(n->repl, x->rpc, x->feed, true) != SHOAL_OK)
        node_say(n, "a feed could not be asked for again");
    return G_SOURCE_REMOVE;
}

void node_ask_again(shoal_node *n, shoal_rpc *rpc, const uint8_t feed[32])
{
    shoal_node_peer *p;
    const uint8_t *remote = node_remote_of_rpc(n, rpc, &p);
    if (!remote || n->stopping || shoal_rpc_ended(rpc) || !wanted(n, remote, feed))
        return; /* the session is going: the next one asks for everything from our heads */
    reask *x = find(n, rpc, feed);
    if (x && x->timer)
        return;
    if (!x) {
        x = g_new0(reask, 1);
        *x = (reask){.node = n, .rpc = rpc};
        memcpy(x->feed, feed, 32);
        g_ptr_array_add(n->reasks, x);
    }
    guint wait = FIRST_MS << (x->tries < DOUBLINGS ? x->tries : DOUBLINGS);
    x->tries++;
    x->timer = g_timeout_add(wait, on_reask, x);
    char channel[SHOAL_SWARM_CHANNEL_SIZE];
    shoal_swarm_channel(remote, channel);
    node_say(n, "a stream from %.8s… ended while connected: asked for again in %u ms", channel,
             wait);
}

void node_reask_progress(shoal_node *n, shoal_rpc *rpc, const uint8_t feed[32])
{
    reask *x = find(n, rpc, feed);
    if (x && !x->timer) /* the feed moves again: its next end waits the shortest pause */
        g_ptr_array_remove_fast(n->reasks, x);
}

void node_reask_forget(shoal_node *n, shoal_rpc *rpc)
{
    for (guint i = 0; i < n->reasks->len;) {
        reask *x = g_ptr_array_index(n->reasks, i);
        if (x->rpc == rpc)
            g_ptr_array_remove_index_fast(n->reasks, i);
        else
            i++;
    }
}

void node_reask_free(gpointer ud)
{
    reask *x = ud;
    g_clear_handle_id(&x->timer, g_source_remove);
    g_free(x);
}

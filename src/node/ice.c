/* The hubs' ICE servers: asked of each hub the node joins (GET /v1/ice, signed with our key),
 * kept while the hub's answer holds, asked again past half its life, and given to the WebRTC
 * peers met through that hub, before the configuration's own (see shoal/ice.h). */
#include "node_internal.h"

/* How long an answer that is not a list of servers keeps us from asking that hub again. */
#define NO_ICE_US     ((gint64)G_USEC_PER_SEC * 3600) /* the hub has none (404) */
#define REFUSED_US    ((gint64)G_USEC_PER_SEC * 600)  /* it refused our request (401: a clock?) */
#define UNANSWERED_US ((gint64)G_USEC_PER_SEC * 30)   /* no answer: a hub that is down or slow */

static void on_ice(size_t index, unsigned status, const char *body, size_t len, void *ud);

bool node_ice_joined(shoal_node *n, hub *h)
{
    if (h->ice_asking)
        return true;
    if ((n->no_stun && n->no_turn) || g_get_monotonic_time() < h->ice_renew)
        return false;
    h->ice_asking = true;
    shoal_hub_client_get_ice(n->client, h->index, &n->keys, on_ice, n);
    return true;
}

/* The question is answered (or not): a join held for it is told now. */
static void release_join(shoal_node *n, hub *h)
{
    if (!h->join_held)
        return;
    h->join_held = false;
    shoal_conn_action a = {.type = SHOAL_ACT_HUB_CONNECTION_SUCCEEDED, .hub = h->id};
    node_conn(n, &a);
}

static void on_ice(size_t index, unsigned status, const char *body, size_t len, void *ud)
{
    shoal_node *n = ud;
    hub *h = node_hub_by_index(n, index);
    if (!h)
        return; /* left meanwhile */
    h->ice_asking = false;
    gint64 now = g_get_monotonic_time();
    shoal_ice_servers got;
    uint32_t ttl;
    int rc =
        status == 200 && body ? shoal_ice_servers_parse(&got, &ttl, body, len) : SHOAL_E_ICE_FORMAT;
    if (rc == SHOAL_OK) {
        /* a hub elsewhere that sends us to this machine's own services, or to link-local or
         * multicast addresses, is not followed there */
        bool hub_local = h->addr.host.kind != SHOAL_HOST_NAME &&
                         shoal_ice_server_is_local(&(shoal_ice_server){.host = h->addr.host});
        size_t refused = 0;
        h->ice.n = 0;
        for (size_t i = 0; i < got.n; i++) {
            if (!hub_local && shoal_ice_server_is_local(&got.s[i]))
                refused++;
            else if (got.s[i].scheme == SHOAL_ICE_STUN ? !n->no_stun : !n->no_turn)
                (void)shoal_ice_servers_add(&h->ice, &got.s[i]);
        }
        if (refused)
            node_say(n, "hub %zu: %zu of its ICE servers name local addresses: not used", index,
                     refused);
        h->ice_until = now + (gint64)ttl * G_USEC_PER_SEC;
        h->ice_renew = now + (gint64)ttl * G_USEC_PER_SEC / 2;
        node_say(n, "hub %zu: %zu ICE servers, for %u s", index, h->ice.n, ttl);
        release_join(n, h);
        return;
    }
    if (status == 200 && !body)
        node_say(n, "hub %zu offers no ICE servers (a plain signalhub)", index);
    else if (status == 200)
        node_say(n, "hub %zu: its ICE servers cannot be read: %s", index, shoal_strerror(rc));
    else if (status == 401 || status == 403)
        node_say(n, "hub %zu refused our request for its ICE servers (%u): is our clock right?",
                 index, status);
    /* what it gave before holds while it holds; asked again later */
    h->ice_renew = now + (status == 404 || status == 200 ? NO_ICE_US
                          : status                       ? REFUSED_US
                                                         : UNANSWERED_US);
    release_join(n, h);
}

const shoal_ice_servers *node_ice_for(shoal_node *n, uint32_t hub_id, shoal_ice_servers *out)
{
    hub *h = node_hub_by_id(n, hub_id);
    if (!h)
        return NULL;
    gint64 now = g_get_monotonic_time();
    if (now >= h->ice_renew)
        node_ice_joined(n, h); /* for the peers met after this one */
    if (h->ice.n == 0 || now >= h->ice_until)
        return NULL; /* the configuration's own */
    *out = h->ice;
    for (size_t i = 0; i < n->own_ice.n; i++)
        if (!shoal_ice_servers_add(out, &n->own_ice.s[i]))
            break;
    return out;
}

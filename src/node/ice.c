/* The hubs' ICE servers: asked of each hub the node joins (GET /v1/ice, signed with our key),
 * kept while the hub's answer holds, asked again past half its life, and given to the WebRTC
 * peers met through that hub, before the configuration's own (see shoal/ice.h). */
#include "node_internal.h"

#include <gio/gio.h>

/* How long an answer that is not a list of servers keeps us from asking that hub again. */
#define NO_ICE_US     ((gint64)G_USEC_PER_SEC * 3600) /* the hub has none (404) */
#define REFUSED_US    ((gint64)G_USEC_PER_SEC * 600)  /* it refused our request (401: a clock?) */
#define UNANSWERED_US ((gint64)G_USEC_PER_SEC * 30)   /* no answer: a hub that is down or slow */

/* ---- names --------------------------------------------------------------------------------
 * libnice 0.1.21 takes STUN and TURN servers by address alone (a name fails quietly): names are
 * looked up here, and a server whose name does not resolve is left out. turns: servers keep
 * their names: shoal's own TLS connection looks them up, and checks the certificate for them. */

typedef struct lookup {
    shoal_node *n;
    GCancellable *cancel; /* the node's: once cancelled, the node is gone */
    shoal_ice_servers list;
    size_t pending;
    bool own;     /* the configuration's servers, else a hub's: */
    size_t index; /* ... the hub client's index of it */
} lookup;

typedef struct lookup_one {
    lookup *l;
    size_t at;
} lookup_one;

static bool needs_lookup(const shoal_ice_server *s)
{
    return s->scheme != SHOAL_ICE_TURNS && s->host.kind == SHOAL_HOST_NAME;
}

static void lookup_done(lookup *l);

static void on_resolved(GObject *src, GAsyncResult *res, gpointer data)
{
    lookup_one *one = data;
    lookup *l = one->l;
    GList *addrs = g_resolver_lookup_by_name_finish(G_RESOLVER(src), res, NULL);
    shoal_ice_server *s = &l->list.s[one->at];
    GInetAddress *pick = addrs ? addrs->data : NULL; /* IPv4 first: what NATs are about */
    for (GList *a = addrs; a; a = a->next)
        if (g_inet_address_get_family(a->data) == G_SOCKET_FAMILY_IPV4) {
            pick = a->data;
            break;
        }
    char *text = pick ? g_inet_address_to_string(pick) : NULL;
    if (!text || shoal_host_parse(&s->host, text, strlen(text), NULL) != SHOAL_OK)
        s->port = 0; /* left out */
    g_free(text);
    g_resolver_free_addresses(addrs);
    g_free(one);
    if (--l->pending == 0)
        lookup_done(l);
}

/* Looks up the names in `list` (copied); done with lookup_done. */
static void look_up(shoal_node *n, const shoal_ice_servers *list, bool own, size_t index)
{
    lookup *l = g_new0(lookup, 1);
    *l = (lookup){n, g_object_ref(n->ice_cancel), *list, 1, own, index};
    GResolver *resolver = g_resolver_get_default();
    for (size_t i = 0; i < l->list.n; i++)
        if (needs_lookup(&l->list.s[i])) {
            lookup_one *one = g_new(lookup_one, 1);
            *one = (lookup_one){l, i};
            l->pending++;
            g_resolver_lookup_by_name_async(resolver, l->list.s[i].host.name, l->cancel,
                                            on_resolved, one);
        }
    g_object_unref(resolver);
    if (--l->pending == 0) /* nothing to look up */
        lookup_done(l);
}

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

static void lookup_done(lookup *l)
{
    if (!g_cancellable_is_cancelled(l->cancel)) {
        shoal_node *n = l->n;
        shoal_ice_servers kept = {0};
        for (size_t i = 0; i < l->list.n; i++)
            if (l->list.s[i].port != 0)
                (void)shoal_ice_servers_add(&kept, &l->list.s[i]);
        if (kept.n < l->list.n)
            node_say(n, "%zu ICE servers left out: their names do not resolve", l->list.n - kept.n);
        hub *h = l->own ? NULL : node_hub_by_index(n, l->index);
        if (l->own)
            n->own_ice = kept;
        else if (h) {
            h->ice = kept;
            release_join(n, h);
        }
    }
    g_object_unref(l->cancel);
    g_free(l);
}

void node_ice_start(shoal_node *n)
{
    for (size_t i = 0; i < n->own_named.n; i++)
        if (needs_lookup(&n->own_named.s[i])) {
            look_up(n, &n->own_named, true, 0);
            return;
        }
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
        for (size_t i = 0; i < h->ice.n; i++)
            if (needs_lookup(&h->ice.s[i])) { /* told once their names are looked up */
                shoal_ice_servers named = h->ice;
                h->ice.n = 0;
                look_up(n, &named, false, index);
                return;
            }
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
    /* 404, or another hub's answer (a plain signalhub's 200, an older shoal hub's 400 or 405):
     * it has none */
    bool none = status == 404 || status == 200 || status == 400 || status == 405;
    h->ice_renew = now + (none ? NO_ICE_US : status ? REFUSED_US : UNANSWERED_US);
    release_join(n, h);
}

const shoal_ice_servers *node_ice_for(shoal_node *n, uint32_t hub_id, shoal_ice_servers *out)
{
    hub *h = node_hub_by_id(n, hub_id);
    gint64 now = g_get_monotonic_time();
    if (h && now >= h->ice_renew)
        node_ice_joined(n, h); /* for the peers met after this one */
    *out = (shoal_ice_servers){0};
    if (h && now < h->ice_until)
        *out = h->ice;
    for (size_t i = 0; i < n->own_ice.n; i++) /* then our own, their names looked up */
        if (!shoal_ice_servers_add(out, &n->own_ice.s[i]))
            break;
    return out->n ? out : NULL;
}

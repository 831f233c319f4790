/* The daemon's hub table: every hub it holds and who named it (the configuration, a command,
 * a feed, or an earlier run), and the hubs blocked, kept in <home>/blocked-hubs.json. The node
 * joins and leaves them; this table only remembers why.
 *
 * Feeds are written by others, so what they name is bounded: a feed other than ours names at
 * most HUBS_PER_FEED hubs, and feeds together (ours too) hold at most HUBS_FROM_FEEDS of the
 * table, so that the configuration's hubs and those added by command always find room. Which
 * feeds may name hubs at all (ours and those we follow) is feeds.c's to say. */
#include "daemon_internal.h"

#include "shoal/identity.h"

#include <string.h>

#define SAVED           "saved" /* the source of a hub restored from conn.db */
#define HUBS_PER_FEED   3
#define HUBS_FROM_FEEDS (SHOAL_CONFIG_MAX_HUBS / 2)

char *daemon_hub_url(const shoal_hub_addr *addr)
{
    shoal_buf text = SHOAL_BUF_INIT;
    shoal_hub_addr_format(addr, &text);
    char *s = g_strdup(text.data ? text.data : "");
    shoal_buf_free(&text);
    return s;
}

void daemon_hubs_init(shoal_daemon *d)
{
    for (size_t i = 0; i < d->cfg.nhubs; i++) {
        d->hubs[i].addr = d->cfg.hubs[i];
        strcpy(d->hubs[i].source, "config");
    }
    d->nhubs = d->cfg.nhubs;
    d->blocked = g_ptr_array_new_with_free_func(g_free);
    d->blocked_path = g_build_filename(d->home, "blocked-hubs.json", NULL);
    json_t *list = json_load_file(d->blocked_path, 0, NULL);
    size_t i;
    json_t *url;
    json_array_foreach(list, i, url) if (json_is_string(url))
        g_ptr_array_add(d->blocked, g_strdup(json_string_value(url)));
    json_decref(list);
}

void daemon_hubs_free(shoal_daemon *d)
{
    if (d->blocked)
        g_ptr_array_unref(d->blocked);
    g_free(d->blocked_path);
}

static bool is_blocked(shoal_daemon *d, const shoal_hub_addr *addr)
{
    char *url = daemon_hub_url(addr);
    bool blocked = false;
    for (guint i = 0; i < d->blocked->len && !blocked; i++)
        blocked = strcmp(g_ptr_array_index(d->blocked, i), url) == 0;
    g_free(url);
    return blocked;
}

/* Whether `source` (a feed's id) may name one hub more: within its own bound and the feeds'. */
static bool feed_has_room(shoal_daemon *d, const char *source)
{
    char own[SHOAL_REF_STRSIZE];
    shoal_identity_feed_id(d->keys.pub, own);
    size_t from_feeds = 0, from_source = 0;
    for (size_t i = 0; i < d->nhubs; i++) {
        from_feeds += d->hubs[i].source[0] == '@';
        from_source += strcmp(d->hubs[i].source, source) == 0;
    }
    return from_feeds < HUBS_FROM_FEEDS &&
           (strcmp(source, own) == 0 || from_source < HUBS_PER_FEED);
}

int daemon_hubs_hold(shoal_daemon *d, const shoal_hub_addr *addr, const char *source)
{
    bool by_feed = source[0] == '@';
    for (size_t i = 0; i < d->nhubs; i++)
        if (shoal_hub_addr_equal(&d->hubs[i].addr, addr)) {
            if (strcmp(d->hubs[i].source, SAVED) == 0 && (!by_feed || feed_has_room(d, source)))
                g_strlcpy(d->hubs[i].source, source, SHOAL_REF_STRSIZE);
            return SHOAL_OK;
        }
    if (is_blocked(d, addr))
        return SHOAL_E_INVAL;
    if (d->nhubs == SHOAL_CONFIG_MAX_HUBS || (by_feed && !feed_has_room(d, source)))
        return SHOAL_E_CONN_TOO_MANY_HUBS;
    int rc = shoal_node_add_hub(d->node, addr);
    if (rc == SHOAL_OK) {
        d->hubs[d->nhubs].addr = *addr;
        g_strlcpy(d->hubs[d->nhubs++].source, source, SHOAL_REF_STRSIZE);
    }
    return rc;
}

void daemon_hubs_hold_saved(shoal_daemon *d, const shoal_hub_addr *addr)
{
    if (daemon_hubs_hold(d, addr, SAVED) != SHOAL_OK) /* blocked since it was saved, or no room */
        (void)!shoal_node_remove_hub(d->node, addr);
}

bool daemon_hubs_leave(shoal_daemon *d, const shoal_hub_addr *addr)
{
    for (size_t i = 0; i < d->nhubs; i++)
        if (shoal_hub_addr_equal(&d->hubs[i].addr, addr)) {
            (void)!shoal_node_remove_hub(d->node, addr);
            d->hubs[i] = d->hubs[--d->nhubs];
            return true;
        }
    return false;
}

void daemon_hubs_leave_named_by(shoal_daemon *d, const uint8_t feed[32])
{
    char id[SHOAL_REF_STRSIZE];
    shoal_identity_feed_id(feed, id);
    for (size_t i = d->nhubs; i-- > 0;)
        if (strcmp(d->hubs[i].source, id) == 0) {
            shoal_hub_addr addr = d->hubs[i].addr; /* its slot is refilled as it goes */
            (void)daemon_hubs_leave(d, &addr);
        }
}

static bool save_blocked(shoal_daemon *d)
{
    json_t *list = json_array();
    for (guint i = 0; i < d->blocked->len; i++)
        json_array_append_new(list, json_string(g_ptr_array_index(d->blocked, i)));
    bool ok = json_dump_file(list, d->blocked_path, JSON_INDENT(2)) == 0;
    json_decref(list);
    return ok;
}

bool daemon_hubs_block(shoal_daemon *d, const shoal_hub_addr *addr)
{
    if (!is_blocked(d, addr)) {
        g_ptr_array_add(d->blocked, daemon_hub_url(addr));
        if (!save_blocked(d))
            return false;
    }
    (void)daemon_hubs_leave(d, addr);
    return true;
}

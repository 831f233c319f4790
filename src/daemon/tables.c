/* The state manager's tables kept between runs in <home>/conn.db (shoal/conn_store.h): what the
 * last run saved goes back into the node at the start, and each change of a hub or a peer is
 * written within SAVE_MS. A damaged database is set aside, never wiped; one that cannot be used
 * at all leaves the run without its tables, said in the log. */
#include "daemon_internal.h"

#define SAVE_MS 2000 /* the tables' changes are written at most this long after */

static gboolean save_tables(gpointer ud)
{
    shoal_daemon *d = ud;
    d->save = 0;
    if (shoal_conn_store_flush(d->tables) != SHOAL_OK)
        shoal_log(SHOAL_LOG_WARN, "run",
                  "conn.db cannot be written: the hubs and peers of this "
                  "run may be forgotten by the next");
    return G_SOURCE_REMOVE;
}

void daemon_tables_note(shoal_daemon *d, const shoal_conn_fx *event)
{
    if (d->tables && shoal_conn_store_note(d->tables, event) == SHOAL_OK && !d->save &&
        shoal_conn_store_pending(d->tables) > 0)
        d->save = g_timeout_add(SAVE_MS, save_tables, d);
}

/* What the last run saved of the hubs and peers, back into the state manager; the addresses
 * of the hubs restored go to `hubs`. */
typedef struct restoring {
    shoal_daemon *d;
    GArray *hubs; /* shoal_hub_addr */
} restoring;

static int restore_one(const shoal_conn_action *a, void *ud)
{
    restoring *r = ud;
    if (shoal_node_restore(r->d->node, a) == SHOAL_OK && a->type == SHOAL_ACT_HUB_RESTORED)
        g_array_append_val(r->hubs, a->hub_record->addr);
    return SHOAL_OK; /* one that does not fit is left out; the others come back */
}

void daemon_tables_restore(shoal_daemon *d, GArray *saved)
{
    char *path = g_build_filename(d->home, "conn.db", NULL);
    shoal_buf aside = SHOAL_BUF_INIT;
    restoring r = {d, saved};
    int rc = shoal_conn_store_open(&d->tables, path, &aside);
    if (aside.len)
        shoal_log(SHOAL_LOG_WARN, "run", "%s was damaged: set aside as %s, and a new one begun",
                  path, aside.data);
    if (rc == SHOAL_OK) {
        shoal_conn_store_set_clock(d->tables, g_get_real_time() / 1000 - shoal_node_now(d->node));
        rc = shoal_conn_store_load(d->tables, restore_one, &r);
    }
    if (rc != SHOAL_OK) {
        shoal_log(SHOAL_LOG_WARN, "run",
                  "%s: %s: the hubs and peers of earlier runs are not "
                  "restored, and this run's are not saved",
                  path, shoal_strerror(rc));
        shoal_conn_store_close(d->tables);
        d->tables = NULL;
    }
    shoal_buf_free(&aside);
    g_free(path);
}

void daemon_tables_close(shoal_daemon *d)
{
    g_clear_handle_id(&d->save, g_source_remove);
    shoal_conn_store_close(d->tables); /* what is pending is written */
    d->tables = NULL;
}

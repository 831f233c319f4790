/* A link on a transport (see shoal/link_driver.h). */
#include "shoal/link_driver.h"

#include <glib.h>

struct shoal_link_driver {
    shoal_link *link;
    shoal_link_transport t;
    void *ud;
    shoal_link_limits limits;
    guint hold;        /* as the server: when our calls go out even if the client is silent */
    guint kick;        /* a write the link asked for, outside any input */
    guint idle;        /* when the peer's silence is looked at */
    gint64 last_input; /* µs, monotonic */
    bool asked;        /* the silent peer was asked something ... */
    gint64 asked_at;   /* ... then (µs, monotonic) */
    size_t held;       /* output counted in the account */
    bool done;         /* `finished` has run */
};

/* Counts `len` bytes of output as what the link holds now; whether that is within the bounds:
 * the link's own, and the account's for a link whose output grew past it (one that holds less
 * than before is never the one let go). */
static bool count_held(shoal_link_driver *d, size_t len)
{
    shoal_link_account *a = d->limits.account;
    bool grew = len > d->held;
    if (a)
        a->queued = a->queued - d->held + len;
    d->held = len;
    if (len > d->limits.max_backlog) {
        if (a)
            a->backlog++;
        return false;
    }
    if (grew && a && a->max_queued && a->queued > a->max_queued) {
        a->total++;
        return false;
    }
    return true;
}

static void finish(shoal_link_driver *d, int status)
{
    if (d->done)
        return;
    d->done = true;
    (void)count_held(d, 0);
    g_clear_handle_id(&d->hold, g_source_remove);
    g_clear_handle_id(&d->kick, g_source_remove);
    g_clear_handle_id(&d->idle, g_source_remove);
    d->t.finished(status, d->ud);
}

static void pump(shoal_link_driver *d);

static void answered(shoal_rpc *rpc, int32_t id, shoal_rpc_event ev, const shoal_rpc_body *body,
                     void *ud)
{
    (void)rpc, (void)id, (void)ev, (void)body, (void)ud; /* its bytes were input: enough */
}

static gboolean on_idle(gpointer ud)
{
    shoal_link_driver *d = ud;
    d->idle = 0;
    gint64 now = g_get_monotonic_time();
    if (d->asked && d->last_input > d->asked_at)
        d->asked = false; /* it answered, or spoke */
    if (d->asked) {
        if (d->limits.account)
            d->limits.account->silent++;
        finish(d, SHOAL_E_LINK_SILENT);
        return G_SOURCE_REMOVE;
    }
    gint64 silent_ms = (now - d->last_input) / 1000;
    if (silent_ms < d->limits.idle_ms) { /* it spoke meanwhile */
        d->idle = g_timeout_add((guint)(d->limits.idle_ms - silent_ms), on_idle, d);
        return G_SOURCE_REMOVE;
    }
    d->asked = true;
    d->asked_at = now;
    json_t *args = json_array();
    int32_t id;
    if (args && shoal_rpc_call(shoal_link_rpc(d->link), SHOAL_RPC_ASYNC, "whoami", args, answered,
                               NULL, &id) == SHOAL_OK)
        pump(d);
    json_decref(args);
    if (!d->done) /* it has as long again to say anything */
        d->idle = g_timeout_add((guint)d->limits.idle_ms, on_idle, d);
    return G_SOURCE_REMOVE;
}

/* Hands the transport the link's output while it takes it. */
static void pump(shoal_link_driver *d)
{
    size_t len;
    const uint8_t *out;
    while (!d->done && (out = shoal_link_output(d->link, &len)) != NULL && len > 0) {
        long k = d->t.send(out, len, d->ud);
        if (k < 0) {
            finish(d, (int)k);
            return;
        }
        if (k == 0) { /* shoal_link_driver_writable resumes, unless the peer reads nothing */
            if (!count_held(d, len))
                finish(d, SHOAL_E_LINK_BACKLOG);
            return;
        }
        shoal_link_drain(d->link, (size_t)k);
    }
    (void)count_held(d, 0); /* all handed over (or over) */
    if (shoal_link_status(d->link) != SHOAL_OK)
        finish(d, shoal_link_status(d->link));
    else if (shoal_link_finished(d->link))
        finish(d, SHOAL_OK);
    else if (!d->done && !shoal_link_output(d->link, &len))
        shoal_rpc_writable(shoal_link_rpc(d->link)); /* handlers send their next window */
}

static gboolean on_kick(gpointer ud)
{
    shoal_link_driver *d = ud;
    d->kick = 0;
    pump(d);
    return G_SOURCE_REMOVE;
}

static void on_output(shoal_link *link, void *ud)
{
    (void)link;
    shoal_link_driver *d = ud;
    if (!d->kick && !d->done)
        d->kick = g_idle_add_full(G_PRIORITY_DEFAULT, on_kick, d, NULL);
}

static gboolean on_hold(gpointer ud)
{
    shoal_link_driver *d = ud;
    d->hold = 0;
    shoal_link_release(d->link);
    pump(d);
    return G_SOURCE_REMOVE;
}

shoal_link_driver *shoal_link_driver_new(shoal_link *link, const shoal_link_transport *t,
                                         const shoal_link_limits *limits, void *ud)
{
    shoal_link_driver *d = g_new0(shoal_link_driver, 1);
    d->link = link;
    d->t = *t;
    d->ud = ud;
    if (limits)
        d->limits = *limits;
    if (!d->limits.max_backlog)
        d->limits.max_backlog = SHOAL_LINK_DRIVER_MAX_BACKLOG;
    if (!d->limits.idle_ms)
        d->limits.idle_ms = SHOAL_LINK_DRIVER_IDLE_MS;
    shoal_link_on_output(link, on_output, d);
    return d;
}

void shoal_link_driver_free(shoal_link_driver *d)
{
    if (!d)
        return;
    (void)count_held(d, 0);
    g_clear_handle_id(&d->hold, g_source_remove);
    g_clear_handle_id(&d->kick, g_source_remove);
    g_clear_handle_id(&d->idle, g_source_remove);
    shoal_link_free(d->link);
    g_free(d);
}

shoal_link *shoal_link_driver_link(shoal_link_driver *d)
{
    return d->link;
}

void shoal_link_driver_input(shoal_link_driver *d, const uint8_t *data, size_t len)
{
    size_t used = 0;
    d->last_input = g_get_monotonic_time();
    while (used < len && !d->done) {
        bool was = shoal_link_established(d->link);
        long k = shoal_link_input(d->link, data + used, len - used);
        if (k < 0)
            break; /* pump writes what is owed, then tells the error */
        used += (size_t)k;
        if (!was && shoal_link_established(d->link)) {
            /* a client's link holds nothing: its release is a no-op */
            d->hold = g_timeout_add(SHOAL_LINK_HOLD_MS, on_hold, d);
            d->idle = g_timeout_add((guint)d->limits.idle_ms, on_idle, d);
            d->t.established(d->ud);
        }
    }
    pump(d);
}

void shoal_link_driver_writable(shoal_link_driver *d)
{
    pump(d);
}

void shoal_link_driver_close(shoal_link_driver *d)
{
    shoal_link_close(d->link);
    if (!shoal_link_established(d->link))
        finish(d, SHOAL_OK);
    else
        pump(d);
}

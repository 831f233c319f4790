/* Network changes and wake-ups: every connection is stale after either, and the node is told
 * (shoal_node_network_changed). A network change is GNetworkMonitor's (an address or a route
 * came or went), told once a burst of them has settled; a wake-up is logind's PrepareForSleep
 * over the system bus, or, where there is none, the monotonic and boot-time clocks drifting
 * apart (the first stops while the system sleeps, the second does not). */
#include "daemon_internal.h"

#include <time.h>

#define NETWORK_SETTLE_MS 1000 /* after the last of a burst of network changes */
#define CLOCK_CHECK_S     5
#define SLEPT_US          (3 * G_USEC_PER_SEC) /* the clocks drifted apart this much: a sleep */

static gboolean network_settled(gpointer ud)
{
    shoal_daemon *d = ud;
    d->watch.settle = 0;
    if (!d->stopping && g_network_monitor_get_network_available(g_network_monitor_get_default()))
        shoal_node_network_changed(d->node, false);
    return G_SOURCE_REMOVE;
}

static void on_network_changed(GNetworkMonitor *monitor, gboolean available, gpointer ud)
{
    (void)monitor, (void)available;
    shoal_daemon *d = ud;
    g_clear_handle_id(&d->watch.settle, g_source_remove);
    d->watch.settle = g_timeout_add(NETWORK_SETTLE_MS, network_settled, d);
}

static gint64 clock_gap(void)
{
    struct timespec boot, mono;
    clock_gettime(CLOCK_BOOTTIME, &boot);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    return (gint64)(boot.tv_sec - mono.tv_sec) * 1000000 + (boot.tv_nsec - mono.tv_nsec) / 1000;
}

/* CLOCK_MONOTONIC stops while the system sleeps and CLOCK_BOOTTIME does not: a grown gap is a
 * sleep, for systems without logind. */
static gboolean check_clocks(gpointer ud)
{
    shoal_daemon *d = ud;
    gint64 gap = clock_gap();
    if (gap - d->watch.clock_gap > SLEPT_US && !d->stopping)
        shoal_node_network_changed(d->node, true);
    d->watch.clock_gap = gap;
    return G_SOURCE_CONTINUE;
}

static void on_prepare_for_sleep(GDBusConnection *bus, const char *sender, const char *path,
                                 const char *iface, const char *signal, GVariant *params,
                                 gpointer ud)
{
    (void)bus, (void)sender, (void)path, (void)iface, (void)signal;
    shoal_daemon *d = ud;
    gboolean going = TRUE;
    if (g_variant_is_of_type(params, G_VARIANT_TYPE("(b)")))
        g_variant_get(params, "(b)", &going);
    if (!going && !d->stopping) {
        d->watch.clock_gap = clock_gap(); /* told already: the clocks need not tell it again */
        shoal_node_network_changed(d->node, true);
    }
}

void daemon_watch_start(shoal_daemon *d)
{
    daemon_watch *w = &d->watch;
    g_signal_connect(g_network_monitor_get_default(), "network-changed",
                     G_CALLBACK(on_network_changed), d);
    w->clock_gap = clock_gap();
    w->clock_check = g_timeout_add_seconds(CLOCK_CHECK_S, check_clocks, d);
    w->system_bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, NULL);
    if (w->system_bus)
        w->sleep_watch = g_dbus_connection_signal_subscribe(
            w->system_bus, "org.freedesktop.login1", "org.freedesktop.login1.Manager",
            "PrepareForSleep", "/org/freedesktop/login1", NULL, G_DBUS_SIGNAL_FLAGS_NONE,
            on_prepare_for_sleep, d, NULL);
    else
        shoal_log(SHOAL_LOG_INFO, "run", "no system bus: wake-ups are seen by the clocks alone");
}

void daemon_watch_stop(shoal_daemon *d)
{
    daemon_watch *w = &d->watch;
    g_signal_handlers_disconnect_by_data(g_network_monitor_get_default(), d);
    g_clear_handle_id(&w->settle, g_source_remove);
    g_clear_handle_id(&w->clock_check, g_source_remove);
    if (w->system_bus) {
        g_dbus_connection_signal_unsubscribe(w->system_bus, w->sleep_watch);
        g_clear_object(&w->system_bus);
    }
}

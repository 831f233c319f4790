/* Plays logind around a suspend, for a test: on the bus DBUS_SYSTEM_BUS_ADDRESS names (a private
 * dbus-daemon the test runs), owns org.freedesktop.login1 and emits
 * org.freedesktop.login1.Manager.PrepareForSleep(true), then (false), as logind does before the
 * system sleeps and once it has woken. Exit status 0 once both are sent. */
#include <gio/gio.h>
#include <stdio.h>

int main(void)
{
    GError *error = NULL;
    GDBusConnection *bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &error);
    GVariant *owned =
        bus ? g_dbus_connection_call_sync(
                  bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                  "RequestName", g_variant_new("(su)", "org.freedesktop.login1", 4u),
                  G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error)
            : NULL;
    guint32 reply = 0;
    if (owned) {
        g_variant_get(owned, "(u)", &reply);
        g_variant_unref(owned);
    }
    gboolean ok = reply == 1; /* DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER */
    for (int going = 1; ok && going >= 0; going--)
        ok = g_dbus_connection_emit_signal(bus, NULL, "/org/freedesktop/login1",
                                           "org.freedesktop.login1.Manager", "PrepareForSleep",
                                           g_variant_new("(b)", going), &error);
    ok = ok && g_dbus_connection_flush_sync(bus, NULL, &error);
    if (!ok)
        fprintf(stderr, "logind-sleep: %s\n",
                error ? error->message : "org.freedesktop.login1 is owned by another");
    g_clear_error(&error);
    g_clear_object(&bus);
    return ok ? 0 : 1;
}

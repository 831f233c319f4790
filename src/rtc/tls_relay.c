/* TURN over TLS (turns:): libnice 0.1.21's own TURN-TLS speaks plain TCP to the server in RFC 5245
 * mode, so libnice is given TURN over TCP to a listener of ours on 127.0.0.1, and each connection
 * it makes there is carried over a TLS connection (GIO, glib-networking) to the real server, whose
 * certificate is checked for its name. One listener per server, made when a peer first needs it;
 * each connection's two halves are spliced until either ends. */
#include "rtc_internal.h"

#include <gio/gio.h>
#include <string.h>

#define TLS_RELAY_MAX_CARRIED 256 /* connections carried at once, per server */
#define TLS_RELAY_MAX         16  /* servers: past them (hubs that name ever more), none more */

struct tls_relay {
    int refs; /* the context's, and one per connection being carried */
    char *host;
    uint16_t server_port, port;
    GSocketService *service;
    GSocketClient *client;
    GTlsDatabase *db; /* NULL: the system's */
    GCancellable *cancel;
    unsigned carried;
};

typedef struct carried {
    tls_relay *relay;
    GSocketConnection *local;
} carried;

static void relay_unref(tls_relay *r)
{
    if (--r->refs > 0)
        return;
    g_clear_object(&r->client);
    g_clear_object(&r->db);
    g_clear_object(&r->cancel);
    g_free(r->host);
    g_free(r);
}

static void carried_free(carried *c)
{
    c->relay->carried--;
    relay_unref(c->relay);
    g_object_unref(c->local);
    g_free(c);
}

static void on_spliced(GObject *src, GAsyncResult *res, gpointer data)
{
    (void)src;
    (void)g_io_stream_splice_finish(res, NULL); /* either side's end ends both */
    carried_free(data);
}

static void on_connected(GObject *src, GAsyncResult *res, gpointer data)
{
    carried *c = data;
    GError *err = NULL;
    GSocketConnection *tls =
        g_socket_client_connect_to_host_finish(G_SOCKET_CLIENT(src), res, &err);
    if (!tls) {
        if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            shoal_log(SHOAL_LOG_INFO, "rtc", "TURN over TLS to %s:%u: %s", c->relay->host,
                      c->relay->server_port, err->message);
        g_error_free(err);
        carried_free(c); /* libnice sees its TCP connection close: that relay gathers nothing */
        return;
    }
    /* the client's timeout was for connecting: a TURN server may well say nothing for longer */
    g_socket_set_timeout(g_socket_connection_get_socket(tls), 0);
    g_io_stream_splice_async(G_IO_STREAM(c->local), G_IO_STREAM(tls),
                             G_IO_STREAM_SPLICE_CLOSE_STREAM1 | G_IO_STREAM_SPLICE_CLOSE_STREAM2,
                             G_PRIORITY_DEFAULT, c->relay->cancel, on_spliced, c);
    g_object_unref(tls);
}

static gboolean on_incoming(GSocketService *service, GSocketConnection *local, GObject *source,
                            gpointer data)
{
    (void)service, (void)source;
    tls_relay *r = data;
    if (r->carried >= TLS_RELAY_MAX_CARRIED)
        return TRUE; /* not taken: closed when GIO lets it go */
    carried *c = g_new(carried, 1);
    *c = (carried){r, g_object_ref(local)};
    r->refs++;
    r->carried++;
    g_socket_client_connect_to_host_async(r->client, r->host, r->server_port, r->cancel,
                                          on_connected, c);
    return TRUE;
}

static void on_client_event(GSocketClient *client, GSocketClientEvent event,
                            GSocketConnectable *connectable, GIOStream *connection, gpointer data)
{
    (void)client, (void)connectable;
    if (event == G_SOCKET_CLIENT_TLS_HANDSHAKING && data)
        g_tls_connection_set_database(G_TLS_CONNECTION(connection), data);
}

static tls_relay *relay_new(shoal_rtc *rtc, const shoal_ice_server *server)
{
    tls_relay *r = g_new0(tls_relay, 1);
    r->refs = 1;
    r->host = g_strdup(server->host.name);
    r->server_port = server->port;
    r->cancel = g_cancellable_new();
    r->client = g_socket_client_new();
    g_socket_client_set_tls(r->client, TRUE);
    g_socket_client_set_timeout(r->client, 15);
    if (rtc->tls_ca_file) {
        GError *err = NULL;
        r->db = g_tls_file_database_new(rtc->tls_ca_file, &err);
        if (!r->db) {
            shoal_log(SHOAL_LOG_WARN, "rtc", "TURN over TLS: %s: %s", rtc->tls_ca_file,
                      err->message);
            g_error_free(err);
            relay_unref(r);
            return NULL;
        }
    }
    g_signal_connect(r->client, "event", G_CALLBACK(on_client_event), r->db);
    r->service = g_socket_service_new();
    GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *addr = g_inet_socket_address_new(lo, 0), *effective = NULL;
    g_object_unref(lo);
    bool ok =
        g_socket_listener_add_address(G_SOCKET_LISTENER(r->service), addr, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_TCP, NULL, &effective, NULL);
    g_object_unref(addr);
    if (!ok) {
        g_clear_object(&r->service);
        relay_unref(r);
        return NULL;
    }
    r->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(effective));
    g_object_unref(effective);
    g_signal_connect(r->service, "incoming", G_CALLBACK(on_incoming), r);
    g_socket_service_start(r->service);
    return r;
}

uint16_t shoal__tls_relay_port(shoal_rtc *rtc, const shoal_ice_server *server)
{
    if (!rtc->tls_relays)
        rtc->tls_relays = g_ptr_array_new();
    for (guint i = 0; i < rtc->tls_relays->len; i++) {
        tls_relay *r = g_ptr_array_index(rtc->tls_relays, i);
        if (r->server_port == server->port && strcmp(r->host, server->host.name) == 0)
            return r->port;
    }
    if (rtc->tls_relays->len >= TLS_RELAY_MAX) {
        shoal_log(SHOAL_LOG_INFO, "rtc", "TURN over TLS to %s:%u: %d servers in use already",
                  server->host.name, server->port, TLS_RELAY_MAX);
        return 0;
    }
    tls_relay *r = relay_new(rtc, server);
    if (!r)
        return 0;
    g_ptr_array_add(rtc->tls_relays, r);
    return r->port;
}

void shoal__tls_relays_free(shoal_rtc *rtc)
{
    if (!rtc->tls_relays)
        return;
    for (guint i = 0; i < rtc->tls_relays->len; i++) {
        tls_relay *r = g_ptr_array_index(rtc->tls_relays, i);
        g_cancellable_cancel(r->cancel);
        g_socket_service_stop(r->service);
        g_socket_listener_close(G_SOCKET_LISTENER(r->service));
        g_signal_handlers_disconnect_by_data(r->service, r);
        g_clear_object(&r->service);
        relay_unref(r); /* connections still being carried end as their cancellation lands */
    }
    g_ptr_array_free(rtc->tls_relays, TRUE);
    rtc->tls_relays = NULL;
}

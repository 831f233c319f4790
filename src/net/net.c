/* TCP connections for SSB on GIO: the shell around shoal_link (see shoal/net.h).
 *
 * The link is driven by shoal/link_driver.h; this file is its TCP transport. Each connection
 * has at most one write in flight, and a source that reads when the socket is readable (into
 * one buffer for every connection: what is read is handed to the link at once, so a
 * connection costs no read buffer of its own). Every pending operation holds a reference; the
 * connection is freed when the last one is dropped, after `closed` has run. */
#include "shoal/net.h"

#include "shoal/link_driver.h"

#include <gio/gio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sodium.h>
#include <string.h>

#define READ_CHUNK          65536
#define DEFAULT_HS_MS       10000
#define DEFAULT_MAX_PENDING 64
#define WRITE_CHUNK         (1u << 20) /* bytes of the link's output in one write, at most */
#define KEEP_WBUF           65536      /* a write buffer larger is freed once written */
#define LINGER_MS           3000       /* after our goodbye, how long we wait for theirs */
/* Reading stops while more than this waits to be written, so a peer that asks faster than it
 * reads cannot make us queue without bound; it resumes when the backlog drains. */
#define MAX_BACKLOG (4u << 20)

/* The inbound connections still in their handshake, at most `cap`: while that many wait, the
 * server stops accepting (the rest wait in the kernel's backlog), so a crowd of silent dialers
 * costs a bounded number of descriptors and never makes accept spin. Shared by the server and
 * the connections it accepted, which may outlive it. */
typedef struct gate {
    int refs;
    unsigned pending, cap;
    GSocketService *service; /* NULL once the server is freed */
    bool paused;
    shoal_net_stats stats;
} gate;

struct shoal_net_conn {
    int refs;
    shoal_net_callbacks cb;
    void *ud;
    shoal_link_driver *driver;
    shoal_link *link; /* the driver's */
    gate *gate;       /* inbound, until its handshake is done or it ends */
    GSocketConnection *sock;
    GCancellable *cancel;
    bool writing, finished;
    GSource *reading; /* while the socket is read */
    bool read_paused;
    bool link_done; /* the link said its last word: the socket closes once it is written */
    int link_status;
    guint timer; /* the handshake deadline, then the linger after goodbye */
    uint8_t *wbuf;
    size_t wlen, wsent, wcap;
    shoal_link_account *account; /* the write buffer's bytes are counted in it too */
    size_t counted;
};

struct shoal_net_server {
    GSocketService *service;
    gate *gate;
    shoal_net_config cfg;
    shoal_keypair keys;
    uint8_t network[32];
    shoal_net_callbacks cb;
    void *ud;
    uint16_t port;
};

static void gate_unref(gate *g)
{
    if (--g->refs == 0)
        g_free(g);
}

/* One inbound connection is `through` its handshake, or over: another may be accepted. */
static void gate_pass(shoal_net_conn *c, bool through)
{
    gate *g = c->gate;
    if (!g)
        return;
    c->gate = NULL;
    g->pending--;
    if (!through)
        g->stats.handshakes_failed++;
    if (g->paused && g->service && g->pending < g->cap) {
        g->paused = false;
        g_socket_service_start(g->service);
    }
    gate_unref(g);
}

static shoal_net_conn *ref(shoal_net_conn *c)
{
    c->refs++;
    return c;
}

/* The write buffer holds `n` bytes for the peer now: what the account is told. */
static void count_written(shoal_net_conn *c, size_t n)
{
    if (c->account)
        c->account->queued = c->account->queued - c->counted + n;
    c->counted = n;
}

static void unref(shoal_net_conn *c)
{
    if (--c->refs > 0)
        return;
    count_written(c, 0);
    shoal_link_driver_free(c->driver);
    if (c->sock)
        g_object_unref(c->sock);
    g_object_unref(c->cancel);
    g_free(c->wbuf);
    g_free(c);
}

static void stop_reading(shoal_net_conn *c)
{
    if (c->reading) {
        g_source_destroy(c->reading);
        g_clear_pointer(&c->reading, g_source_unref);
    }
}

static gboolean unref_later(gpointer data)
{
    unref(data);
    return G_SOURCE_REMOVE;
}

/* Ends the connection once: cancels what is in flight, closes the socket, tells the user. */
static void finish(shoal_net_conn *c, int err)
{
    if (c->finished)
        return;
    c->finished = true;
    gate_pass(c, false);
    stop_reading(c);
    g_cancellable_cancel(c->cancel);
    if (c->timer)
        g_source_remove(c->timer);
    c->timer = 0;
    if (c->sock)
        g_io_stream_close(G_IO_STREAM(c->sock), NULL, NULL);
    count_written(c, 0); /* what it held is no longer held for a peer */
    if (c->cb.closed)
        c->cb.closed(c, err, c->ud);
    g_idle_add(unref_later, c); /* never freed inside a caller's (or the driver's) code */
}

static void start_read(shoal_net_conn *c);
static void write_rest(shoal_net_conn *c);

static void on_written(GObject *src, GAsyncResult *res, gpointer data)
{
    shoal_net_conn *c = data;
    GError *error = NULL;
    gssize n = g_output_stream_write_finish(G_OUTPUT_STREAM(src), res, &error);
    c->writing = false;
    if (n < 0) {
        if (!c->finished)
            shoal_log(SHOAL_LOG_INFO, "net", "write failed: %s", error->message);
        g_error_free(error);
        finish(c, SHOAL_E_NET_IO);
    } else if (!c->finished) {
        c->wsent += (size_t)n;
        if (c->wsent == c->wlen)
            count_written(c, 0);
        write_rest(c);
        if (c->wsent == c->wlen && !c->link_done)
            shoal_link_driver_writable(c->driver);
        /* nothing more to write: a peer that is idle now holds no large write buffer */
        if (!c->finished && !c->writing && c->wcap > KEEP_WBUF) {
            g_clear_pointer(&c->wbuf, g_free);
            c->wcap = 0;
        }
        if (c->read_paused)
            start_read(c);
    }
    unref(c);
}

/* Writes what the write buffer holds still; once all of the link's last words are out, the
 * connection is over. */
static void write_rest(shoal_net_conn *c)
{
    if (c->writing || c->finished)
        return;
    if (c->wsent == c->wlen || !c->sock) { /* nothing to write (and nowhere, unconnected) */
        if (c->link_done)
            finish(c, c->link_status);
        return;
    }
    c->writing = true;
    g_output_stream_write_async(g_io_stream_get_output_stream(G_IO_STREAM(c->sock)),
                                c->wbuf + c->wsent, c->wlen - c->wsent, G_PRIORITY_DEFAULT,
                                c->cancel, on_written, ref(c));
}

/* The driver's transport. Bytes the link produces are copied into the write buffer before the
 * write starts, since the link's own output moves whenever input arrives; one write at a time. */
static long on_send(const uint8_t *data, size_t len, void *ud)
{
    shoal_net_conn *c = ud;
    if (!c->sock || c->writing || c->wsent < c->wlen)
        return 0;          /* on_written resumes */
    if (len > WRITE_CHUNK) /* the rest waits in the link, where max_backlog sees it */
        len = WRITE_CHUNK;
    if (len > c->wcap) {
        c->wcap = len;
        g_free(c->wbuf);
        c->wbuf = g_malloc(len);
    }
    memcpy(c->wbuf, data, len);
    c->wlen = len;
    c->wsent = 0;
    count_written(c, len);
    write_rest(c);
    return (long)len;
}

static void on_established(void *ud)
{
    shoal_net_conn *c = ud;
    gate_pass(c, true);
    if (c->timer)
        g_source_remove(c->timer);
    c->timer = 0;
    if (c->cb.established)
        c->cb.established(c, c->ud);
}

static gboolean on_timer(gpointer data)
{
    shoal_net_conn *c = data;
    c->timer = 0;
    /* before the handshake, its deadline; after, the linger of our own close, or of the link's
     * last words: the connection ends as we asked, their goodbye or not */
    finish(c, c->link_done                      ? c->link_status
              : shoal_link_established(c->link) ? SHOAL_OK
                                                : SHOAL_E_NET_TIMEOUT);
    return G_SOURCE_REMOVE;
}

static void on_link_finished(int status, void *ud)
{
    shoal_net_conn *c = ud;
    c->link_done = true;
    c->link_status = status;
    if (status != SHOAL_OK) { /* a failed link owes nothing worth waiting for (a peer that does
                                 not read would hold its write, and us, forever) */
        finish(c, status);
        return;
    }
    if (!c->timer) /* the last words get LINGER_MS to go out */
        c->timer = g_timeout_add(LINGER_MS, on_timer, c);
    write_rest(c);
}

static const shoal_link_transport transport = {on_send, on_established, on_link_finished};

/* Bytes waiting to be written: the write buffer's rest and what the link holds. */
static size_t backlog(shoal_net_conn *c)
{
    size_t len;
    shoal_link_output(c->link, &len);
    return c->wlen - c->wsent + len;
}

/* The socket is readable: what is there (up to READ_CHUNK) goes to the link. */
static gboolean on_readable(GObject *stream, gpointer data)
{
    static uint8_t rbuf[READ_CHUNK]; /* every connection's, one at a time */
    shoal_net_conn *c = data;
    GError *error = NULL;
    gssize n = g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(stream), rbuf,
                                                        sizeof rbuf, NULL, &error);
    if (n < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
        g_error_free(error);
        return G_SOURCE_CONTINUE;
    }
    ref(c); /* whatever the link's callbacks do, c outlives this call */
    if (n < 0) {
        shoal_log(SHOAL_LOG_INFO, "net", "read failed: %s", error->message);
        g_error_free(error);
        finish(c, SHOAL_E_NET_IO);
    } else if (n == 0) {
        finish(c, shoal_link_eof(c->link));
    } else {
        shoal_link_driver_input(c->driver, rbuf, (size_t)n);
        if (!c->finished && (c->link_done || backlog(c) > MAX_BACKLOG)) {
            c->read_paused = !c->link_done;
            stop_reading(c);
        }
    }
    unref(c);
    return G_SOURCE_CONTINUE; /* stop_reading and finish destroy it when it must stop */
}

static void release_conn(gpointer data)
{
    unref(data);
}

static void start_read(shoal_net_conn *c)
{
    if (c->finished || c->reading || c->link_done)
        return;
    c->read_paused = backlog(c) > MAX_BACKLOG;
    if (c->read_paused)
        return;
    GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(c->sock));
    c->reading = g_pollable_input_stream_create_source(G_POLLABLE_INPUT_STREAM(in), NULL);
    g_source_set_callback(c->reading, G_SOURCE_FUNC(on_readable), ref(c), release_conn);
    g_source_attach(c->reading, NULL);
}

static shoal_net_conn *conn_new(const shoal_keypair *keys, const uint8_t *server_pub,
                                const uint8_t *network, const shoal_net_config *cfg,
                                const shoal_net_callbacks *cb, void *ud)
{
    shoal_link_config lc = {.network = network, .keycache = cfg->keycache, .rpc = cfg->rpc};
    shoal_link *link = shoal_link_new(keys, server_pub, &lc);
    if (!link)
        return NULL;
    shoal_net_conn *c = g_new0(shoal_net_conn, 1);
    c->refs = 1; /* the connection's own, dropped by finish() */
    c->cb = *cb;
    c->ud = ud;
    c->link = link;
    c->driver = shoal_link_driver_new(link, &transport, &cfg->limits, c);
    c->account = cfg->limits.account;
    c->cancel = g_cancellable_new();
    c->timer =
        g_timeout_add((guint)(cfg->handshake_ms ? cfg->handshake_ms : DEFAULT_HS_MS), on_timer, c);
    return c;
}

/* The socket is there: start reading and say hello. */
static void attach(shoal_net_conn *c, GSocketConnection *sock)
{
    c->sock = sock;
    g_socket_set_option(g_socket_connection_get_socket(sock), IPPROTO_TCP, TCP_NODELAY, 1, NULL);
    start_read(c);
    shoal_link_driver_writable(c->driver);
}

static void on_connected(GObject *src, GAsyncResult *res, gpointer data)
{
    shoal_net_conn *c = data;
    GError *error = NULL;
    GSocketConnection *sock = g_socket_client_connect_finish(G_SOCKET_CLIENT(src), res, &error);
    if (!sock) {
        if (!c->finished)
            shoal_log(SHOAL_LOG_INFO, "net", "connect failed: %s", error->message);
        g_error_free(error);
        finish(c, SHOAL_E_NET_CONNECT);
    } else if (c->finished) {
        g_object_unref(sock);
    } else {
        attach(c, sock);
    }
    unref(c);
}

shoal_net_conn *shoal_net_dial(const shoal_net_config *cfg, const char *host, uint16_t port,
                               const uint8_t server_pub[32], const shoal_net_callbacks *cb,
                               void *ud)
{
    shoal_net_conn *c = conn_new(cfg->keys, server_pub, cfg->network, cfg, cb, ud);
    if (!c)
        return NULL;
    GSocketClient *client = g_socket_client_new();
    /* no proxies: GIO's libproxy module is not wanted for peer connections */
    g_socket_client_set_enable_proxy(client, FALSE);
    GSocketConnectable *addr = g_network_address_new(host, port);
    g_socket_client_connect_async(client, addr, c->cancel, on_connected, ref(c));
    g_object_unref(addr);
    g_object_unref(client);
    return c;
}

static gboolean on_incoming(GSocketService *service, GSocketConnection *sock, GObject *source,
                            gpointer data)
{
    (void)service, (void)source;
    shoal_net_server *s = data;
    shoal_net_conn *c = conn_new(&s->keys, NULL, s->network, &s->cfg, &s->cb, s->ud);
    if (!c)
        return TRUE;
    c->gate = s->gate;
    s->gate->refs++;
    s->gate->stats.accepted++;
    if (++s->gate->pending >= s->gate->cap) {
        s->gate->paused = true;
        s->gate->stats.accept_paused++;
        g_socket_service_stop(s->service);
    }
    attach(c, g_object_ref(sock));
    return TRUE;
}

int shoal_net_listen(const shoal_net_config *cfg, const char *host, uint16_t port,
                     const shoal_net_callbacks *cb, void *ud, shoal_net_server **out)
{
    GInetAddress *ip = g_inet_address_new_from_string(host);
    if (!ip)
        return SHOAL_E_NET_LISTEN;
    GSocketAddress *addr = g_inet_socket_address_new(ip, port);
    g_object_unref(ip);
    GSocketService *service = g_socket_service_new();
    g_socket_listener_set_backlog(G_SOCKET_LISTENER(service), SOMAXCONN); /* the system's */
    GSocketAddress *bound = NULL;
    GError *error = NULL;
    if (!g_socket_listener_add_address(G_SOCKET_LISTENER(service), addr, G_SOCKET_TYPE_STREAM,
                                       G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error)) {
        shoal_log(SHOAL_LOG_WARN, "net", "cannot listen on %s:%u: %s", host, port, error->message);
        g_error_free(error);
        g_object_unref(addr);
        g_object_unref(service);
        return SHOAL_E_NET_LISTEN;
    }
    g_object_unref(addr);
    shoal_net_server *s = g_new0(shoal_net_server, 1);
    s->service = service;
    s->cfg = *cfg;
    s->keys = *cfg->keys;
    s->cfg.keys = NULL;
    memcpy(s->network, cfg->network ? cfg->network : shoal_shs_main_network, 32);
    s->cb = *cb;
    s->ud = ud;
    s->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    s->gate = g_new0(gate, 1);
    *s->gate = (gate){.refs = 1,
                      .cap = cfg->max_pending ? cfg->max_pending : DEFAULT_MAX_PENDING,
                      .service = service};
    g_object_unref(bound);
    g_signal_connect(service, "incoming", G_CALLBACK(on_incoming), s);
    g_socket_service_start(service);
    *out = s;
    return SHOAL_OK;
}

uint16_t shoal_net_server_port(const shoal_net_server *server)
{
    return server->port;
}

const shoal_net_stats *shoal_net_server_stats(const shoal_net_server *server)
{
    return &server->gate->stats;
}

void shoal_net_server_free(shoal_net_server *server)
{
    if (!server)
        return;
    g_socket_service_stop(server->service);
    server->gate->service = NULL;
    gate_unref(server->gate);
    g_socket_listener_close(G_SOCKET_LISTENER(server->service));
    g_object_unref(server->service);
    sodium_memzero(&server->keys, sizeof server->keys);
    g_free(server);
}

shoal_rpc *shoal_net_conn_rpc(shoal_net_conn *conn)
{
    return shoal_link_rpc(conn->link);
}

const uint8_t *shoal_net_conn_remote(const shoal_net_conn *conn)
{
    return shoal_link_remote(conn->link);
}

void shoal_net_conn_close(shoal_net_conn *conn)
{
    if (conn->finished)
        return;
    if (shoal_link_established(conn->link)) { /* their goodbye is awaited this long at most */
        if (conn->timer)
            g_source_remove(conn->timer);
        conn->timer = g_timeout_add(LINGER_MS, on_timer, conn);
    }
    shoal_link_driver_close(conn->driver); /* before the handshake: over at once */
}

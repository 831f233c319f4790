/* The signal hub on GLib: connections and their reading. Requests and answers live in
 * requests.c, the channel registry and the fan-out in fanout.c. (See shoal/hub_server.h.) */
#include "hub_server_internal.h"

#include <sodium.h>

#include <errno.h>
#include <glib-unix.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define READ_CHUNK  16384
#define EPOLL_BATCH 256 /* ready connections served in one main-loop turn, at most */

void shoal_hub_server_config_default(shoal_hub_server_config *cfg)
{
    *cfg = (shoal_hub_server_config){
        .host = "127.0.0.1",
        .port = 9000,
        .max_body = 64 * 1024,
        .max_unsent = 1024 * 1024,
        .max_per_address = 256,
        .heartbeat_ms = 30000,
        .request_ms = 10000,
        .idle_ms = 60000,
        .max_rate = 200,
        .ice_ttl_s = 12 * 3600,
    };
}

/* ---- Reading ----------------------------------------------------------------------------------
 */

static void readable(hub_conn *c);

static gboolean tls_readable(GObject *stream, gpointer data)
{
    (void)stream;
    readable(data);
    return G_SOURCE_CONTINUE; /* removed by shoal__hub_watch when no longer wanted */
}

static gboolean tls_writable(GObject *stream, gpointer data)
{
    (void)stream;
    shoal__hub_writable(data);
    return G_SOURCE_CONTINUE;
}

static GSource *tls_source(hub_conn *c, bool in)
{
    GSource *src = in ? g_pollable_input_stream_create_source(c->in, NULL)
                      : g_pollable_output_stream_create_source(c->out, NULL);
    g_source_set_callback(src, in ? G_SOURCE_FUNC(tls_readable) : G_SOURCE_FUNC(tls_writable), c,
                          NULL);
    g_source_attach(src, NULL);
    g_source_unref(src); /* the context holds it; the pointer is valid while attached */
    return src;
}

void shoal__hub_watch(hub_conn *c)
{
    if (c->closing)
        return;
    if (!c->srv->tls) {
        struct epoll_event ev = {
            .events = (c->watch_in ? EPOLLIN : 0u) | (c->watch_out ? EPOLLOUT : 0u), .data.ptr = c};
        epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, g_socket_get_fd(c->socket), &ev);
        return;
    }
    GSource **srcs[2] = {&c->in_src, &c->out_src};
    bool want[2] = {c->watch_in, c->watch_out};
    for (int i = 0; i < 2; i++) {
        if (want[i] && !*srcs[i])
            *srcs[i] = tls_source(c, i == 0);
        else if (!want[i] && *srcs[i]) {
            g_source_destroy(*srcs[i]);
            *srcs[i] = NULL;
        }
    }
}

/* The plain connections that are ready, from the epoll set (level-triggered; more than a batch
 * waits for the next turn). A connection closed by an earlier one's work is still allocated
 * until the flush frees it, and is skipped. */
static gboolean on_epoll(gint fd, GIOCondition cond, gpointer data)
{
    (void)cond;
    (void)data;
    struct epoll_event evs[EPOLL_BATCH];
    int n = epoll_wait(fd, evs, EPOLL_BATCH, 0);
    for (int i = 0; i < n; i++) {
        hub_conn *c = evs[i].data.ptr;
        if (!c->closing && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
            readable(c);
        if (!c->closing && c->watch_out && (evs[i].events & EPOLLOUT))
            shoal__hub_writable(c);
    }
    return G_SOURCE_CONTINUE;
}

static void watch_input(hub_conn *c)
{
    if (c->watch_in || c->closing)
        return;
    c->watch_in = true;
    shoal__hub_watch(c);
}

static void readable(hub_conn *c)
{
    guint8 chunk[READ_CHUNK];
    for (;;) {
        GError *err = NULL;
        gssize n = g_pollable_input_stream_read_nonblocking(c->in, chunk, sizeof chunk, NULL, &err);
        if (n < 0 && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
            g_error_free(err);
            break;
        }
        if (n <= 0) {
            g_clear_error(&err);
            /* A client that half-closed after its request still gets the answer queued for
             * it; otherwise it is gone. */
            c->watch_in = false;
            shoal__hub_watch(c);
            if (n == 0 && c->unsent > 0 && c->state != CONN_STREAM)
                c->close_after_write = true;
            else
                shoal__hub_close(c);
            return;
        }
        c->last_activity = g_get_monotonic_time();
        c->srv->stats.bytes_in += (uint64_t)n;
        /* A stream's client has nothing more to say; what it sends is dropped. */
        if (c->state == CONN_STREAM || c->state == CONN_DONE)
            continue;
        g_byte_array_append(c->rbuf, chunk, (guint)n);
        shoal__hub_process(c);
        if (c->closing)
            return;
        if (c->rbuf->len > SHOAL_HTTP_MAX_HEAD + c->srv->cfg.max_body + 64) {
            shoal__hub_fail(c, 413, "Payload Too Large", "too much unread input");
            return;
        }
    }
}

/* ---- Connections ------------------------------------------------------------------------------
 */

/* A connection accepted: its address counted, TLS put over it if we serve HTTPS. */
static void incoming(shoal_hub_server *srv, GSocketConnection *conn)
{
    char *address = NULL;
    GSocketAddress *remote = g_socket_connection_get_remote_address(conn, NULL);
    if (G_IS_INET_SOCKET_ADDRESS(remote))
        address = g_inet_address_to_string(
            g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(remote)));
    g_clear_object(&remote);
    if (!address)
        address = g_strdup("?");

    GIOStream *stream = G_IO_STREAM(g_object_ref(conn));
    if (srv->tls) {
        GError *err = NULL;
        GIOStream *tls = g_tls_server_connection_new(stream, srv->tls, &err);
        g_object_unref(stream);
        if (!tls) {
            g_clear_error(&err);
            g_free(address);
            return;
        }
        stream = tls;
    }
    hub_conn *c = g_new0(hub_conn, 1);
    c->srv = srv;
    c->stream = stream;
    c->in = G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(stream));
    c->out = G_POLLABLE_OUTPUT_STREAM(g_io_stream_get_output_stream(stream));
    c->address = address;
    c->socket = g_socket_connection_get_socket(conn);
    c->rbuf = g_byte_array_new();
    c->body = g_byte_array_new();
    if (!srv->tls) {
        struct epoll_event ev = {.events = 0, .data.ptr = c};
        epoll_ctl(srv->epfd, EPOLL_CTL_ADD, g_socket_get_fd(c->socket), &ev);
    }
    c->last_activity = c->request_started = g_get_monotonic_time();
    g_hash_table_add(srv->conns, c);
    srv->stats.connections++;

    hub_addr *from = g_hash_table_lookup(srv->per_address, address);
    if (!from) {
        from = g_new0(hub_addr, 1);
        from->tokens = 2.0 * srv->cfg.max_rate;
        from->refilled = g_get_monotonic_time();
        g_hash_table_insert(srv->per_address, g_strdup(address), from);
    }
    c->from = from;
    if (++from->conns > srv->cfg.max_per_address) {
        srv->stats.drops[DROP_PER_ADDRESS]++;
        shoal__hub_fail(c, 429, "Too Many Requests", "too many connections from this address");
        return;
    }
    watch_input(c);
    return;
}

static gboolean on_acceptable(GSocket *listener, GIOCondition cond, gpointer data);

static gboolean resume_accepting(gpointer data)
{
    shoal_hub_server *srv = data;
    srv->accept_pause_id = 0;
    srv->accept_src = g_socket_create_source(srv->listener, G_IO_IN, NULL);
    g_source_set_callback(srv->accept_src, G_SOURCE_FUNC(on_acceptable), srv, NULL);
    g_source_attach(srv->accept_src, NULL);
    return G_SOURCE_REMOVE;
}

/* Accepts every connection waiting (up to ACCEPT_BATCH a turn): one main-loop turn per
 * connection would make a burst of thousands cost thousands of turns, each of which polls every
 * connection held. Out of file descriptors, accepting pauses for a moment rather than spin. */
static gboolean on_acceptable(GSocket *listener, GIOCondition cond, gpointer data)
{
    (void)cond;
    shoal_hub_server *srv = data;
    for (int i = 0; i < ACCEPT_BATCH && !srv->stopping; i++) {
        GError *err = NULL;
        GSocket *socket = g_socket_accept(listener, NULL, &err);
        if (!socket) {
            bool later = g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
            if (!later) {
                srv->stats.accept_errors++;
                shoal_log(SHOAL_LOG_WARN, "hub", "accept: %s; pausing %d ms", err->message,
                          ACCEPT_PAUSE_MS);
            }
            g_error_free(err);
            if (later)
                break;
            srv->accept_src = NULL;
            srv->accept_pause_id = g_timeout_add(ACCEPT_PAUSE_MS, resume_accepting, srv);
            return G_SOURCE_REMOVE;
        }
        GSocketConnection *conn = g_socket_connection_factory_create_connection(socket);
        g_object_unref(socket);
        incoming(srv, conn);
        g_object_unref(conn);
    }
    return G_SOURCE_CONTINUE;
}

static void stop_accepting(shoal_hub_server *srv)
{
    if (srv->accept_src) {
        g_source_destroy(srv->accept_src);
        g_source_unref(srv->accept_src);
        srv->accept_src = NULL;
    }
    if (srv->accept_pause_id) {
        g_source_remove(srv->accept_pause_id);
        srv->accept_pause_id = 0;
    }
    g_socket_close(srv->listener, NULL);
}

void shoal__hub_linger(hub_conn *c)
{
    if (c->lingering || c->closing)
        return;
    /* TLS has no half-close of its own; its streams simply end. */
    if (c->srv->tls || !g_socket_shutdown(c->socket, FALSE, TRUE, NULL) || !c->watch_in) {
        shoal__hub_close(c);
        return;
    }
    c->lingering = true;
    c->linger_since = g_get_monotonic_time();
    c->state = CONN_DONE;
}

void shoal__hub_close(hub_conn *c)
{
    if (c->closing)
        return;
    c->watch_in = c->watch_out = false;
    shoal__hub_watch(c);
    if (!c->srv->tls)
        epoll_ctl(c->srv->epfd, EPOLL_CTL_DEL, g_socket_get_fd(c->socket), NULL);
    c->closing = true;
    shoal__hub_unsubscribe(c);
    if (c->throttled)
        g_ptr_array_remove_fast(c->srv->throttled, c);
    c->from->conns--; /* the record stays until its bucket is full again (see on_sweep) */
    /* Freed from the main loop, after any flush in progress has let go of it. */
    g_ptr_array_add(c->srv->closed, c);
    shoal__hub_schedule_flush(c->srv);
}

void shoal__hub_conn_free(hub_conn *c)
{
    g_hash_table_remove(c->srv->conns, c);
    g_io_stream_close(c->stream, NULL, NULL);
    g_object_unref(c->stream);
    GBytes *b;
    while ((b = g_queue_pop_head(&c->outq)))
        g_bytes_unref(b);
    g_byte_array_unref(c->rbuf);
    g_byte_array_unref(c->body);
    g_free(c->channels);
    g_free(c->target);
    g_free(c->address);
    g_free(c);
}

/* Drops connections stuck in a request (slowloris) or idle too long. */
static gboolean on_sweep(gpointer data)
{
    shoal_hub_server *srv = data;
    gint64 now = g_get_monotonic_time();
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, srv->conns);
    GPtrArray *late = g_ptr_array_new();
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        hub_conn *c = key;
        if (c->closing || c->state == CONN_STREAM)
            continue;
        /* a connection that has not asked anything yet has the time of a request to do so
         * (10,000 silent connections must not hold descriptors for the keep-alive time) */
        bool mid_request = c->state == CONN_BODY || c->rbuf->len > 0 || !c->asked;
        if (c->lingering  ? now - c->linger_since > LINGER_MS * 1000
            : mid_request ? now - c->request_started > (gint64)srv->cfg.request_ms * 1000
                          : now - c->last_activity > (gint64)srv->cfg.idle_ms * 1000)
            g_ptr_array_add(late, c);
    }
    for (guint i = 0; i < late->len; i++) {
        hub_conn *c = late->pdata[i];
        bool mid_request = c->state == CONN_BODY || c->rbuf->len > 0;
        if (!c->lingering && !c->asked && !mid_request) {
            srv->stats.drops[DROP_TIMEOUT]++;
            shoal__hub_close(c); /* silent since it came: nothing to answer */
        } else if (c->lingering || c->state == CONN_DONE || !mid_request) {
            shoal__hub_close(c); /* idle, or done: nothing to answer */
        } else {
            srv->stats.drops[DROP_TIMEOUT]++;
            shoal__hub_fail(c, 408, "Request Timeout", "the request took too long");
        }
    }
    g_ptr_array_unref(late);
    /* An address with no connection left is forgotten once its bucket would be full again:
     * closing and reconnecting does not buy a fresh burst. */
    GHashTableIter at;
    gpointer value;
    g_hash_table_iter_init(&at, srv->per_address);
    while (g_hash_table_iter_next(&at, NULL, &value)) {
        const hub_addr *a = value;
        if (a->conns == 0 && now - a->refilled > 2 * G_USEC_PER_SEC)
            g_hash_table_iter_remove(&at);
    }
    return G_SOURCE_CONTINUE;
}

int shoal_hub_server_start(shoal_hub_server **out, const shoal_hub_server_config *cfg, char **why)
{
    GError *err = NULL;
    GTlsCertificate *tls = NULL;
    for (size_t i = 0; cfg->ice && i < cfg->ice->n; i++)
        if (cfg->ice->s[i].scheme != SHOAL_ICE_STUN && !cfg->turn_secret_len) {
            if (why)
                *why = g_strdup("TURN servers need the secret shared with them (use-auth-secret)");
            return SHOAL_E_INVAL;
        }
    if (cfg->cert_file || cfg->key_file) {
        if (!cfg->cert_file || !cfg->key_file) {
            if (why)
                *why = g_strdup("HTTPS needs both a certificate and a key");
            return SHOAL_E_INVAL;
        }
        tls = g_tls_certificate_new_from_files(cfg->cert_file, cfg->key_file, &err);
        if (!tls) {
            if (why)
                *why = g_strdup(err->message);
            g_error_free(err);
            return SHOAL_E_INVAL;
        }
    }
    GInetAddress *addr = g_inet_address_new_from_string(cfg->host);
    if (!addr) {
        if (why)
            *why = g_strdup_printf("'%s' is not an IP address", cfg->host);
        g_clear_object(&tls);
        return SHOAL_E_INVAL;
    }
    GSocketAddress *sa = g_inet_socket_address_new(addr, cfg->port);
    GSocket *listener = g_socket_new(g_inet_address_get_family(addr), G_SOCKET_TYPE_STREAM,
                                     G_SOCKET_PROTOCOL_TCP, &err);
    g_object_unref(addr);
    /* a deep queue keeps a burst of clients from overflowing it (and waiting out a SYN
     * retransmit) */
    GSocketAddress *bound = NULL;
    if (listener) {
        g_socket_set_blocking(listener, FALSE);
        g_socket_set_listen_backlog(listener, 4096);
        if (g_socket_bind(listener, sa, TRUE, &err) && g_socket_listen(listener, &err))
            bound = g_socket_get_local_address(listener, &err);
    }
    g_object_unref(sa);
    if (!bound) {
        if (why)
            *why = g_strdup(err->message);
        g_error_free(err);
        g_clear_object(&listener);
        g_clear_object(&tls);
        return SHOAL_E_HUB_LISTEN;
    }
    shoal_hub_server *srv = g_new0(shoal_hub_server, 1);
    srv->cfg = *cfg;
    srv->cfg.ice = NULL;
    srv->cfg.turn_secret = NULL;
    if (cfg->ice)
        srv->ice = *cfg->ice;
    srv->turn_secret = g_memdup2(cfg->turn_secret, cfg->turn_secret_len);
    if (!srv->cfg.ice_ttl_s)
        srv->cfg.ice_ttl_s = 12 * 3600;
    srv->tls = tls;
    srv->listener = listener;
    srv->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    g_object_unref(bound);
    srv->conns = g_hash_table_new(g_direct_hash, g_direct_equal);
    srv->per_address = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    srv->throttled = g_ptr_array_new();
    srv->dirty = g_ptr_array_new();
    srv->closed = g_ptr_array_new();
    shoal__hub_registry_init(srv);
    srv->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (srv->epfd < 0) {
        if (why)
            *why = g_strdup_printf("epoll: %s", g_strerror(errno));
        shoal_hub_server_free(srv);
        return SHOAL_E_HUB_LISTEN;
    }
    srv->epoll_id = g_unix_fd_add(srv->epfd, G_IO_IN, on_epoll, srv);
    if (cfg->redis &&
        shoal__hub_relay_start(srv, cfg->redis,
                               cfg->redis_channel ? cfg->redis_channel : SHOAL_HUB_REDIS_CHANNEL,
                               &srv->relay, why) != SHOAL_OK) {
        shoal_hub_server_free(srv);
        return SHOAL_E_INVAL;
    }
    srv->sweep_id = g_timeout_add_seconds(1, on_sweep, srv);
    resume_accepting(srv);
    *out = srv;
    return SHOAL_OK;
}

uint16_t shoal_hub_server_port(const shoal_hub_server *srv)
{
    return srv->port;
}

static gboolean shutdown_check(gpointer data)
{
    shoal_hub_server *srv = data;
    bool pending = false;
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, srv->conns);
    while (g_hash_table_iter_next(&it, &key, NULL))
        pending = pending || (!((hub_conn *)key)->closing && ((hub_conn *)key)->unsent > 0);
    if (pending && g_get_monotonic_time() < srv->shutdown_deadline)
        return G_SOURCE_CONTINUE;
    srv->shutdown_id = 0;
    if (srv->on_done)
        srv->on_done(srv->done_ud);
    return G_SOURCE_REMOVE;
}

void shoal_hub_server_shutdown(shoal_hub_server *srv, void (*done)(void *ud), void *ud)
{
    srv->stopping = true;
    stop_accepting(srv);
    /* Streams end once what is queued for them is written. */
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, srv->conns);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        hub_conn *c = key;
        if (c->unsent == 0)
            c->close_now = true;
        c->close_after_write = true;
    }
    g_hash_table_iter_init(&it, srv->conns);
    GPtrArray *now = g_ptr_array_new();
    while (g_hash_table_iter_next(&it, &key, NULL))
        if (((hub_conn *)key)->close_now)
            g_ptr_array_add(now, key);
    for (guint i = 0; i < now->len; i++)
        shoal__hub_close(now->pdata[i]);
    g_ptr_array_unref(now);
    srv->on_done = done;
    srv->done_ud = ud;
    srv->shutdown_deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    srv->shutdown_id = g_timeout_add(50, shutdown_check, srv);
}

void shoal_hub_server_free(shoal_hub_server *srv)
{
    if (!srv)
        return;
    stop_accepting(srv);
    GList *all = g_hash_table_get_keys(srv->conns);
    for (GList *l = all; l; l = l->next)
        shoal__hub_close(l->data);
    g_list_free(all);
    shoal__hub_flush_now(srv);
    if (srv->sweep_id)
        g_source_remove(srv->sweep_id);
    if (srv->shutdown_id)
        g_source_remove(srv->shutdown_id);
    shoal__hub_relay_free(srv->relay);
    shoal__hub_registry_free(srv);
    if (srv->epoll_id)
        g_source_remove(srv->epoll_id);
    if (srv->epfd >= 0)
        close(srv->epfd);
    g_hash_table_unref(srv->conns);
    g_hash_table_unref(srv->per_address);
    g_ptr_array_unref(srv->throttled);
    if (srv->throttle_id)
        g_source_remove(srv->throttle_id);
    g_ptr_array_unref(srv->dirty);
    g_ptr_array_unref(srv->closed);
    g_object_unref(srv->listener);
    g_clear_object(&srv->tls);
    if (srv->turn_secret)
        sodium_memzero(srv->turn_secret, srv->cfg.turn_secret_len);
    g_free(srv->turn_secret);
    g_free(srv);
}

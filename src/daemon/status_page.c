/* The daemon's status page on 127.0.0.1: GET / is one HTML page whose script reads
 * GET /status.json (what `shoal status --json` answers, with the last changes) every second and
 * draws it: identity, addresses, hubs, peers (downloading or not), feeds (how far we hold each
 * and how far a peer does, a progress bar while we fetch), recent changes.
 *
 * How this works: a small HTTP/1.1 server of its own, on GIO's sockets and the hub's request
 * head parser (shoal/hub.h), rather than libsoup's. libsoup 3's server reads a request head of
 * any size, then reads every request body to its end (into memory, unless a handler stops it
 * accumulating) before any handler can answer, and keeps an idle connection open for ever; none
 * of that can be turned off. Here a stranger on the machine, or a web page in its browser,
 * gets no more than this:
 *   - a request head is read into a buffer of SHOAL_HTTP_MAX_HEAD bytes (431 past it), and a
 *     request body is never read: GET and HEAD are answered, anything else gets 405, and a
 *     request that announces a body is answered and its connection closed unread;
 *   - Host must name the page, 127.0.0.1:PORT or localhost:PORT, else 421: a site whose name
 *     its DNS points at 127.0.0.1 (DNS rebinding) gets nothing from it;
 *   - no CORS header: the browser lets no other origin read an answer;
 *   - a connection has DEADLINE_MS to send its next request whole and take its answer, and is
 *     closed then (an idle one, or one trickling its head); at most MAX_CONNS are open. */
#include "status_page.h"

#include "shoal/hub.h"

#include <gio/gio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEADLINE_MS 5000
#define MAX_CONNS   32

struct shoal_status_page {
    GSocketService *service;
    shoal_control *control;
    uint16_t port;
    char *url;
    GList *conns; /* page_conn */
};

/* One client connection; at most one read or write of its own is pending at a time. */
typedef struct page_conn {
    shoal_status_page *sp; /* NULL once the page is gone */
    GSocketConnection *conn;
    GCancellable *cancel;
    guint deadline;
    char *reply; /* the answer being written */
    size_t reply_len;
    bool busy;        /* a read or a write is pending */
    bool close_after; /* the answer is the last: the connection closes once it is written */
    bool closing;
    size_t len; /* bytes of head[] received and not yet answered */
    char head[SHOAL_HTTP_MAX_HEAD];
} page_conn;

static const char page[] =
    "<!doctype html>\n"
    "<html lang=\"en\"><head><meta charset=\"utf-8\"><title>shoal</title>\n"
    "<style>\n"
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1b2733;background:#f6f8fa}\n"
    "h1{font-size:20px;margin:0 0 .2em}h2{font-size:15px;margin:1.4em 0 .4em}\n"
    "table{border-collapse:collapse;background:#fff;min-width:40em}\n"
    "td,th{border:1px solid #d0d7de;padding:.25em .6em;text-align:left}\n"
    "th{background:#eaeef2}code{font-size:12px}.connected{color:#1a7f37;font-weight:600}\n"
    ".connecting{color:#9a6700}.disconnected{color:#cf222e}#error{color:#cf222e}\n"
    "</style></head><body>\n"
    "<h1>shoal</h1><div id=\"id\"></div><div id=\"error\"></div>\n"
    "<h2>Addresses</h2><ul id=\"addresses\"></ul>\n"
    "<h2>Hubs</h2><table id=\"hubs\"></table>\n"
    "<h2>Peers</h2><table id=\"peers\"></table>\n"
    "<h2>Feeds</h2><table id=\"feeds\"></table>\n"
    "<h2>Recent changes</h2><table id=\"recent\"></table>\n"
    "<script>\n"
    "const esc = (s) => String(s).replace(/[&<>\"]/g, (c) => "
    "({'&':'&amp;','<':'&lt;','>':'&gt;','\"':'&quot;'})[c]);\n"
    "const row = (cells, th) => '<tr>' + cells.map((c) => (th ? '<th>' : '<td>') + c + "
    "(th ? '</th>' : '</td>')).join('') + '</tr>';\n"
    "const state = (s) => '<span class=\"' + esc(s) + '\">' + esc(s) + '</span>';\n"
    "async function refresh () {\n"
    "  try {\n"
    "    const s = await (await fetch('/status.json', {cache: 'no-store'})).json();\n"
    "    document.getElementById('id').innerHTML = '<code>' + esc(s.id) + '</code> &middot; "
    "sequence ' + esc(s.sequence);\n"
    "    document.getElementById('addresses').innerHTML = s.addresses.map((a) => '<li><code>' + "
    "esc(a) + '</code></li>').join('');\n"
    "    document.getElementById('hubs').innerHTML = row(['hub', 'state', 'failures', 'named by'], "
    "true) + s.hubs.map((h) => row([esc(h.address), state(h.state), esc(h.failures), "
    "'<code>' + esc(h.source) + '</code>'])).join('');\n"
    "    const path = (p) => p ? ', ' + esc(p.kind) + (p.relay ? ' (' + esc(p.relay) + ')' : '') + "
    "' ' + esc(p.remoteAddress) + ', ' + esc(p.rttMs) + ' ms, ' + esc(p.bytesIn) + ' B in, ' + "
    "esc(p.bytesOut) + ' B out' : '';\n"
    "    document.getElementById('peers').innerHTML = row(['peer', 'state', 'via', 'failures', "
    "'last error', 'next try'], true) + s.peers.map((p) => row(['<code>' + esc(p.id) + "
    "'</code>', state(p.state), esc(p.transport) + (p.inbound ? ' (dialled us)' : '') + "
    "(p.downloading ? ', downloading' : '') + (p.restartIn ? ', ICE restarting' : '') + "
    "path(p.path), esc(p.failures), esc(p.lastError || "
    "''), p.backoffIn ? 'in ' + esc(Math.ceil(p.backoffIn / 1000)) + ' s' : ''])).join('');\n"
    "    document.getElementById('feeds').innerHTML = row(['feed', 'held', 'a peer holds', ''], "
    "true) + s.feeds.map((f) => row(['<code>' + esc(f.id) + '</code>', esc(f.sequence), "
    "f.peerSequence === null ? '?' : esc(f.peerSequence), f.peerSequence > f.sequence ? "
    "'<progress max=\"' + esc(f.peerSequence) + '\" value=\"' + esc(f.sequence) + "
    "'\"></progress>' : (f.peerSequence === null ? '' : 'synced')])).join('');\n"
    "    document.getElementById('recent').innerHTML = row(['when', 'what'], true) + "
    "s.recent.slice().reverse().map((e) => row([new Date(e.at).toLocaleTimeString(), "
    "esc(e.event) + ' ' + '<code>' + esc(e.id || e.address) + '</code> ' + "
    "state((e.forgotten || e.removed) ? 'gone' : e.state)])).join('');\n"
    "    document.getElementById('error').textContent = '';\n"
    "    document.body.dataset.ready = '1';\n"
    "  } catch (e) {\n"
    "    document.getElementById('error').textContent = 'the daemon does not answer: ' + e;\n"
    "  }\n"
    "}\n"
    "refresh();\n"
    "setInterval(refresh, 1000);\n"
    "</script></body></html>\n";

static void conn_free(page_conn *pc)
{
    if (pc->sp)
        pc->sp->conns = g_list_remove(pc->sp->conns, pc);
    g_io_stream_close(G_IO_STREAM(pc->conn), NULL, NULL);
    g_object_unref(pc->conn);
    g_object_unref(pc->cancel);
    g_free(pc->reply);
    g_free(pc);
}

/* Closes it: now, or once its pending operation has ended (cancelled). */
static void conn_close(page_conn *pc)
{
    pc->closing = true;
    g_clear_handle_id(&pc->deadline, g_source_remove);
    if (pc->busy)
        g_cancellable_cancel(pc->cancel);
    else
        conn_free(pc);
}

static gboolean on_deadline(gpointer data)
{
    page_conn *pc = data;
    pc->deadline = 0;
    conn_close(pc);
    return G_SOURCE_REMOVE;
}

/* The next request, and its answer, have DEADLINE_MS from now. */
static void arm_deadline(page_conn *pc)
{
    g_clear_handle_id(&pc->deadline, g_source_remove);
    pc->deadline = g_timeout_add(DEADLINE_MS, on_deadline, pc);
}

static const char *reason_of(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 421:
        return "Misdirected Request";
    case 431:
        return "Request Header Fields Too Large";
    case 501:
        return "Not Implemented";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Internal Server Error";
    }
}

static void on_written(GObject *src, GAsyncResult *res, gpointer data);

/* Writes an answer; `body` is borrowed, and left out for HEAD. */
static void respond(page_conn *pc, int status, const char *type, const char *body, size_t len,
                    bool head_only)
{
    GString *r = g_string_new(NULL);
    g_string_append_printf(r,
                           "HTTP/1.1 %d %s\r\nServer: shoal\r\nContent-Type: %s\r\n"
                           "Content-Length: %zu\r\nCache-Control: no-store\r\n"
                           "X-Content-Type-Options: nosniff\r\n",
                           status, reason_of(status), type, len);
    if (status == 405)
        g_string_append(r, "Allow: GET, HEAD\r\n");
    if (pc->close_after)
        g_string_append(r, "Connection: close\r\n");
    g_string_append(r, "\r\n");
    if (!head_only)
        g_string_append_len(r, body, (gssize)len);
    pc->reply_len = r->len;
    pc->reply = g_string_free(r, FALSE);
    pc->busy = true;
    g_output_stream_write_all_async(g_io_stream_get_output_stream(G_IO_STREAM(pc->conn)), pc->reply,
                                    pc->reply_len, G_PRIORITY_DEFAULT, pc->cancel, on_written, pc);
}

static void respond_error(page_conn *pc, int status, bool head_only)
{
    char text[64];
    int n = snprintf(text, sizeof text, "%d %s\n", status, reason_of(status));
    respond(pc, status, "text/plain; charset=utf-8", text, (size_t)n, head_only);
}

/* Whether Host names this page: 127.0.0.1:PORT or localhost:PORT (the port left out only when
 * it is 80, as browsers write it). */
static bool host_is_ours(const shoal_status_page *sp, const shoal_http_request *req)
{
    if (!req->host)
        return false;
    char port[8];
    snprintf(port, sizeof port, ":%u", sp->port);
    static const char *const names[] = {"127.0.0.1", "localhost"};
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(names[i]);
        if (req->host_len < n || strncasecmp(req->host, names[i], n) != 0)
            continue;
        const char *rest = req->host + n;
        size_t rest_len = req->host_len - n;
        if ((rest_len == strlen(port) && memcmp(rest, port, rest_len) == 0) ||
            (rest_len == 0 && sp->port == 80))
            return true;
    }
    return false;
}

/* Answers one request, whose head has been read whole. */
static void answer(page_conn *pc, const shoal_http_request *req)
{
    bool head_only = req->method == SHOAL_HTTP_HEAD;
    /* a body is never read: the connection cannot carry another request after it */
    pc->close_after = !req->keep_alive || req->chunked || req->content_length > 0;
    if (!host_is_ours(pc->sp, req)) {
        respond_error(pc, 421, head_only);
        return;
    }
    if (req->method != SHOAL_HTTP_GET && !head_only) {
        pc->close_after = true;
        respond_error(pc, 405, false);
        return;
    }
    const char *q = memchr(req->target, '?', req->target_len);
    size_t path_len = q ? (size_t)(q - req->target) : req->target_len;
    if (path_len == 1 && req->target[0] == '/') {
        respond(pc, 200, "text/html; charset=utf-8", page, sizeof page - 1, head_only);
    } else if (path_len == 12 && memcmp(req->target, "/status.json", 12) == 0) {
        json_t *s = shoal_control_status(pc->sp->control, true);
        char *text = s ? json_dumps(s, JSON_COMPACT) : NULL;
        json_decref(s);
        if (text)
            respond(pc, 200, "application/json", text, strlen(text), head_only);
        else
            respond_error(pc, 500, head_only);
        free(text);
    } else if (path_len == 8 && memcmp(req->target, "/metrics", 8) == 0) {
        char *text = shoal_control_metrics(pc->sp->control);
        respond(pc, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text), head_only);
        g_free(text);
    } else {
        respond_error(pc, 404, head_only);
    }
}

static void on_read(GObject *src, GAsyncResult *res, gpointer data);

/* Answers the next request once its head is here whole (it may be here already: pipelined),
 * else reads on. */
static void next_request(page_conn *pc)
{
    shoal_http_request req;
    long rc = shoal_http_parse_request(pc->head, pc->len, &req);
    if (rc == SHOAL_E_AGAIN) {
        pc->busy = true;
        g_input_stream_read_async(g_io_stream_get_input_stream(G_IO_STREAM(pc->conn)),
                                  pc->head + pc->len, sizeof pc->head - pc->len, G_PRIORITY_DEFAULT,
                                  pc->cancel, on_read, pc);
    } else if (rc < 0) {
        pc->close_after = true;
        respond_error(pc,
                      rc == SHOAL_E_HTTP_HEAD_TOO_LARGE ? 431
                      : rc == SHOAL_E_HTTP_VERSION      ? 505
                      : rc == SHOAL_E_HTTP_ENCODING     ? 501
                                                        : 400,
                      false);
    } else {
        answer(pc, &req);
        /* what followed the head: the next request's start (a body closes the connection) */
        pc->len -= (size_t)rc;
        memmove(pc->head, pc->head + rc, pc->len);
    }
}

static void on_read(GObject *src, GAsyncResult *res, gpointer data)
{
    page_conn *pc = data;
    pc->busy = false;
    gssize n = g_input_stream_read_finish(G_INPUT_STREAM(src), res, NULL);
    if (pc->closing) {
        conn_free(pc);
    } else if (n <= 0) { /* the client hung up, or failed */
        conn_close(pc);
    } else {
        pc->len += (size_t)n;
        next_request(pc);
    }
}

static void on_written(GObject *src, GAsyncResult *res, gpointer data)
{
    page_conn *pc = data;
    pc->busy = false;
    bool ok = g_output_stream_write_all_finish(G_OUTPUT_STREAM(src), res, NULL, NULL);
    g_clear_pointer(&pc->reply, g_free);
    if (pc->closing) {
        conn_free(pc);
    } else if (!ok || pc->close_after) {
        conn_close(pc);
    } else {
        arm_deadline(pc);
        next_request(pc);
    }
}

static gboolean on_incoming(GSocketService *service, GSocketConnection *conn, GObject *source,
                            gpointer data)
{
    (void)service, (void)source;
    shoal_status_page *sp = data;
    if (g_list_length(sp->conns) >= MAX_CONNS)
        return TRUE; /* not kept: GIO closes it */
    page_conn *pc = g_new0(page_conn, 1);
    pc->sp = sp;
    pc->conn = g_object_ref(conn);
    pc->cancel = g_cancellable_new();
    sp->conns = g_list_prepend(sp->conns, pc);
    arm_deadline(pc);
    next_request(pc);
    return TRUE;
}

shoal_status_page *shoal_status_page_start(shoal_control *control, uint16_t port)
{
    shoal_status_page *sp = g_new0(shoal_status_page, 1);
    sp->control = control;
    sp->service = g_socket_service_new();
    GInetAddress *loopback = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *addr = g_inet_socket_address_new(loopback, port);
    GSocketAddress *bound = NULL;
    GError *error = NULL;
    gboolean ok =
        g_socket_listener_add_address(G_SOCKET_LISTENER(sp->service), addr, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
    g_object_unref(addr);
    g_object_unref(loopback);
    if (!ok) {
        shoal_log(SHOAL_LOG_WARN, "run", "no status page on 127.0.0.1:%u: %s", port,
                  error->message);
        g_error_free(error);
        shoal_status_page_free(sp);
        return NULL;
    }
    sp->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    g_object_unref(bound);
    sp->url = g_strdup_printf("http://127.0.0.1:%u/", sp->port);
    g_signal_connect(sp->service, "incoming", G_CALLBACK(on_incoming), sp);
    g_socket_service_start(sp->service);
    return sp;
}

const char *shoal_status_page_url(const shoal_status_page *sp)
{
    return sp ? sp->url : NULL;
}

void shoal_status_page_free(shoal_status_page *sp)
{
    if (!sp)
        return;
    g_socket_service_stop(sp->service);
    g_socket_listener_close(G_SOCKET_LISTENER(sp->service));
    g_object_unref(sp->service);
    for (GList *l = sp->conns; l; l = l->next) {
        page_conn *pc = l->data;
        pc->sp = NULL; /* a connection whose operation is pending goes once it is cancelled */
        conn_close(pc);
    }
    g_list_free(sp->conns);
    g_free(sp->url);
    g_free(sp);
}

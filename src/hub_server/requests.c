/* The signal hub's requests and answers: writing, routing, bodies, the per-address rate (see
 * shoal/hub_server.h; connections are server.c's). */
#include "hub_server_internal.h"

#include <stdio.h>
#include <string.h>

/* ---- Writing ----------------------------------------------------------------------------------
 */

/* Queues a buffer (a new reference is taken). */
void shoal__hub_queue(hub_conn *c, GBytes *bytes)
{
    if (c->closing)
        return;
    g_queue_push_tail(&c->outq, g_bytes_ref(bytes));
    c->unsent += g_bytes_get_size(bytes);
    if (!c->dirty) {
        c->dirty = true;
        g_ptr_array_add(c->srv->dirty, c);
        shoal__hub_schedule_flush(c->srv);
    }
}

static void queue_text(hub_conn *c, const char *text, size_t len)
{
    GBytes *b = g_bytes_new(text, len);
    shoal__hub_queue(c, b);
    g_bytes_unref(b);
}

static const char cors[] =
    "Access-Control-Allow-Origin: *\r\n"
    "Access-Control-Allow-Methods: GET, POST, PUT, DELETE\r\n"
    "Access-Control-Allow-Headers: X-Requested-With, X-HTTP-Method-Override, Content-Type, "
    "Accept, Authorization\r\n";

/* An answer with a body; extra headers end with CRLF each. */
static void respond(hub_conn *c, int status, const char *reason, const char *type,
                    const char *extra, const char *body, size_t len)
{
    char *head = g_strdup_printf("HTTP/1.1 %d %s\r\n%s%s%s%sContent-Length: %zu\r\n%s\r\n", status,
                                 reason, cors, type ? "Content-Type: " : "", type ? type : "",
                                 type ? "\r\n" : "", len, extra ? extra : "");
    queue_text(c, head, strlen(head));
    g_free(head);
    if (len && !c->head_only)
        queue_text(c, body, len);
    c->srv->stats.responses[status / 100]++;
}

/* Answers an error and closes the connection once the answer is out. */
void shoal__hub_fail(hub_conn *c, int status, const char *reason, const char *message)
{
    char *body = g_strdup_printf("%s\n", message);
    respond(c, status, reason, "text/plain; charset=utf-8", "Connection: close\r\n", body,
            strlen(body));
    g_free(body);
    c->close_after_write = true;
    c->state = CONN_DONE;
}

/* ---- Requests ---------------------------------------------------------------------------------
 */

static void answer_status(hub_conn *c)
{
    char *body = g_strdup_printf("{\n  \"name\": \"signalhub\",\n  \"version\": \"shoal %s\",\n"
                                 "  \"subscribers\": %" G_GUINT64_FORMAT "\n}\n",
                                 SHOAL_VERSION, c->srv->subscriptions);
    respond(c, 200, "OK", "application/json; charset=utf-8", NULL, body, strlen(body));
    g_free(body);
}

static void answer_metrics(hub_conn *c)
{
    char *body = shoal__hub_metrics(c->srv);
    respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", NULL, body, strlen(body));
    g_free(body);
}

/* GET /v1/ice: the hub's STUN and TURN servers, TURN ones with credentials for the feed that
 * signed the request. */
static void answer_ice(hub_conn *c)
{
    shoal_hub_server *srv = c->srv;
    if (srv->ice.n == 0) {
        respond(c, 404, "Not Found", NULL, NULL, "", 0);
        return;
    }
    if (c->ice_auth != SHOAL_OK) {
        srv->stats.ice_refused++;
        const char *why =
            c->ice_auth == SHOAL_E_SWARM_STALE
                ? "the request's time is more than five minutes from the hub's: check the clock\n"
                : "sign the request with a feed key: Authorization: SSB-Ed25519 <feed id> "
                  "<unix seconds> <signature of shoal-ice:<Host>:<unix seconds>>\n";
        respond(c, 401, "Unauthorized", "text/plain; charset=utf-8",
                "WWW-Authenticate: SSB-Ed25519\r\n", why, strlen(why));
        return;
    }
    shoal_ref who = {.kind = SHOAL_REF_FEED};
    memcpy(who.key, c->ice_feed, 32);
    char feed[SHOAL_REF_STRSIZE];
    shoal_ref_format(&who, feed);
    int64_t expires = g_get_real_time() / G_USEC_PER_SEC + srv->cfg.ice_ttl_s;
    shoal_ice_servers answer = srv->ice;
    for (size_t i = 0; i < answer.n; i++)
        if (answer.s[i].scheme != SHOAL_ICE_STUN)
            shoal_ice_rest_credentials(&answer.s[i], srv->turn_secret, srv->cfg.turn_secret_len,
                                       feed, expires);
    shoal_buf body = SHOAL_BUF_INIT;
    if (shoal_ice_servers_write(&answer, srv->cfg.ice_ttl_s, &body) != SHOAL_OK) {
        shoal_buf_free(&body);
        respond(c, 503, "Service Unavailable", NULL, NULL, "", 0);
        return;
    }
    srv->stats.ice_answered++;
    respond(c, 200, "OK", "application/json; charset=utf-8", "Cache-Control: no-store\r\n",
            body.data, body.len);
    shoal_buf_free(&body);
}

static void start_stream(hub_conn *c, const shoal_hub_route *r)
{
    static const char head[] = "HTTP/1.1 200 OK\r\n"
                               "Content-Type: text/event-stream; charset=utf-8\r\n"
                               "Cache-Control: no-cache\r\n"
                               "X-Accel-Buffering: no\r\n"
                               "Connection: keep-alive\r\n";
    char *all = g_strconcat(head, cors, "\r\n", NULL);
    queue_text(c, all, strlen(all));
    g_free(all);
    c->srv->stats.responses[2]++;
    c->state = CONN_STREAM;
    shoal__hub_subscribe(c, r);
}

static void broadcast(hub_conn *c)
{
    uint64_t n = shoal__hub_broadcast(c->srv, &c->route, c->body->data, c->body->len);
    char extra[64];
    snprintf(extra, sizeof extra, "X-Shoal-Recipients: %" G_GUINT64_FORMAT "\r\n", n);
    respond(c, 200, "OK", NULL, extra, "", 0);
}

/* A whole request (head, and body if any) is here: answer it. */
static void handle(hub_conn *c)
{
    c->asked = true;
    switch (c->route.kind) {
    case SHOAL_HUB_STATUS:
        answer_status(c);
        break;
    case SHOAL_HUB_METRICS:
        answer_metrics(c);
        break;
    case SHOAL_HUB_PREFLIGHT:
        respond(c, 200, "OK", NULL, NULL, "", 0);
        break;
    case SHOAL_HUB_ICE:
        answer_ice(c);
        break;
    case SHOAL_HUB_SUBSCRIBE:
        start_stream(c, &c->route);
        return;
    case SHOAL_HUB_BROADCAST:
        broadcast(c);
        break;
    case SHOAL_HUB_NOT_FOUND:
        respond(c, 404, "Not Found", NULL, NULL, "", 0);
        break;
    }
    if (!c->req.keep_alive) {
        c->close_after_write = true;
        c->state = CONN_DONE;
    } else {
        c->state = CONN_HEAD;
    }
}

/* A head has been parsed: route it, and prepare for its body. */
static void begin(hub_conn *c, const shoal_http_request *req)
{
    /* The request borrows from the read buffer, which moves on: keep its target. */
    g_free(c->target);
    c->target = g_strndup(req->target, req->target_len);
    c->req = *req;
    c->req.target = c->target;
    c->head_only = req->method == SHOAL_HTTP_HEAD;
    int rc = shoal_hub_route_request(&c->req, &c->route);
    if (rc != SHOAL_OK) {
        shoal__hub_fail(c, 400, "Bad Request", shoal_strerror(rc));
        return;
    }
    if (c->route.kind == SHOAL_HUB_ICE && c->srv->ice.n > 0) {
        /* the headers live as long as the read buffer holds them: checked now */
        char host[256];
        if (req->host && req->host_len < sizeof host) {
            memcpy(host, req->host, req->host_len);
            host[req->host_len] = '\0';
        }
        c->ice_auth = req->authorization && req->host && req->host_len < sizeof host
                          ? shoal_ice_auth_check(req->authorization, req->authorization_len, host,
                                                 g_get_real_time() / G_USEC_PER_SEC, c->ice_feed)
                          : SHOAL_E_ICE_AUTH;
    }
    g_byte_array_set_size(c->body, 0);
    c->chunked = (shoal_http_chunked)SHOAL_HTTP_CHUNKED_INIT;
    bool has_body = req->chunked || (req->has_length && req->content_length > 0);
    if (req->has_length && req->content_length > c->srv->cfg.max_body) {
        shoal__hub_fail(c, 413, "Payload Too Large", "the body is larger than this hub takes");
        return;
    }
    if (!has_body) {
        handle(c);
        return;
    }
    if (req->expect_continue)
        queue_text(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    c->remaining = req->has_length ? req->content_length : 0;
    c->state = CONN_BODY;
}

/* Consumes body bytes from the read buffer; true when the body is complete. */
static bool take_body(hub_conn *c)
{
    GByteArray *in = c->rbuf;
    if (!c->req.chunked) {
        size_t n = in->len < c->remaining ? in->len : (size_t)c->remaining;
        g_byte_array_append(c->body, in->data, (guint)n);
        g_byte_array_remove_range(in, 0, (guint)n);
        c->remaining -= n;
        return c->remaining == 0;
    }
    size_t len = in->len;
    long rest = shoal_http_unchunk(&c->chunked, (char *)in->data, &len);
    if (rest < 0 && rest != SHOAL_E_AGAIN) {
        shoal__hub_fail(c, 400, "Bad Request", shoal_strerror((int)rest));
        return false;
    }
    g_byte_array_append(c->body, in->data, (guint)len);
    if (c->body->len > c->srv->cfg.max_body) {
        shoal__hub_fail(c, 413, "Payload Too Large", "the body is larger than this hub takes");
        return false;
    }
    if (rest < 0) {
        g_byte_array_set_size(in, 0);
        return false;
    }
    /* Whatever followed the body is the next request: move it to the front. */
    memmove(in->data, in->data + in->len - (size_t)rest, (size_t)rest);
    g_byte_array_set_size(in, (guint)rest);
    return true;
}

/* Works through the read buffer: heads, bodies, pipelined requests. */
/* A request from c's address may go ahead (its bucket had a token). */
static bool take_token(hub_conn *c)
{
    uint32_t rate = c->srv->cfg.max_rate;
    if (rate == 0)
        return true;
    hub_addr *a = c->from;
    gint64 now = g_get_monotonic_time();
    double burst = 2.0 * rate;
    a->tokens += (double)(now - a->refilled) * 1e-6 * rate;
    if (a->tokens > burst)
        a->tokens = burst;
    a->refilled = now;
    if (a->tokens < 1)
        return false;
    a->tokens -= 1;
    return true;
}

static gboolean on_throttle(gpointer data);

/* Stops reading c until its address's bucket has refilled. */
static void throttle(hub_conn *c)
{
    shoal_hub_server *srv = c->srv;
    c->throttled = true;
    c->watch_in = false;
    shoal__hub_watch(c);
    g_ptr_array_add(srv->throttled, c);
    srv->stats.throttled++;
    if (!srv->throttle_id)
        srv->throttle_id = g_timeout_add(THROTTLE_MS, on_throttle, srv);
}

static gboolean on_throttle(gpointer data)
{
    shoal_hub_server *srv = data;
    GPtrArray *waiting = srv->throttled;
    srv->throttled = g_ptr_array_new();
    for (guint i = 0; i < waiting->len; i++) {
        hub_conn *c = waiting->pdata[i];
        c->throttled = false;
        c->watch_in = true;
        shoal__hub_watch(c);
        shoal__hub_process(c); /* what it sent meanwhile; it may wait again */
    }
    g_ptr_array_unref(waiting);
    if (srv->throttled->len > 0)
        return G_SOURCE_CONTINUE;
    srv->throttle_id = 0;
    return G_SOURCE_REMOVE;
}

void shoal__hub_process(hub_conn *c)
{
    while (!c->closing && c->state != CONN_DONE && c->state != CONN_STREAM) {
        if (c->state == CONN_BODY) {
            if (!take_body(c))
                return;
            handle(c);
            continue;
        }
        shoal_http_request req;
        long n = shoal_http_parse_request((const char *)c->rbuf->data, c->rbuf->len, &req);
        if (n == SHOAL_E_AGAIN)
            return;
        if (n < 0) {
            switch ((int)n) {
            case SHOAL_E_HTTP_HEAD_TOO_LARGE:
                shoal__hub_fail(c, 431, "Request Header Fields Too Large", shoal_strerror((int)n));
                break;
            case SHOAL_E_HTTP_VERSION:
                shoal__hub_fail(c, 505, "HTTP Version Not Supported", shoal_strerror((int)n));
                break;
            case SHOAL_E_HTTP_ENCODING:
                shoal__hub_fail(c, 501, "Not Implemented", shoal_strerror((int)n));
                break;
            default:
                shoal__hub_fail(c, 400, "Bad Request", shoal_strerror((int)n));
                break;
            }
            return;
        }
        if (!take_token(c)) {
            throttle(c);
            return;
        }
        c->request_started = g_get_monotonic_time();
        begin(c, &req);
        g_byte_array_remove_range(c->rbuf, 0, (guint)n);
    }
}

/* The signal-hub client on libsoup 3 (see shoal/hub_client.h). */
#include "shoal/hub_client.h"

#include "shoal/hub.h"

#include <glib.h>
#include <libsoup/soup.h>
#include <string.h>

#define READ_CHUNK   16384
#define DEDUPE_SLOTS 512

typedef struct asking asking;
static void orphan_asking(shoal_hub_client *cl);

typedef struct hub_stream {
    shoal_hub_client *cl;
    size_t index;
    char *base;  /* the hub's base URL, without a trailing slash */
    bool wanted; /* connect asked, disconnect not since */
    bool open;   /* the stream answered 200 */
    GCancellable *cancel;
    GInputStream *body;
    shoal_sse_parser *parser;
    guint silence_id, retry_id;
    uint32_t failures;
    guint8 buf[READ_CHUNK];
} hub_stream;

/* A broadcast's answer may come after the client is gone (freeing it cancels them all): it
 * then tells nobody. Each broadcast out holds a reference. */
typedef struct life {
    int refs;
    bool alive;
} life;

static life *life_ref(life *l)
{
    l->refs++;
    return l;
}

static void life_unref(life *l)
{
    if (--l->refs == 0)
        g_free(l);
}

struct shoal_hub_client {
    shoal_hub_client_config cfg;
    shoal_hub_client_callbacks cb;
    SoupSession *session;
    GPtrArray *hubs;   /* hub_stream* */
    GPtrArray *asking; /* asking*: the ICE questions out (get_ice) */
    char *path;        /* "/v1/<app>/<ch>,<ch>" */
    /* Recently seen messages: a hash and when. */
    struct {
        guint64 hash;
        gint64 at;
    } seen[DEDUPE_SLOTS];
    GRand *rand;
    life *life;          /* shared with the broadcasts out */
    GPtrArray *sendings; /* sending*: the broadcasts out */
};

/* A broadcast out. */
typedef struct sending {
    life *life;
    shoal_hub_client *cl; /* while life->alive */
    GCancellable *cancel;
    guint timer; /* post_timeout_ms */
    size_t hub;
    shoal_hub_sent_fn *done;
    void *ud;
} sending;

/* Every broadcast out is cancelled: its `done` hears status 0 (or nothing, once the client is
 * gone), maybe before this returns, and may broadcast again (a new one is not cancelled). */
static void cancel_sendings(shoal_hub_client *cl)
{
    for (guint i = cl->sendings->len; i-- > 0;) /* backwards: one may leave the list at once */
        g_cancellable_cancel(((sending *)cl->sendings->pdata[i])->cancel);
}

void shoal_hub_client_config_default(shoal_hub_client_config *cfg)
{
    *cfg = (shoal_hub_client_config){
        .app = "shoal",
        .heartbeat_timeout_ms = 75000,
        .auto_reconnect = true,
        .reconnect_base_ms = 3000,
        .reconnect_cap_ms = 60000,
        .dedupe_window_ms = 60000,
        .post_timeout_ms = 15000,
        .max_event = 64 * 1024,
    };
}

int shoal_hub_client_new(shoal_hub_client **out, const shoal_hub_client_config *cfg,
                         const shoal_hub_client_callbacks *cb)
{
    if (!cfg->app || !*cfg->app || cfg->heartbeat_timeout_ms == 0 || cfg->reconnect_base_ms == 0 ||
        cfg->reconnect_cap_ms < cfg->reconnect_base_ms || cfg->post_timeout_ms == 0)
        return SHOAL_E_INVAL;
    GTlsDatabase *cas = NULL;
    if (cfg->ca_file && !(cas = g_tls_file_database_new(cfg->ca_file, NULL)))
        return SHOAL_E_INVAL;
    shoal_hub_client *cl = g_new0(shoal_hub_client, 1);
    cl->cfg = *cfg;
    cl->cfg.app = g_strdup(cfg->app);
    cl->cfg.ca_file = NULL;
    cl->cb = *cb;
    /* Streams are long: allow each hub a stream and broadcasts beside it. */
    /* Hubs are reached directly: a GSimpleProxyResolver with no proxy keeps GIO from loading
     * libproxy, whose C++ exceptions also upset AddressSanitizer. */
    GProxyResolver *direct = g_simple_proxy_resolver_new(NULL, NULL);
    cl->session = soup_session_new_with_options("max-conns-per-host", 8, "timeout", 0,
                                                "proxy-resolver", direct, NULL);
    g_object_unref(direct);
    if (cas) {
        soup_session_set_tls_database(cl->session, cas);
        g_object_unref(cas);
    }
    cl->hubs = g_ptr_array_new();
    cl->asking = g_ptr_array_new();
    cl->rand = g_rand_new();
    cl->life = g_new(life, 1);
    *cl->life = (life){.refs = 1, .alive = true};
    cl->sendings = g_ptr_array_new();
    *out = cl;
    return SHOAL_OK;
}

static void stop_stream(hub_stream *h)
{
    if (h->cancel) {
        g_cancellable_cancel(h->cancel);
        g_clear_object(&h->cancel);
    }
    g_clear_object(&h->body);
    g_clear_handle_id(&h->silence_id, g_source_remove);
    g_clear_pointer(&h->parser, shoal_sse_parser_free);
    h->open = false;
}

void shoal_hub_client_free(shoal_hub_client *cl)
{
    if (!cl)
        return;
    for (guint i = 0; i < cl->hubs->len; i++) {
        hub_stream *h = cl->hubs->pdata[i];
        stop_stream(h);
        g_clear_handle_id(&h->retry_id, g_source_remove);
        g_free(h->base);
        g_free(h);
    }
    g_ptr_array_unref(cl->hubs);
    orphan_asking(cl);
    g_ptr_array_unref(cl->asking);
    cl->life->alive = false;
    life_unref(cl->life);
    cancel_sendings(cl);
    g_ptr_array_unref(cl->sendings);
    soup_session_abort(cl->session);
    g_object_unref(cl->session);
    g_rand_free(cl->rand);
    g_free(cl->path);
    g_free((char *)cl->cfg.app);
    g_free(cl);
}

size_t shoal_hub_client_add_hub(shoal_hub_client *cl, const shoal_hub_addr *hub)
{
    hub_stream *h = g_new0(hub_stream, 1);
    h->cl = cl;
    h->index = cl->hubs->len;
    shoal_buf url = SHOAL_BUF_INIT;
    shoal_hub_addr_format(hub, &url);
    h->base = g_strndup(url.data ? url.data : "", url.len);
    shoal_buf_free(&url);
    g_ptr_array_add(cl->hubs, h);
    return h->index;
}

int shoal_hub_client_subscribe(shoal_hub_client *cl, const char *const *channels, size_t n)
{
    if (n == 0 || n > SHOAL_HUB_MAX_CHANNELS)
        return SHOAL_E_HUB_TOO_MANY_CHANNELS;
    GString *path = g_string_new(NULL);
    g_string_append_printf(path, "/v1/%s/", cl->cfg.app);
    for (size_t i = 0; i < n; i++) {
        if (i)
            g_string_append_c(path, ',');
        g_string_append(path, channels[i]);
    }
    g_free(cl->path);
    cl->path = g_string_free(path, FALSE);
    for (guint i = 0; i < cl->hubs->len; i++) {
        hub_stream *h = cl->hubs->pdata[i];
        if (h->wanted)
            shoal_hub_client_connect(cl, h->index);
    }
    return SHOAL_OK;
}

/* ---- Streams ----------------------------------------------------------------------------------
 */

static void open_stream(hub_stream *h);

static void report(hub_stream *h, shoal_hub_stream_state st)
{
    if (h->cl->cb.state)
        h->cl->cb.state(h->index, st, h->cl->cb.ud);
}

static gboolean on_retry(gpointer data)
{
    hub_stream *h = data;
    h->retry_id = 0;
    if (h->wanted)
        open_stream(h);
    return G_SOURCE_REMOVE;
}

/* The stream failed to open (failed) or ended (!failed): report it, and come back later if
 * asked to. */
static void lost(hub_stream *h, bool failed)
{
    bool was_open = h->open;
    stop_stream(h);
    report(h, failed && !was_open ? SHOAL_HUB_STREAM_FAILED : SHOAL_HUB_STREAM_DISCONNECTED);
    if (!h->cl->cfg.auto_reconnect || !h->wanted || h->retry_id)
        return;
    /* min(cap, base * 2^(f-1)) * [1/2, 1): the first retry after about signalhub's 3 s. */
    uint64_t delay = h->cl->cfg.reconnect_base_ms;
    for (uint32_t i = 1; i < h->failures && delay < h->cl->cfg.reconnect_cap_ms; i++)
        delay *= 2;
    if (delay > h->cl->cfg.reconnect_cap_ms)
        delay = h->cl->cfg.reconnect_cap_ms;
    delay = (uint64_t)((double)delay * (0.5 + 0.5 * g_rand_double(h->cl->rand)));
    h->failures++;
    h->retry_id = g_timeout_add((guint)delay, on_retry, h);
}

static gboolean on_silence(gpointer data)
{
    hub_stream *h = data;
    h->silence_id = 0;
    lost(h, false);
    return G_SOURCE_REMOVE;
}

static void heard(hub_stream *h)
{
    g_clear_handle_id(&h->silence_id, g_source_remove);
    h->silence_id = g_timeout_add(h->cl->cfg.heartbeat_timeout_ms, on_silence, h);
}

static bool seen_before(shoal_hub_client *cl, const char *data, size_t len)
{
    guint64 hash = 1469598103934665603ull; /* FNV-1a, enough to tell repeats apart */
    for (size_t i = 0; i < len; i++)
        hash = (hash ^ (guint8)data[i]) * 1099511628211ull;
    gint64 now = g_get_monotonic_time(), window = (gint64)cl->cfg.dedupe_window_ms * 1000;
    size_t slot = hash % DEDUPE_SLOTS;
    bool repeat =
        cl->seen[slot].hash == hash && cl->seen[slot].at && now - cl->seen[slot].at < window;
    cl->seen[slot].hash = hash;
    cl->seen[slot].at = now;
    return repeat;
}

static void on_event(const char *data, size_t len, const char *type, void *ud)
{
    (void)type;
    hub_stream *h = ud;
    shoal_hub_client *cl = h->cl;
    if (!seen_before(cl, data, len) && cl->cb.message)
        cl->cb.message(h->index, data, len, cl->cb.ud);
}

static void on_read(GObject *source, GAsyncResult *res, gpointer data)
{
    hub_stream *h = data;
    GError *err = NULL;
    gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), res, &err);
    if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        g_error_free(err);
        return; /* stopped on purpose: h may be gone already */
    }
    g_clear_error(&err);
    if (n <= 0 || shoal_sse_feed(h->parser, (const char *)h->buf, (size_t)n) != SHOAL_OK) {
        lost(h, false);
        return;
    }
    heard(h);
    g_input_stream_read_async(h->body, h->buf, sizeof h->buf, G_PRIORITY_DEFAULT, h->cancel,
                              on_read, h);
}

static void on_sent(GObject *source, GAsyncResult *res, gpointer data)
{
    hub_stream *h = data;
    GError *err = NULL;
    GInputStream *body = soup_session_send_finish(SOUP_SESSION(source), res, &err);
    if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        g_error_free(err);
        g_clear_object(&body);
        return;
    }
    g_clear_error(&err);
    SoupMessage *msg = soup_session_get_async_result_message(SOUP_SESSION(source), res);
    if (!body || soup_message_get_status(msg) != SOUP_STATUS_OK) {
        g_clear_object(&body);
        lost(h, true);
        return;
    }
    h->body = body;
    h->open = true;
    h->failures = 0;
    shoal_sse_callbacks cb = {on_event, NULL, h};
    if (shoal_sse_parser_new(&h->parser, &cb, h->cl->cfg.max_event) != SHOAL_OK) {
        lost(h, false);
        return;
    }
    report(h, SHOAL_HUB_STREAM_CONNECTED);
    heard(h);
    g_input_stream_read_async(h->body, h->buf, sizeof h->buf, G_PRIORITY_DEFAULT, h->cancel,
                              on_read, h);
}

static void open_stream(hub_stream *h)
{
    stop_stream(h);
    if (!h->cl->path) {
        lost(h, true);
        return;
    }
    char *url = g_strconcat(h->base, h->cl->path, NULL);
    SoupMessage *msg = soup_message_new("GET", url);
    g_free(url);
    if (!msg) {
        lost(h, true);
        return;
    }
    soup_message_headers_replace(soup_message_get_request_headers(msg), "Accept",
                                 "text/event-stream");
    h->cancel = g_cancellable_new();
    soup_session_send_async(h->cl->session, msg, G_PRIORITY_DEFAULT, h->cancel, on_sent, h);
    g_object_unref(msg);
}

void shoal_hub_client_connect(shoal_hub_client *cl, size_t hub)
{
    if (hub >= cl->hubs->len)
        return;
    hub_stream *h = cl->hubs->pdata[hub];
    h->wanted = true;
    g_clear_handle_id(&h->retry_id, g_source_remove);
    open_stream(h);
}

void shoal_hub_client_network_changed(shoal_hub_client *cl)
{
    for (guint i = 0; i < cl->hubs->len; i++) {
        hub_stream *h = cl->hubs->pdata[i];
        stop_stream(h);
        g_clear_handle_id(&h->retry_id, g_source_remove);
    }
    cancel_sendings(cl); /* their answers may be read already: abort would not reach them */
    soup_session_abort(cl->session); /* every request cancelled, every connection closed */
}

void shoal_hub_client_disconnect(shoal_hub_client *cl, size_t hub)
{
    if (hub >= cl->hubs->len)
        return;
    hub_stream *h = cl->hubs->pdata[hub];
    h->wanted = false;
    g_clear_handle_id(&h->retry_id, g_source_remove);
    stop_stream(h);
}

/* ---- Broadcasts -------------------------------------------------------------------------------
 */

/* No answer in post_timeout_ms: the request is cancelled, and on_posted tells status 0 (maybe
 * before this returns: s is not touched after). */
static gboolean post_too_late(gpointer data)
{
    sending *s = data;
    s->timer = 0;
    g_cancellable_cancel(s->cancel);
    return G_SOURCE_REMOVE;
}

static void on_posted(GObject *source, GAsyncResult *res, gpointer data)
{
    sending *s = data;
    GError *err = NULL;
    GBytes *answer = soup_session_send_and_read_finish(SOUP_SESSION(source), res, &err);
    SoupMessage *msg = soup_session_get_async_result_message(SOUP_SESSION(source), res);
    unsigned status = answer && msg ? soup_message_get_status(msg) : 0;
    long recipients = -1;
    const char *header = msg ? soup_message_headers_get_one(soup_message_get_response_headers(msg),
                                                            "X-Shoal-Recipients")
                             : NULL;
    if (header)
        recipients = strtol(header, NULL, 10);
    g_clear_error(&err);
    if (answer)
        g_bytes_unref(answer);
    g_clear_handle_id(&s->timer, g_source_remove);
    if (s->life->alive) {
        g_ptr_array_remove_fast(s->cl->sendings, s);
        if (s->done) /* cancelled by a network change, or too late: status 0 */
            s->done(s->hub, status, recipients, s->ud);
    }
    life_unref(s->life);
    g_object_unref(s->cancel);
    g_free(s);
}

void shoal_hub_client_broadcast(shoal_hub_client *cl, size_t hub, const char *channel,
                                const void *data, size_t len, shoal_hub_sent_fn *done, void *ud)
{
    SoupMessage *msg = NULL;
    if (hub < cl->hubs->len) {
        hub_stream *h = cl->hubs->pdata[hub];
        char *url = g_strdup_printf("%s/v1/%s/%s", h->base, cl->cfg.app, channel);
        msg = soup_message_new("POST", url);
        g_free(url);
    }
    if (!msg) {
        if (done)
            done(hub, 0, -1, ud);
        return;
    }
    GBytes *body = g_bytes_new(data, len);
    soup_message_set_request_body_from_bytes(msg, "application/json", body);
    g_bytes_unref(body);
    sending *s = g_new(sending, 1);
    *s = (sending){life_ref(cl->life), cl, g_cancellable_new(), 0, hub, done, ud};
    g_ptr_array_add(cl->sendings, s);
    s->timer = g_timeout_add(cl->cfg.post_timeout_ms, post_too_late, s);
    soup_session_send_and_read_async(cl->session, msg, G_PRIORITY_DEFAULT, s->cancel, on_posted, s);
    g_object_unref(msg);
}

/* ---- ICE servers ------------------------------------------------------------------------------
 */

#define ICE_TIMEOUT_S 5 /* the hub just answered its stream: a join waits for this */
#define ICE_MAX_BODY  (64 * 1024)

struct asking {
    shoal_hub_client *cl;
    size_t hub;
    shoal_hub_ice_fn *done; /* NULL once the client is gone: nobody to tell */
    void *ud;
    GCancellable *cancel;
    guint timer;
    unsigned status;
    SoupMessage *msg;
    GInputStream *body;
    GByteArray *got; /* the answer so far, at most ICE_MAX_BODY + 1 bytes */
};

/* Tells the outcome (once), and lets the question go. */
static void ice_finish(asking *a, unsigned status, bool with_body)
{
    if (a->done) {
        char *text = with_body ? g_strndup((const char *)a->got->data, a->got->len) : NULL;
        a->done(a->hub, status, text, with_body ? a->got->len : 0, a->ud);
        g_free(text);
        g_ptr_array_remove_fast(a->cl->asking, a);
    }
    g_clear_handle_id(&a->timer, g_source_remove);
    g_clear_object(&a->body);
    g_clear_object(&a->msg);
    g_object_unref(a->cancel);
    g_byte_array_unref(a->got);
    g_free(a);
}

static gboolean ice_too_late(gpointer data)
{
    asking *a = data;
    a->timer = 0;
    g_cancellable_cancel(a->cancel); /* the read in flight ends, and tells */
    return G_SOURCE_REMOVE;
}

static gboolean ice_unsent(gpointer data)
{
    asking *a = data;
    a->timer = 0;
    ice_finish(a, 0, false);
    return G_SOURCE_REMOVE;
}

static void on_ice_read(GObject *source, GAsyncResult *res, gpointer data)
{
    asking *a = data;
    GBytes *chunk = g_input_stream_read_bytes_finish(G_INPUT_STREAM(source), res, NULL);
    gsize n = chunk ? g_bytes_get_size(chunk) : 0;
    if (chunk)
        g_byte_array_append(a->got, g_bytes_get_data(chunk, NULL), (guint)n);
    if (chunk)
        g_bytes_unref(chunk);
    if (!chunk || !a->done) { /* failed, cut by our timeout, or nobody to tell: no answer */
        ice_finish(a, 0, false);
        return;
    }
    if (n > 0 && a->got->len <= ICE_MAX_BODY) {
        g_input_stream_read_bytes_async(a->body, ICE_MAX_BODY + 1 - a->got->len, G_PRIORITY_DEFAULT,
                                        a->cancel, on_ice_read, a);
        return;
    }
    /* the end, or more than an answer holds: then no answer */
    ice_finish(a, a->status, n == 0);
}

/* The head is here. A plain signalhub answers GET /v1/ice with an event stream (it takes "ice"
 * for an app), which would never end: only a JSON answer is read, and at most ICE_MAX_BODY of
 * it (a hostile hub could stream for as long as we wait). */
static void on_ice_sent(GObject *source, GAsyncResult *res, gpointer data)
{
    asking *a = data;
    a->body = soup_session_send_finish(SOUP_SESSION(source), res, NULL);
    if (!a->body || !a->done) {
        ice_finish(a, 0, false);
        return;
    }
    a->status = soup_message_get_status(a->msg);
    const char *type =
        soup_message_headers_get_content_type(soup_message_get_response_headers(a->msg), NULL);
    if (a->status != 200 || g_strcmp0(type, "application/json") != 0) {
        ice_finish(a, a->status, false);
        return;
    }
    g_input_stream_read_bytes_async(a->body, ICE_MAX_BODY + 1, G_PRIORITY_DEFAULT, a->cancel,
                                    on_ice_read, a);
}

char *shoal_hub_client_host(const shoal_hub_client *cl, size_t hub)
{
    if (hub >= cl->hubs->len)
        return NULL;
    const hub_stream *h = cl->hubs->pdata[hub];
    GUri *uri = g_uri_parse(h->base, G_URI_FLAGS_NONE, NULL);
    if (!uri)
        return NULL;
    /* as libsoup writes it: the port unless it is the scheme's own, an IPv6 host bracketed */
    const char *host = g_uri_get_host(uri);
    int port = g_uri_get_port(uri);
    bool tls = g_strcmp0(g_uri_get_scheme(uri), "https") == 0;
    bool v6 = strchr(host, ':') != NULL;
    char *text = port < 0 || port == (tls ? 443 : 80)
                     ? g_strdup_printf("%s%s%s", v6 ? "[" : "", host, v6 ? "]" : "")
                     : g_strdup_printf("%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
    g_uri_unref(uri);
    return text;
}

void shoal_hub_client_get_ice(shoal_hub_client *cl, size_t hub, const shoal_keypair *keys,
                              shoal_hub_ice_fn *done, void *ud)
{
    asking *a = g_new0(asking, 1);
    *a = (asking){.cl = cl,
                  .hub = hub,
                  .done = done,
                  .ud = ud,
                  .cancel = g_cancellable_new(),
                  .got = g_byte_array_new()};
    g_ptr_array_add(cl->asking, a);
    a->timer = g_timeout_add_seconds(ICE_TIMEOUT_S, ice_too_late, a);
    char *host = shoal_hub_client_host(cl, hub);
    if (host) {
        char *url = g_strdup_printf("%s/v1/ice", ((hub_stream *)cl->hubs->pdata[hub])->base);
        a->msg = soup_message_new("GET", url);
        g_free(url);
    }
    if (!a->msg) { /* told from the loop, as every answer is, never from inside this call */
        g_free(host);
        g_clear_handle_id(&a->timer, g_source_remove);
        a->timer = g_idle_add(ice_unsent, a);
        return;
    }
    char auth[SHOAL_ICE_AUTH_SIZE];
    shoal_ice_auth_sign(keys, host, g_get_real_time() / G_USEC_PER_SEC, auth);
    g_free(host);
    SoupMessageHeaders *headers = soup_message_get_request_headers(a->msg);
    soup_message_headers_replace(headers, "Authorization", auth);
    soup_message_headers_replace(headers, "Accept", "application/json");
    soup_session_send_async(cl->session, a->msg, G_PRIORITY_DEFAULT, a->cancel, on_ice_sent, a);
}

/* The client is going: the questions out end on their own, telling nobody. */
static void orphan_asking(shoal_hub_client *cl)
{
    for (guint i = 0; i < cl->asking->len; i++) {
        asking *a = cl->asking->pdata[i];
        a->done = NULL;
        g_cancellable_cancel(a->cancel);
    }
}

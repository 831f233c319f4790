/* Channels and fan-out: who listens where, one encoded event shared by all its recipients, and
 * the vectored writes that carry queued events out once per main-loop iteration. */
#include "hub_server_internal.h"

#include <string.h>

#define MAX_IOV 64

struct hub_channel {
    char *key;       /* "app/channel" */
    GPtrArray *subs; /* hub_conn*, in no particular order */
};

static void channel_free(gpointer data)
{
    hub_channel *ch = data;
    g_ptr_array_unref(ch->subs);
    g_free(ch->key);
    g_free(ch);
}

static gboolean on_heartbeat(gpointer data)
{
    shoal_hub_server *srv = data;
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, srv->conns);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        hub_conn *c = key;
        if (c->state == CONN_STREAM && !c->closing) {
            shoal__hub_queue(c, srv->heartbeat);
            srv->stats.heartbeats++;
        }
    }
    return G_SOURCE_CONTINUE;
}

void shoal__hub_registry_init(shoal_hub_server *srv)
{
    srv->channels = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, channel_free);
    srv->heartbeat = g_bytes_new_static(SHOAL_SSE_HEARTBEAT, strlen(SHOAL_SSE_HEARTBEAT));
    srv->heartbeat_id = g_timeout_add(srv->cfg.heartbeat_ms, on_heartbeat, srv);
}

void shoal__hub_registry_free(shoal_hub_server *srv)
{
    if (srv->heartbeat_id)
        g_source_remove(srv->heartbeat_id);
    if (srv->flush_id)
        g_source_remove(srv->flush_id);
    g_hash_table_unref(srv->channels);
    g_bytes_unref(srv->heartbeat);
}

static char *channel_key(const shoal_hub_name *app, const shoal_hub_name *ch)
{
    return g_strdup_printf("%.*s/%.*s", (int)app->len, app->s, (int)ch->len, ch->s);
}

void shoal__hub_subscribe(hub_conn *c, const shoal_hub_route *r)
{
    shoal_hub_server *srv = c->srv;
    c->channels = g_new0(hub_channel *, r->nchannels);
    c->slots = g_new0(guint, r->nchannels);
    srv->streams++;
    for (size_t i = 0; i < r->nchannels; i++) {
        char *key = channel_key(&r->app, &r->channels[i]);
        hub_channel *ch = g_hash_table_lookup(srv->channels, key);
        if (ch) {
            g_free(key);
            /* A channel named twice in one subscription is subscribed once. */
            bool twice = false;
            for (size_t k = 0; k < c->nchannels; k++)
                twice = twice || c->channels[k] == ch;
            if (twice)
                continue;
        } else {
            ch = g_new0(hub_channel, 1);
            ch->key = key;
            ch->subs = g_ptr_array_new();
            g_hash_table_insert(srv->channels, ch->key, ch);
        }
        c->channels[c->nchannels] = ch;
        c->slots[c->nchannels] = ch->subs->len;
        c->nchannels++;
        g_ptr_array_add(ch->subs, c);
        srv->subscriptions++;
    }
}

void shoal__hub_unsubscribe(hub_conn *c)
{
    shoal_hub_server *srv = c->srv;
    if (c->state != CONN_STREAM || !c->channels)
        return;
    for (size_t i = 0; i < c->nchannels; i++) {
        hub_channel *ch = c->channels[i];
        guint slot = c->slots[i];
        /* The last subscriber moves into this one's place; its slot follows. */
        hub_conn *moved = g_ptr_array_index(ch->subs, ch->subs->len - 1);
        g_ptr_array_remove_index_fast(ch->subs, slot);
        if (moved != c)
            for (size_t k = 0; k < moved->nchannels; k++)
                if (moved->channels[k] == ch)
                    moved->slots[k] = slot;
        srv->subscriptions--;
        if (ch->subs->len == 0)
            g_hash_table_remove(srv->channels, ch->key);
    }
    srv->streams--;
    c->nchannels = 0;
    g_clear_pointer(&c->channels, g_free);
    g_clear_pointer(&c->slots, g_free);
}

uint64_t shoal__hub_broadcast(shoal_hub_server *srv, const shoal_hub_route *r, const void *body,
                              size_t len)
{
    srv->stats.messages_in++;
    shoal__hub_relay_publish(srv->relay, r, body, len);
    return shoal__hub_deliver(srv, r, body, len);
}

uint64_t shoal__hub_deliver(shoal_hub_server *srv, const shoal_hub_route *r, const void *body,
                            size_t len)
{
    char *key = channel_key(&r->app, &r->channels[0]);
    hub_channel *ch = g_hash_table_lookup(srv->channels, key);
    g_free(key);
    if (!ch)
        return 0; /* nobody listens: dropped, as signalhub does */
    shoal_buf event = SHOAL_BUF_INIT;
    shoal_sse_encode(body, len, &event);
    if (shoal_buf_status(&event) != SHOAL_OK) {
        shoal_buf_free(&event);
        return 0;
    }
    GBytes *shared = g_bytes_new_take(event.data, event.len);
    uint64_t sent = 0;
    GPtrArray *slow = NULL;
    for (guint i = 0; i < ch->subs->len; i++) {
        hub_conn *c = g_ptr_array_index(ch->subs, i);
        if (c->unsent + event.len > srv->cfg.max_unsent) {
            if (!slow)
                slow = g_ptr_array_new();
            g_ptr_array_add(slow, c);
            continue;
        }
        shoal__hub_queue(c, shared);
        sent++;
    }
    g_bytes_unref(shared);
    srv->stats.events_out += sent;
    srv->stats.bytes_out += sent * event.len;
    /* Dropped after the loop: closing one changes the array being walked. */
    for (guint i = 0; slow && i < slow->len; i++) {
        srv->stats.drops[DROP_SLOW]++;
        shoal__hub_close(slow->pdata[i]);
    }
    if (slow)
        g_ptr_array_unref(slow);
    return sent;
}

/* ---- Writing ----------------------------------------------------------------------------------
 */

/* Writes what is queued for c, as much as the socket takes; true if c is still open. */
static bool flush_conn(hub_conn *c)
{
    while (!g_queue_is_empty(&c->outq)) {
        GOutputVector iov[MAX_IOV];
        size_t n = 0;
        for (GList *l = c->outq.head; l && n < MAX_IOV; l = l->next, n++) {
            gsize size;
            const guint8 *data = g_bytes_get_data(l->data, &size);
            size_t skip = n == 0 ? c->out_offset : 0;
            iov[n].buffer = data + skip;
            iov[n].size = size - skip;
        }
        gsize written = 0;
        GError *err = NULL;
        GPollableReturn rc =
            g_pollable_output_stream_writev_nonblocking(c->out, iov, n, &written, NULL, &err);
        if (rc == G_POLLABLE_RETURN_WOULD_BLOCK) {
            if (!c->watch_out) {
                c->watch_out = true;
                shoal__hub_watch(c);
            }
            return true;
        }
        if (rc != G_POLLABLE_RETURN_OK) {
            g_clear_error(&err);
            shoal__hub_close(c);
            return false;
        }
        c->unsent -= written;
        c->last_activity = g_get_monotonic_time();
        while (written > 0) {
            GBytes *head = g_queue_peek_head(&c->outq);
            size_t left = g_bytes_get_size(head) - c->out_offset;
            if (written < left) {
                c->out_offset += written;
                break;
            }
            written -= left;
            c->out_offset = 0;
            g_bytes_unref(g_queue_pop_head(&c->outq));
        }
    }
    if (c->close_after_write) {
        shoal__hub_linger(c);
        return !c->closing;
    }
    return true;
}

void shoal__hub_writable(hub_conn *c)
{
    c->watch_out = false;
    shoal__hub_watch(c);
    flush_conn(c);
    shoal__hub_schedule_flush(c->srv);
}

void shoal__hub_flush_now(shoal_hub_server *srv)
{
    /* Flushing may close connections and queue nothing new; walk a snapshot. */
    GPtrArray *dirty = srv->dirty;
    srv->dirty = g_ptr_array_new();
    for (guint i = 0; i < dirty->len; i++) {
        hub_conn *c = dirty->pdata[i];
        c->dirty = false;
        if (!c->closing)
            flush_conn(c);
    }
    g_ptr_array_unref(dirty);
    for (guint i = 0; i < srv->closed->len; i++)
        shoal__hub_conn_free(srv->closed->pdata[i]);
    g_ptr_array_set_size(srv->closed, 0);
}

static gboolean on_flush(gpointer data)
{
    shoal_hub_server *srv = data;
    srv->flush_id = 0;
    shoal__hub_flush_now(srv);
    return G_SOURCE_REMOVE;
}

/* One flush per main-loop iteration, after the reads that queued the output. */
void shoal__hub_schedule_flush(shoal_hub_server *srv)
{
    if (!srv->flush_id)
        srv->flush_id = g_idle_add_full(G_PRIORITY_HIGH_IDLE, on_flush, srv, NULL);
}

char *shoal__hub_metrics(shoal_hub_server *srv)
{
    GString *m = g_string_new(NULL);
    const struct {
        const char *name, *type, *help;
        uint64_t value;
    } rows[] = {
        {"shoal_hub_subscribers", "gauge", "Subscriptions (a stream counts once per channel).",
         srv->subscriptions},
        {"shoal_hub_streams", "gauge", "Open event streams.", srv->streams},
        {"shoal_hub_channels", "gauge", "Channels with a subscriber.",
         g_hash_table_size(srv->channels)},
        {"shoal_hub_connections_total", "counter", "Connections accepted.", srv->stats.connections},
        {"shoal_hub_messages_in_total", "counter", "Broadcasts received.", srv->stats.messages_in},
        {"shoal_hub_bytes_in_total", "counter", "Bytes read from clients.", srv->stats.bytes_in},
        {"shoal_hub_events_out_total", "counter", "Events queued to subscribers.",
         srv->stats.events_out},
        {"shoal_hub_bytes_out_total", "counter", "Event bytes queued to subscribers.",
         srv->stats.bytes_out},
        {"shoal_hub_heartbeats_total", "counter", "Heartbeats queued.", srv->stats.heartbeats},
        {"shoal_hub_throttled_total", "counter",
         "Times a connection waited for its address's request rate (--max-rate).",
         srv->stats.throttled},
        {"shoal_hub_accept_errors_total", "counter",
         "Failed accepts (out of file descriptors: accepting pauses 100 ms).",
         srv->stats.accept_errors},
        {"shoal_hub_ice_answered_total", "counter",
         "ICE servers handed out (GET /v1/ice, signed requests).", srv->stats.ice_answered},
        {"shoal_hub_ice_refused_total", "counter",
         "GET /v1/ice refused: unsigned, badly signed, or out of time.", srv->stats.ice_refused},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(rows); i++)
        g_string_append_printf(m, "# HELP %s %s\n# TYPE %s %s\n%s %" G_GUINT64_FORMAT "\n",
                               rows[i].name, rows[i].help, rows[i].name, rows[i].type, rows[i].name,
                               rows[i].value);
    static const char *const reasons[] = {"slow", "per_address", "timeout"};
    g_string_append(m, "# HELP shoal_hub_drops_total Connections dropped, by reason.\n"
                       "# TYPE shoal_hub_drops_total counter\n");
    for (size_t i = 0; i < DROP_COUNT; i++)
        g_string_append_printf(m, "shoal_hub_drops_total{reason=\"%s\"} %" G_GUINT64_FORMAT "\n",
                               reasons[i], srv->stats.drops[i]);
    g_string_append(m, "# HELP shoal_hub_responses_total Answers, by status class.\n"
                       "# TYPE shoal_hub_responses_total counter\n");
    for (int i = 1; i < 6; i++)
        g_string_append_printf(m,
                               "shoal_hub_responses_total{class=\"%dxx\"} %" G_GUINT64_FORMAT "\n",
                               i, srv->stats.responses[i]);
    shoal__hub_relay_metrics(srv->relay, m);
    return g_string_free(m, FALSE);
}

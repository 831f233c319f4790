/* The daemon's control socket (see control.h): GIO's socket service on a Unix socket; each
 * client's lines are read one at a time, answered, and the answer written before the next
 * line is read, so a client that does not read its answers holds only itself up. What a client
 * sends is read a chunk at a time into a buffer that holds one line: a line longer than
 * MAX_LINE is answered "request too long" once that much of it is here, and the client let go
 * without the rest being read. */
#include "control.h"
#include "status_page.h"

#include "shoal/discover.h"
#include "shoal/identity.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_LINE   (1 << 20)
#define CHUNK      16384
#define RECENT     50
#define FEED_LIMIT 1000

struct shoal_control {
    shoal_daemon *d;
    GSocketService *service;
    char *path;
    json_t *recent;       /* the last RECENT changes, oldest first (the status page's) */
    GCancellable *cancel; /* every client's reads and writes */
    GList *watchers;      /* client */
    int clients;          /* alive; a closing control is freed by the last one */
    bool closing;
};

struct shoal_control_call {
    struct client *client; /* a reference held until the answer */
};

/* A client lives while an operation of its own is pending (each holds a reference): a read,
 * a write, or both for a watcher (its read only notices when it hangs up). */
typedef struct client {
    int refs;
    shoal_control *control;
    GSocketConnection *conn;
    GByteArray *pending; /* read and not yet answered: at most MAX_LINE + CHUNK bytes */
    char *reply;         /* the line being written */
    GQueue lines;        /* char*: lines waiting to be written */
    size_t queued;       /* their bytes */
    bool watching;       /* after "watch": every change is written to it */
    bool last;           /* its last answer is queued: it goes once that is written */
    bool gone;           /* hung up, or failed: nothing more is done for it */
    char chunk[CHUNK];
} client;

/* A watcher that falls this far behind is dropped rather than held in memory. */
#define MAX_QUEUED (1u << 20)

static json_t *error_reply(const char *fmt, const char *arg)
{
    char *text = g_strdup_printf(fmt, arg);
    json_t *r = json_pack("{s:b, s:s}", "ok", 0, "error", text);
    g_free(text);
    return r;
}

static const char *transport_name(shoal_transport t)
{
    return t == SHOAL_TRANSPORT_RTC ? "rtc" : "net";
}

static json_t *hub_json(const shoal_hub_addr *addr, const shoal_conn_hub *h)
{
    shoal_buf text = SHOAL_BUF_INIT;
    shoal_hub_addr_format(addr, &text);
    json_t *j = json_pack("{s:s?, s:s, s:I}", "address", text.data, "state",
                          h ? shoal_hub_state_name(h->state) : "unknown", "failures",
                          (json_int_t)(h ? h->failures : 0));
    shoal_buf_free(&text);
    return j;
}

/* The path a WebRTC channel takes: "relay" when either end is a TURN relay, "srflx" through a
 * NAT (either end reflexive), "host" between the hosts' own addresses. */
static json_t *path_json(const shoal_rtc_path *path)
{
    bool relay = strcmp(path->local_type, "relay") == 0 || strcmp(path->remote_type, "relay") == 0;
    bool nat =
        !relay && (strcmp(path->local_type, "host") != 0 || strcmp(path->remote_type, "host") != 0);
    return json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s, s:I, s:I, s:I}", "kind",
                     relay ? "relay"
                     : nat ? "srflx"
                           : "host",
                     "local", path->local_type, "remote", path->remote_type, "relay", path->relay,
                     "localAddress", path->local, "remoteAddress", path->remote, "rttMs",
                     (json_int_t)path->rtt_ms, "bytesIn", (json_int_t)path->bytes_in, "bytesOut",
                     (json_int_t)path->bytes_out);
}

static json_t *peer_json(shoal_daemon *d, const shoal_conn_peer *p, shoal_time now)
{
    char id[SHOAL_REF_STRSIZE];
    shoal_identity_feed_id(p->feed, id);
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:b, s:b}", "id", id, "state", shoal_peer_state_name(p->state),
                  "transport", transport_name(p->transport), "inbound", p->inbound, "downloading",
                  now < p->downloading_until);
    if (p->state == SHOAL_PEER_CONNECTING) /* the attempt counts as failed in this many ms */
        json_object_set_new(j, "deadlineIn", json_integer((json_int_t)(p->deadline - now)));
    if (p->restart_by > now) /* an ICE restart after a network change: it fails in this many ms */
        json_object_set_new(j, "restartIn", json_integer((json_int_t)(p->restart_by - now)));
    json_object_set_new(j, "failures", json_integer(p->failures)); /* in a row */
    if (p->backoff_until > now) /* not dialled for this many ms */
        json_object_set_new(j, "backoffIn", json_integer((json_int_t)(p->backoff_until - now)));
    if (p->last_error != SHOAL_OK)
        json_object_set_new(j, "lastError", json_string(shoal_strerror(p->last_error)));
    shoal_rtc_path path;
    if (p->state == SHOAL_PEER_CONNECTED && p->transport == SHOAL_TRANSPORT_RTC &&
        shoal_node_peer_path(d->node, p->feed, &path))
        json_object_set_new(j, "path", path_json(&path));
    return j;
}

static json_t *status(shoal_control *c)
{
    shoal_daemon *d = c->d;
    char id[SHOAL_REF_STRSIZE];
    shoal_identity_feed_id(d->keys.pub, id);
    shoal_feed_state head;
    if (shoal_feed_store_head(d->store, d->keys.pub, &head) != SHOAL_OK)
        head.sequence = 0;
    /* our multiserver addresses: net: (an IPv6 host unbracketed, as multiserver writes it),
     * and one rtc: per hub joined, where peers reach us */
    char key[SHOAL_KEY_B64SIZE];
    shoal_key_to_b64(d->keys.pub, key);
    json_t *net = json_null(), *addresses = json_array();
    if (d->net_port) {
        char *addr = g_strdup_printf("net:%s:%u~shs:%s", d->cfg.listen.host, d->net_port, key);
        net = json_string(addr);
        json_array_append_new(addresses, json_string(addr));
        g_free(addr);
    }
    const shoal_conn *conn = shoal_node_conn(d->node);
    for (size_t i = 0; i < d->nhubs; i++) {
        const shoal_conn_hub *h = shoal_conn_hub_find(conn, &d->hubs[i].addr);
        if (!h || h->state != SHOAL_HUB_CONNECTED)
            continue;
        shoal_buf rtc = SHOAL_BUF_INIT;
        shoal_hub_addr_format_rtc(&d->hubs[i].addr, &rtc);
        shoal_buf_appendf(&rtc, "~shs:%s", key);
        if (shoal_buf_status(&rtc) == SHOAL_OK)
            json_array_append_new(addresses, json_string(rtc.data));
        shoal_buf_free(&rtc);
    }
    json_t *hubs = json_array(), *peers = json_array();
    for (size_t i = 0; i < d->nhubs; i++) {
        json_t *h = hub_json(&d->hubs[i].addr, shoal_conn_hub_find(conn, &d->hubs[i].addr));
        json_object_set_new(h, "source", json_string(d->hubs[i].source));
        json_array_append_new(hubs, h);
    }
    json_t *blocked = json_array();
    for (guint i = 0; i < d->blocked->len; i++)
        json_array_append_new(blocked, json_string(g_ptr_array_index(d->blocked, i)));
    for (size_t i = 0; i < shoal_conn_peer_count(conn); i++)
        json_array_append_new(peers,
                              peer_json(d, shoal_conn_peer_at(conn, i), shoal_node_now(d->node)));
    json_t *feeds = daemon_feeds_json(d);
    json_t *follows = json_array();
    size_t nfollows;
    const uint8_t(*followed)[32] = shoal_node_follows(d->node, &nfollows);
    for (size_t i = 0; i < nfollows; i++) {
        char fid[SHOAL_REF_STRSIZE];
        shoal_identity_feed_id(followed[i], fid);
        json_array_append_new(follows, json_string(fid));
    }
    json_t *s = json_pack("{s:b, s:s, s:I, s:o, s:o, s:s?, s:o, s:o, s:o, s:o, s:o}", "ok", 1, "id",
                          id, "sequence", (json_int_t)head.sequence, "net", net, "addresses",
                          addresses, "page", shoal_status_page_url(d->page), "hubs", hubs,
                          "blocked", blocked, "follows", follows, "peers", peers, "feeds", feeds);
    const shoal_conn_stats *cs = shoal_conn_get_stats(conn);
    json_object_set_new(s, "connections",
                        json_pack("{s:I, s:I, s:I}", "made",
                                  (json_int_t)shoal_node_get_stats(d->node)->connections,
                                  "networkChanges", (json_int_t)cs->resets, "keptByRestart",
                                  (json_int_t)cs->restarts));
    shoal_repl *repl = shoal_node_repl(d->node);
    if (repl) {
        const shoal_repl_stats *rs = shoal_repl_get_stats(repl);
        json_object_set_new(
            s, "replication",
            json_pack("{s:I, s:I, s:I, s:I, s:I}", "ebt", (json_int_t)rs->ebt_sessions, "legacy",
                      (json_int_t)rs->legacy_sessions, "notesSent", (json_int_t)rs->ebt_notes_sent,
                      "notesReceived", (json_int_t)rs->ebt_notes_received, "messagesSent",
                      (json_int_t)rs->ebt_messages_sent));
    }
    json_t *resources = daemon_resources_json(d);
    if (s && resources)
        json_object_update(s, resources);
    json_decref(resources);
    return s;
}

static json_t *publish(shoal_control *c, const json_t *req)
{
    const json_t *content = json_object_get(req, "content");
    char *text = content ? json_dumps(content, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (!text)
        return error_reply("%s", "publish needs \"content\"");
    shoal_msg_info info;
    const char *why = NULL;
    /* our own message is on disk before we say it is published: no peer holds it yet */
    int rc = shoal_feed_store_set_durable(c->d->store, true);
    if (rc == SHOAL_OK)
        rc = shoal_node_publish(c->d->node, text, strlen(text), &info, &why);
    if (shoal_feed_store_set_durable(c->d->store, false) != SHOAL_OK)
        shoal_log(SHOAL_LOG_WARN, "run", "the feed store stays synced at every write: slower");
    free(text);
    if (rc != SHOAL_OK)
        return error_reply("%s", why ? why : shoal_strerror(rc));
    daemon_feeds_appended(c->d, c->d->keys.pub); /* a hub named or a feed followed: now */
    char key[64] = "%";
    sodium_bin2base64(key + 1, sizeof key - 1, info.id, 32, sodium_base64_VARIANT_ORIGINAL);
    strcat(key, ".sha256");
    return json_pack("{s:b, s:s, s:I}", "ok", 1, "key", key, "sequence", (json_int_t)info.sequence);
}

/* "follow": publishes {"type":"contact","contact":ID,"following":bool}. */
static json_t *follow(shoal_control *c, const json_t *req)
{
    const char *id = json_string_value(json_object_get(req, "id"));
    const json_t *following = json_object_get(req, "following");
    shoal_ref ref;
    if (!id || shoal_ref_parse(&ref, id, strlen(id), NULL) != SHOAL_OK ||
        ref.kind != SHOAL_REF_FEED || (following && !json_is_boolean(following)))
        return error_reply("%s", "follow needs \"id\", a feed id (and \"following\", a boolean)");
    if (memcmp(ref.key, c->d->keys.pub, 32) == 0)
        return error_reply("%s", "that is the daemon's own feed");
    char canonical[SHOAL_REF_STRSIZE];
    shoal_ref_format(&ref, canonical);
    json_t *publish_req =
        json_pack("{s:{s:s, s:s, s:b}}", "content", "type", SHOAL_CONTACT_MESSAGE_TYPE, "contact",
                  canonical, "following", !following || json_is_true(following));
    json_t *reply = publish(c, publish_req);
    json_decref(publish_req);
    return reply;
}

static bool add_message(const char *text, size_t len, int64_t sequence, const uint8_t id[32],
                        int64_t received, void *ud)
{
    (void)sequence, (void)id, (void)received;
    json_t *value = json_loadb(text, len, 0, NULL);
    if (value)
        json_array_append_new(ud, value);
    return true;
}

static json_t *feed(shoal_control *c, const json_t *req)
{
    const char *id = json_string_value(json_object_get(req, "id"));
    shoal_ref ref = {.kind = SHOAL_REF_FEED};
    if (!id)
        memcpy(ref.key, c->d->keys.pub, 32); /* our own */
    else if (shoal_ref_parse(&ref, id, strlen(id), NULL) != SHOAL_OK || ref.kind != SHOAL_REF_FEED)
        return error_reply("%s", "feed needs \"id\", a feed id (ours when left out)");
    json_int_t seq = json_integer_value(json_object_get(req, "seq"));
    json_int_t limit = json_integer_value(json_object_get(req, "limit"));
    json_t *messages = json_array();
    int rc = shoal_feed_store_history(c->d->store, ref.key, seq > 0 ? seq : 1,
                                      limit > 0 && limit < FEED_LIMIT ? limit : FEED_LIMIT,
                                      add_message, messages);
    if (rc != SHOAL_OK) {
        json_decref(messages);
        return error_reply("%s", shoal_strerror(rc));
    }
    return json_pack("{s:b, s:o}", "ok", 1, "messages", messages);
}

/* The request's "address" as a hub; NULL (with *reply set) when it is not one. */
static bool request_hub(const json_t *req, shoal_hub_addr *addr, json_t **reply)
{
    const char *address = json_string_value(json_object_get(req, "address"));
    int rc = address ? shoal_hub_addr_parse(addr, address, strlen(address), NULL) : SHOAL_E_INVAL;
    if (rc != SHOAL_OK)
        *reply =
            error_reply("%s", address ? shoal_strerror(rc) : "\"address\", a hub URL, is needed");
    return rc == SHOAL_OK;
}

static json_t *hubs_add(shoal_control *c, const json_t *req)
{
    shoal_hub_addr addr;
    json_t *reply = NULL;
    if (!request_hub(req, &addr, &reply))
        return reply;
    int rc = daemon_hubs_hold(c->d, &addr, "command");
    if (rc != SHOAL_OK)
        return error_reply("%s", rc == SHOAL_E_INVAL ? "that hub is blocked" : shoal_strerror(rc));
    return json_pack("{s:b}", "ok", 1);
}

/* "hubs.announce": a message of type "rtc-hub" on our feed names the hub for every peer that
 * replicates us; we join it too. */
static json_t *hubs_announce(shoal_control *c, const json_t *req)
{
    shoal_hub_addr addr;
    json_t *reply = NULL;
    if (!request_hub(req, &addr, &reply))
        return reply;
    char *url = daemon_hub_url(&addr);
    json_t *content = json_pack("{s:s, s:s}", "type", SHOAL_HUB_MESSAGE_TYPE, "address", url);
    g_free(url);
    json_t *publish_req = json_pack("{s:o}", "content", content);
    reply = publish(c, publish_req);
    json_decref(publish_req);
    return reply; /* published: the hub joined our table */
}

/* "hubs.block": never joined again, whoever names it; left now if held. Kept in the home. */
static json_t *hubs_block(shoal_control *c, const json_t *req)
{
    shoal_hub_addr addr;
    json_t *reply = NULL;
    if (!request_hub(req, &addr, &reply))
        return reply;
    if (!daemon_hubs_block(c->d, &addr))
        return error_reply("cannot write %s", c->d->blocked_path);
    return json_pack("{s:b}", "ok", 1);
}

/* "hubs.rm": left now, whoever named it; joined again only when named again (a new message in
 * a feed, hubs.add, or config.json at the next start). */
static json_t *hubs_rm(shoal_control *c, const json_t *req)
{
    shoal_hub_addr addr;
    json_t *reply = NULL;
    if (!request_hub(req, &addr, &reply))
        return reply;
    if (!daemon_hubs_leave(c->d, &addr))
        return error_reply("%s", "not one of the daemon's hubs");
    return json_pack("{s:b}", "ok", 1);
}

json_t *shoal_control_status(shoal_control *c, bool recent)
{
    json_t *s = status(c);
    if (s && recent)
        json_object_set(s, "recent", c->recent);
    return s;
}

char *shoal_control_metrics(shoal_control *c)
{
    return daemon_metrics(c->d);
}

static client *client_ref(client *cl);
static void client_unref(client *cl);
static void queue_line(client *cl, const char *text);

/* "connect": answered later, by shoal_control_call_done (NULL: nothing to write now). */
static json_t *dial(client *cl, const json_t *req)
{
    const char *address = json_string_value(json_object_get(req, "address"));
    shoal_ms *ms = NULL;
    shoal_ms_info net = {0}, shs = {0};
    bool ok = address && shoal_ms_parse(&ms, address, strlen(address), NULL) == SHOAL_OK &&
              ms->naddrs > 0 && ms->addrs[0].nprotos == 2 &&
              shoal_ms_proto_decode(&ms->addrs[0].protos[0], &net, NULL) == SHOAL_OK &&
              net.kind == SHOAL_MS_NET &&
              shoal_ms_proto_decode(&ms->addrs[0].protos[1], &shs, NULL) == SHOAL_OK &&
              shs.kind == SHOAL_MS_SHS;
    shoal_ms_free(ms);
    if (!ok)
        return error_reply("%s", "connect needs \"address\", net:HOST:PORT~shs:KEY");
    shoal_control_call *call = g_new(shoal_control_call, 1);
    call->client = client_ref(cl);
    daemon_dial(cl->control->d, net.host.name, net.port, shs.key, call);
    return NULL;
}

void shoal_control_call_done(shoal_control_call *call, const char *error)
{
    client *cl = call->client;
    if (!cl->gone && !cl->control->closing) {
        json_t *reply = error ? error_reply("%s", error) : json_pack("{s:b}", "ok", 1);
        char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
        json_decref(reply);
        queue_line(cl, text ? text : "{\"ok\":false,\"error\":\"out of memory\"}");
        free(text);
    }
    client_unref(cl);
    g_free(call);
}

static json_t *watch(client *cl)
{
    if (!cl->watching) {
        cl->watching = true;
        cl->control->watchers = g_list_prepend(cl->control->watchers, cl);
    }
    return json_pack("{s:b}", "ok", 1);
}

static json_t *answer(client *cl, const char *line, size_t len, bool *deferred)
{
    shoal_control *c = cl->control;
    json_error_t err;
    json_t *req = json_loadb(line, len, 0, &err);
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    json_t *reply = !req                                ? error_reply("not JSON: %s", err.text)
                    : !cmd                              ? error_reply("%s", "no \"cmd\"")
                    : strcmp(cmd, "status") == 0        ? status(c)
                    : strcmp(cmd, "publish") == 0       ? publish(c, req)
                    : strcmp(cmd, "feed") == 0          ? feed(c, req)
                    : strcmp(cmd, "follow") == 0        ? follow(c, req)
                    : strcmp(cmd, "hubs.add") == 0      ? hubs_add(c, req)
                    : strcmp(cmd, "hubs.announce") == 0 ? hubs_announce(c, req)
                    : strcmp(cmd, "hubs.block") == 0    ? hubs_block(c, req)
                    : strcmp(cmd, "hubs.rm") == 0       ? hubs_rm(c, req)
                    : strcmp(cmd, "watch") == 0         ? watch(cl)
                    : strcmp(cmd, "connect") == 0       ? dial(cl, req)
                                                        : error_reply("no command \"%s\"", cmd);
    *deferred = !reply && req && cmd && strcmp(cmd, "connect") == 0;
    json_decref(req);
    return reply;
}

static void control_release(shoal_control *c);

static client *client_ref(client *cl)
{
    cl->refs++;
    return cl;
}

static void client_unref(client *cl)
{
    if (--cl->refs > 0)
        return;
    shoal_control *c = cl->control;
    g_queue_clear_full(&cl->lines, g_free);
    g_byte_array_unref(cl->pending);
    g_object_unref(cl->conn);
    g_free(cl->reply);
    g_free(cl);
    c->clients--;
    if (c->closing && c->clients == 0)
        control_release(c);
}

/* Nothing more is read from or written to it; its pending operations end it. */
static void client_gone(client *cl)
{
    if (cl->gone)
        return;
    cl->gone = true;
    if (cl->watching)
        cl->control->watchers = g_list_remove(cl->control->watchers, cl);
    g_socket_shutdown(g_socket_connection_get_socket(cl->conn), TRUE, TRUE, NULL);
}

static void on_written(GObject *src, GAsyncResult *res, gpointer data);
static void on_read(GObject *src, GAsyncResult *res, gpointer data);
static void answer_line(client *cl, const char *line, size_t len);

/* The next request: one read whole already (sent before its turn) is answered, else more is
 * read (a watcher's words are not answered, only its hanging up noticed). */
static void read_next(client *cl)
{
    const guint8 *nl = cl->watching || cl->pending->len == 0
                           ? NULL
                           : memchr(cl->pending->data, '\n', cl->pending->len);
    size_t len = nl ? (size_t)(nl - cl->pending->data) : cl->pending->len;
    if (nl && len <= MAX_LINE) {
        answer_line(cl, (const char *)cl->pending->data, len);
        g_byte_array_remove_range(cl->pending, 0, (guint)len + 1);
        if (cl->watching)
            read_next(cl);
    } else if (len > MAX_LINE) {
        cl->last = true; /* the rest of the line is not read, so nothing after it can be */
        queue_line(cl, "{\"ok\":false,\"error\":\"request too long\"}");
    } else {
        g_input_stream_read_async(g_io_stream_get_input_stream(G_IO_STREAM(cl->conn)), cl->chunk,
                                  sizeof cl->chunk, G_PRIORITY_DEFAULT, cl->control->cancel,
                                  on_read, client_ref(cl));
    }
}

/* Writes the next line queued, unless a write is in flight. */
static void write_next(client *cl)
{
    if (cl->gone || cl->reply || g_queue_is_empty(&cl->lines))
        return;
    cl->reply = g_queue_pop_head(&cl->lines);
    cl->queued -= strlen(cl->reply);
    g_output_stream_write_all_async(g_io_stream_get_output_stream(G_IO_STREAM(cl->conn)), cl->reply,
                                    strlen(cl->reply), G_PRIORITY_DEFAULT, cl->control->cancel,
                                    on_written, client_ref(cl));
}

static void queue_line(client *cl, const char *text)
{
    char *line = g_strdup_printf("%s\n", text);
    cl->queued += strlen(line);
    g_queue_push_tail(&cl->lines, line);
    write_next(cl);
}

void shoal_control_changed(shoal_control *c, const shoal_conn_fx *event)
{
    if (!c)
        return;
    json_t *j = NULL;
    if (event->type == SHOAL_FX_PEER_CHANGED || event->type == SHOAL_FX_PEER_FORGOTTEN) {
        j = peer_json(c->d, event->peer_record, shoal_node_now(c->d->node));
        json_object_set_new(j, "event", json_string("peer"));
        json_object_set_new(j, "forgotten", json_boolean(event->type == SHOAL_FX_PEER_FORGOTTEN));
    } else if (event->type == SHOAL_FX_HUB_CHANGED || event->type == SHOAL_FX_HUB_REMOVED) {
        j = hub_json(&event->hub_record->addr, event->hub_record);
        json_object_set_new(j, "event", json_string("hub"));
        json_object_set_new(j, "removed", json_boolean(event->type == SHOAL_FX_HUB_REMOVED));
    }
    if (j) {
        json_object_set_new(j, "at", json_integer(g_get_real_time() / 1000));
        json_array_append(c->recent, j);
        if (json_array_size(c->recent) > RECENT)
            json_array_remove(c->recent, 0);
    }
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    for (GList *l = c->watchers; text && l;) {
        client *cl = l->data;
        l = l->next;
        if (cl->queued > MAX_QUEUED)
            client_gone(cl); /* it does not read: it goes, rather than miss changes unseen */
        else
            queue_line(cl, text);
    }
    free(text);
}

static void on_written(GObject *src, GAsyncResult *res, gpointer data)
{
    client *cl = data;
    g_clear_pointer(&cl->reply, g_free);
    if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(src), res, NULL, NULL))
        client_gone(cl);
    else if (cl->last && g_queue_is_empty(&cl->lines))
        client_gone(cl);
    else if (!cl->control->closing && !cl->gone && !g_queue_is_empty(&cl->lines))
        write_next(cl);
    else if (!cl->control->closing && !cl->gone && !cl->watching)
        read_next(cl); /* answered: the next request */
    client_unref(cl);
}

/* One request line answered: its answer queued, or written when it comes (connect), and the
 * next line read once it is written. */
static void answer_line(client *cl, const char *line, size_t len)
{
    bool deferred = false;
    json_t *reply = answer(cl, line, len, &deferred);
    char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
    json_decref(reply);
    if (!deferred)
        queue_line(cl, text ? text : "{\"ok\":false,\"error\":\"out of memory\"}");
    free(text);
}

static void on_read(GObject *src, GAsyncResult *res, gpointer data)
{
    client *cl = data;
    gssize n = g_input_stream_read_finish(G_INPUT_STREAM(src), res, NULL);
    if (n <= 0 || cl->control->closing) { /* the client hung up, or we are closing */
        client_gone(cl);
    } else {
        if (!cl->watching)
            g_byte_array_append(cl->pending, (const guint8 *)cl->chunk, (guint)n);
        read_next(cl);
    }
    client_unref(cl);
}

static gboolean on_incoming(GSocketService *service, GSocketConnection *conn, GObject *source,
                            gpointer data)
{
    (void)service, (void)source;
    shoal_control *c = data;
    client *cl = g_new0(client, 1);
    cl->control = c;
    cl->conn = g_object_ref(conn);
    cl->pending = g_byte_array_new();
    g_queue_init(&cl->lines);
    c->clients++;
    read_next(cl);
    return TRUE;
}

int shoal_control_start(shoal_daemon *d, shoal_control **out)
{
    shoal_control *c = g_new0(shoal_control, 1);
    *c = (shoal_control){.d = d,
                         .path = shoal_daemon_socket_path(d->home),
                         .recent = json_array(),
                         .cancel = g_cancellable_new(),
                         .service = g_socket_service_new()};
    g_unlink(c->path); /* a socket left by a daemon that did not stop cleanly */
    GSocketAddress *addr = g_unix_socket_address_new(c->path);
    mode_t mask = umask(0077); /* the socket is the user's alone */
    gboolean ok =
        g_socket_listener_add_address(G_SOCKET_LISTENER(c->service), addr, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, NULL);
    umask(mask);
    g_object_unref(addr);
    if (!ok) {
        shoal_control_free(c);
        return SHOAL_E_NET_LISTEN;
    }
    g_signal_connect(c->service, "incoming", G_CALLBACK(on_incoming), c);
    g_socket_service_start(c->service);
    *out = c;
    return SHOAL_OK;
}

static void control_release(shoal_control *c)
{
    json_decref(c->recent);
    g_object_unref(c->cancel);
    g_free(c);
}

void shoal_control_free(shoal_control *c)
{
    if (!c)
        return;
    c->closing = true;
    g_socket_service_stop(c->service);
    g_socket_listener_close(G_SOCKET_LISTENER(c->service));
    g_object_unref(c->service);
    g_unlink(c->path);
    g_clear_pointer(&c->path, free);
    g_list_free(c->watchers);
    c->watchers = NULL;
    g_cancellable_cancel(c->cancel); /* every client's operations end, and with them the client */
    if (c->clients == 0)
        control_release(c);
}

/* The muxrpc session: dispatch of incoming packets to handlers and listeners, the table of open
 * calls, and the output buffer. The protocol is summed up in include/shoal/muxrpc.h.
 *
 * Calls live in a dense array, found by id through an open-addressing index (linear probing,
 * backward-shift deletion). A listener may call back into the session, which may move or remove
 * any call: code that calls out looks its call up again afterwards, never keeps a pointer. */
#include "shoal/muxrpc.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_MAX_BODY  (4u << 20)
#define DEFAULT_MAX_CALLS 8192u

typedef struct call {
    int32_t id; /* > 0: we called; < 0: they called */
    shoal_rpc_kind kind;
    bool local_ended, remote_ended;
    shoal_rpc_listen_fn *fn;
    void *ud;
} call;

typedef struct method {
    char *name;
    shoal_rpc_kind kind;
    shoal_rpc_handler_fn *fn;
    void *ud;
} method;

struct shoal_rpc {
    shoal_rpc_config cfg;
    shoal_rpc_decoder dec;
    shoal_outq out;
    int32_t next_req;
    bool ended;
    int status;
    call *calls;
    size_t ncalls, calls_cap;
    uint32_t *slots; /* indexes into calls, SHOAL_SLOT_EMPTY when free */
    size_t slots_cap;
    method *methods;
    size_t nmethods;
    shoal_rpc_observe_fn *observe;
    void *observe_ud;
    shoal_rpc_drained_fn *drained;
    void *drained_ud;
    shoal_rpc_output_fn *on_output;
    void *on_output_ud;
    shoal_rpc_writable_fn *on_writable;
    void *on_writable_ud;
};

const char *shoal_rpc_kind_name(shoal_rpc_kind kind)
{
    static const char *const names[] = {"async", "source", "sink", "duplex"};
    return (unsigned)kind < 4 ? names[kind] : "unknown";
}

/* ---- the table of open calls ---------------------------------------------------------------- */

static size_t home_of_id(int32_t id, size_t cap)
{
    return (size_t)(((uint32_t)id * 0x9e3779b1u) >> 7) & (cap - 1);
}

static size_t home(uint32_t entry, const void *ctx)
{
    const shoal_rpc *rpc = ctx;
    return home_of_id(rpc->calls[entry].id, rpc->slots_cap);
}

static size_t slot_of(const shoal_rpc *rpc, int32_t id)
{
    if (rpc->slots_cap == 0)
        return SIZE_MAX;
    for (size_t s = home_of_id(id, rpc->slots_cap);; s = (s + 1) & (rpc->slots_cap - 1)) {
        uint32_t e = rpc->slots[s];
        if (e == SHOAL_SLOT_EMPTY)
            return SIZE_MAX;
        if (rpc->calls[e].id == id)
            return s;
    }
}

static call *find(shoal_rpc *rpc, int32_t id)
{
    size_t s = slot_of(rpc, id);
    return s == SIZE_MAX ? NULL : &rpc->calls[rpc->slots[s]];
}

/* Room for one more call: the array grows by doubling, the index stays at most half full. */
static int reserve(shoal_rpc *rpc)
{
    if (rpc->ncalls == rpc->calls_cap) {
        size_t cap = rpc->calls_cap ? 2 * rpc->calls_cap : 8;
        call *grown = shoal_realloc(rpc->calls, cap * sizeof *grown);
        if (!grown)
            return SHOAL_E_NOMEM;
        rpc->calls = grown;
        rpc->calls_cap = cap;
    }
    if (2 * (rpc->ncalls + 1) > rpc->slots_cap) {
        size_t cap = rpc->slots_cap ? 2 * rpc->slots_cap : 16;
        uint32_t *slots = shoal_slots_new(cap);
        if (!slots)
            return SHOAL_E_NOMEM;
        shoal_free(rpc->slots);
        rpc->slots = slots;
        rpc->slots_cap = cap;
        for (uint32_t e = 0; e < rpc->ncalls; e++)
            shoal_slots_insert(slots, cap, e, home, rpc);
    }
    return SHOAL_OK;
}

static int add_call(shoal_rpc *rpc, int32_t id, shoal_rpc_kind kind, bool local_ended,
                    shoal_rpc_listen_fn *fn, void *ud)
{
    if (rpc->ncalls >= rpc->cfg.max_calls)
        return SHOAL_E_RPC_TOO_MANY_CALLS;
    int rc = reserve(rpc);
    if (rc != SHOAL_OK)
        return rc;
    rpc->calls[rpc->ncalls] = (call){id, kind, local_ended, false, fn, ud};
    shoal_slots_insert(rpc->slots, rpc->slots_cap, (uint32_t)rpc->ncalls++, home, rpc);
    return SHOAL_OK;
}

static void remove_call(shoal_rpc *rpc, int32_t id)
{
    size_t s = slot_of(rpc, id);
    if (s == SIZE_MAX)
        return;
    uint32_t hole = rpc->slots[s];
    shoal_slots_remove(rpc->slots, rpc->slots_cap, s, home, rpc);
    uint32_t last = (uint32_t)--rpc->ncalls;
    if (hole != last) {
        /* the last call moves into the hole; its slot follows */
        size_t moved = slot_of(rpc, rpc->calls[last].id);
        rpc->calls[hole] = rpc->calls[last];
        rpc->slots[moved] = hole;
    }
}

/* ---- output ---------------------------------------------------------------------------------- */

/* Output was queued: the shell hears of it when none was waiting before (`before` bytes). */
static void queued(shoal_rpc *rpc, size_t before)
{
    if (before == 0 && shoal_outq_len(&rpc->out) > 0 && rpc->on_output)
        rpc->on_output(rpc, rpc->on_output_ud);
}

void shoal_rpc_on_output(shoal_rpc *rpc, shoal_rpc_output_fn *fn, void *ud)
{
    rpc->on_output = fn;
    rpc->on_output_ud = ud;
}

void shoal_rpc_on_writable(shoal_rpc *rpc, shoal_rpc_writable_fn *fn, void *ud)
{
    rpc->on_writable = fn;
    rpc->on_writable_ud = ud;
}

void shoal_rpc_writable(shoal_rpc *rpc)
{
    if (rpc->on_writable && !rpc->ended)
        rpc->on_writable(rpc, rpc->on_writable_ud);
}

void shoal_rpc_want_writable(shoal_rpc *rpc)
{
    if (rpc->on_output && !rpc->ended)
        rpc->on_output(rpc, rpc->on_output_ud);
}

static int send_packet(shoal_rpc *rpc, bool stream, bool end, shoal_rpc_body_type type, int32_t req,
                       const void *body, size_t len)
{
    if (rpc->ended)
        return SHOAL_E_RPC_CLOSED;
    if (len == 0 || len > UINT32_MAX)
        return SHOAL_E_INVAL;
    uint8_t header[SHOAL_RPC_HEADER_SIZE];
    shoal_rpc_packet p = {stream, end, type, req, NULL, (uint32_t)len};
    shoal_rpc_header_encode(&p, header);
    size_t before = shoal_outq_len(&rpc->out);
    shoal_buf_append(&rpc->out.buf, header, sizeof header);
    shoal_buf_append(&rpc->out.buf, body, len);
    int rc = shoal_buf_status(&rpc->out.buf);
    if (rc == SHOAL_OK)
        queued(rpc, before);
    return rc;
}

static int dump_to_buf(const char *s, size_t len, void *ud)
{
    shoal_buf_append(ud, s, len);
    return 0;
}

/* A JSON packet, written straight into the output buffer: header first, length patched in. */
static int send_json(shoal_rpc *rpc, bool stream, bool end, int32_t req, const json_t *value)
{
    if (rpc->ended)
        return SHOAL_E_RPC_CLOSED;
    size_t at = rpc->out.buf.len;
    uint8_t header[SHOAL_RPC_HEADER_SIZE] = {0};
    shoal_buf_append(&rpc->out.buf, header, sizeof header);
    int rc = json_dump_callback(value, dump_to_buf, &rpc->out.buf, JSON_COMPACT | JSON_ENCODE_ANY)
                 ? SHOAL_E_NOMEM /* jansson ran out */
                 : shoal_buf_status(&rpc->out.buf);
    if (rc != SHOAL_OK)
        return rc;
    size_t len = rpc->out.buf.len - at - sizeof header;
    if (len == 0 || len > UINT32_MAX) {
        rpc->out.buf.len = at;
        return SHOAL_E_INVAL;
    }
    shoal_rpc_packet p = {stream, end, SHOAL_RPC_JSON, req, NULL, (uint32_t)len};
    shoal_rpc_header_encode(&p, (uint8_t *)rpc->out.buf.data + at);
    queued(rpc, at - rpc->out.head);
    return SHOAL_OK;
}

static int send_error(shoal_rpc *rpc, bool stream, int32_t req, const char *name,
                      const char *message)
{
    shoal_buf stack = SHOAL_BUF_INIT;
    shoal_buf_appendf(&stack, "%s: %s", name, message);
    json_t *err =
        json_pack("{s:s, s:s, s:s?}", "message", message, "name", name, "stack", stack.data);
    shoal_buf_free(&stack);
    if (!err)
        return SHOAL_E_NOMEM;
    int rc = send_json(rpc, stream, true, req, err);
    json_decref(err);
    return rc;
}

const uint8_t *shoal_rpc_output(const shoal_rpc *rpc, size_t *len)
{
    return shoal_outq_peek(&rpc->out, len);
}

void shoal_rpc_drain(shoal_rpc *rpc, size_t n)
{
    shoal_outq_drain(&rpc->out, n);
}

/* ---- life cycle ------------------------------------------------------------------------------ */

shoal_rpc *shoal_rpc_new(const shoal_rpc_config *cfg)
{
    shoal_rpc *rpc = shoal_calloc(1, sizeof *rpc);
    if (!rpc)
        return NULL;
    rpc->cfg.max_body = cfg && cfg->max_body ? cfg->max_body : DEFAULT_MAX_BODY;
    rpc->cfg.max_calls = cfg && cfg->max_calls ? cfg->max_calls : DEFAULT_MAX_CALLS;
    shoal_rpc_decoder_init(&rpc->dec, rpc->cfg.max_body);
    rpc->out = (shoal_outq)SHOAL_OUTQ_INIT;
    rpc->next_req = 1;
    return rpc;
}

void shoal_rpc_free(shoal_rpc *rpc)
{
    if (!rpc)
        return;
    shoal_rpc_decoder_free(&rpc->dec);
    shoal_buf_free(&rpc->out.buf);
    for (size_t i = 0; i < rpc->nmethods; i++)
        shoal_free(rpc->methods[i].name);
    shoal_free(rpc->methods);
    shoal_free(rpc->calls);
    shoal_free(rpc->slots);
    shoal_free(rpc);
}

/* Ends the session: every open call hears CLOSED, once. */
static void end_session(shoal_rpc *rpc, int status)
{
    if (rpc->ended)
        return;
    rpc->ended = true;
    rpc->status = status;
    call *calls = rpc->calls;
    size_t n = rpc->ncalls;
    rpc->calls = NULL;
    rpc->ncalls = rpc->calls_cap = 0;
    shoal_free(rpc->slots);
    rpc->slots = NULL;
    rpc->slots_cap = 0;
    for (size_t i = 0; i < n; i++)
        if (calls[i].fn)
            calls[i].fn(rpc, calls[i].id, SHOAL_RPC_CLOSED, NULL, calls[i].ud);
    shoal_free(calls);
}

void shoal_rpc_goodbye(shoal_rpc *rpc)
{
    if (rpc->ended)
        return;
    static const uint8_t goodbye[SHOAL_RPC_HEADER_SIZE];
    size_t before = shoal_outq_len(&rpc->out);
    shoal_buf_append(&rpc->out.buf, goodbye, sizeof goodbye);
    end_session(rpc, SHOAL_OK);
    queued(rpc, before);
}

bool shoal_rpc_ended(const shoal_rpc *rpc)
{
    return rpc->ended;
}

int shoal_rpc_status(const shoal_rpc *rpc)
{
    return rpc->status;
}

size_t shoal_rpc_open_calls(const shoal_rpc *rpc)
{
    return rpc->ncalls;
}

/* ---- the manifest and calls made to us --------------------------------------------------- */

int shoal_rpc_register(shoal_rpc *rpc, const char *name, shoal_rpc_kind kind,
                       shoal_rpc_handler_fn *fn, void *ud)
{
    if (!name || !*name || !fn || (unsigned)kind > SHOAL_RPC_DUPLEX)
        return SHOAL_E_INVAL;
    for (size_t i = 0; i < rpc->nmethods; i++)
        if (strcmp(rpc->methods[i].name, name) == 0) {
            rpc->methods[i] = (method){rpc->methods[i].name, kind, fn, ud};
            return SHOAL_OK;
        }
    char *copy = shoal_strndup(name, strlen(name));
    method *grown = copy ? shoal_realloc(rpc->methods, (rpc->nmethods + 1) * sizeof *grown) : NULL;
    if (!grown) {
        shoal_free(copy);
        return SHOAL_E_NOMEM;
    }
    rpc->methods = grown;
    rpc->methods[rpc->nmethods++] = (method){copy, kind, fn, ud};
    return SHOAL_OK;
}

json_t *shoal_rpc_manifest(const shoal_rpc *rpc)
{
    json_t *root = json_object();
    for (size_t i = 0; i < rpc->nmethods && root; i++) {
        json_t *group = root;
        const char *s = rpc->methods[i].name;
        for (const char *dot; group && (dot = strchr(s, '.')) != NULL; s = dot + 1) {
            size_t n = (size_t)(dot - s);
            json_t *next = json_object_getn(group, s, n);
            if (!next && json_object_setn_new(group, s, n, next = json_object()) != 0)
                next = NULL;
            group = json_is_object(next) ? next : NULL;
        }
        const char *kind = shoal_rpc_kind_name(rpc->methods[i].kind);
        if (!group || json_object_get(group, s) ||
            json_object_set_new(group, s, json_string(kind)) != 0) {
            json_decref(root);
            root = NULL;
        }
    }
    return root;
}

void shoal_rpc_on_drained(shoal_rpc *rpc, shoal_rpc_drained_fn *fn, void *ud)
{
    rpc->drained = fn;
    rpc->drained_ud = ud;
}

void shoal_rpc_observe(shoal_rpc *rpc, shoal_rpc_observe_fn *fn, void *ud)
{
    rpc->observe = fn;
    rpc->observe_ud = ud;
}

static const method *lookup(const shoal_rpc *rpc, const char *name, shoal_rpc_kind kind)
{
    for (size_t i = 0; i < rpc->nmethods; i++)
        if (rpc->methods[i].kind == kind && strcmp(rpc->methods[i].name, name) == 0)
            return &rpc->methods[i];
    return NULL;
}

/* The request's name, a string or an array of strings, dotted ("gossip.ping") into `dotted`
 * and comma-joined ("gossip,ping", as the reference prints it) into `listed`. */
static bool request_name(const json_t *name, shoal_buf *dotted, shoal_buf *listed)
{
    if (json_is_string(name)) {
        shoal_buf_append_str(dotted, json_string_value(name));
        shoal_buf_append_str(listed, json_string_value(name));
        return json_string_length(name) > 0;
    }
    size_t i;
    const json_t *part;
    json_array_foreach(name, i, part)
    {
        if (!json_is_string(part) || json_string_length(part) == 0)
            return false;
        if (i > 0) {
            shoal_buf_append_char(dotted, '.');
            shoal_buf_append_char(listed, ',');
        }
        shoal_buf_append_str(dotted, json_string_value(part));
        shoal_buf_append_str(listed, json_string_value(part));
    }
    return json_is_array(name) && json_array_size(name) > 0;
}

static bool kind_from_name(const char *s, shoal_rpc_kind *out)
{
    for (int k = SHOAL_RPC_SOURCE; k <= SHOAL_RPC_DUPLEX; k++)
        if (s && strcmp(s, shoal_rpc_kind_name((shoal_rpc_kind)k)) == 0) {
            *out = (shoal_rpc_kind)k;
            return true;
        }
    return false;
}

/* Refuses a call made to us: an error end, and for a stream a record that absorbs the caller's
 * end (unless it already ended). */
static int refuse(shoal_rpc *rpc, const shoal_rpc_packet *p, const char *message)
{
    int32_t id = -p->req;
    int rc = send_error(rpc, p->stream, id, "Error", message);
    if (rc == SHOAL_OK && p->stream && !p->end)
        rc = add_call(rpc, id, SHOAL_RPC_DUPLEX, true, NULL, NULL);
    return rc == SHOAL_E_RPC_TOO_MANY_CALLS ? SHOAL_OK : rc;
}

static int take_request(shoal_rpc *rpc, const shoal_rpc_packet *p)
{
    json_t *req = p->type == SHOAL_RPC_JSON
                      ? json_loadb((const char *)p->body, p->len, JSON_DECODE_ANY, NULL)
                      : NULL;
    const json_t *args = json_object_get(req, "args");
    shoal_buf dotted = SHOAL_BUF_INIT, listed = SHOAL_BUF_INIT, message = SHOAL_BUF_INIT;
    shoal_rpc_kind kind = SHOAL_RPC_ASYNC;
    const char *type = json_string_value(json_object_get(req, "type"));
    bool handled = false;
    int rc;
    if (!json_is_object(req) || !request_name(json_object_get(req, "name"), &dotted, &listed) ||
        !json_is_array(args)) {
        rc = refuse(rpc, p, "invalid request: a call is {\"name\",\"args\":[...],\"type\"}");
    } else if (p->stream && !kind_from_name(type, &kind)) {
        shoal_buf_appendf(&message, "unsupported stream type: %s", type ? type : "undefined");
        rc = refuse(rpc, p, message.data);
    } else if (shoal_buf_status(&dotted) || shoal_buf_status(&listed)) {
        rc = SHOAL_E_NOMEM;
    } else {
        const method *m = lookup(rpc, dotted.data, kind);
        if (!m) {
            shoal_buf_appendf(&message, "no %s:%s", shoal_rpc_kind_name(kind), listed.data);
            rc = shoal_buf_status(&message) ? SHOAL_E_NOMEM : refuse(rpc, p, message.data);
        } else if (p->end) {
            rc = SHOAL_OK; /* a call that ends as it starts asks nothing */
        } else {
            rc = add_call(rpc, -p->req, kind, false, NULL, NULL);
            if (rc == SHOAL_E_RPC_TOO_MANY_CALLS)
                rc = refuse(rpc, p, "too many open calls");
            else if (rc == SHOAL_OK) {
                shoal_rpc_request r = {dotted.data, kind, (json_t *)args};
                handled = true;
                m->fn(rpc, -p->req, &r, m->ud);
            }
        }
    }
    if (rpc->observe)
        rpc->observe(rpc, dotted.len && !shoal_buf_status(&dotted) ? dotted.data : "",
                     type        ? type
                     : p->stream ? ""
                                 : "async",
                     handled, rpc->observe_ud);
    json_decref(req);
    shoal_buf_free(&dotted);
    shoal_buf_free(&listed);
    shoal_buf_free(&message);
    return rc;
}

/* ---- incoming packets ------------------------------------------------------------------------ */

static bool is_true(const shoal_rpc_packet *p)
{
    return p->type == SHOAL_RPC_JSON && p->len == 4 && memcmp(p->body, "true", 4) == 0;
}

static int take_packet(shoal_rpc *rpc, const shoal_rpc_packet *p)
{
    if (p->req == 0 || p->req == INT32_MIN)
        return SHOAL_OK; /* a bare message, which SSB does not use, or a number with no negation */
    int32_t id = -p->req;
    call *c = find(rpc, id);
    if (!c)
        return p->req > 0 && !(p->end && p->stream) ? take_request(rpc, p) : SHOAL_OK;
    shoal_rpc_body body = {p->type, p->body, p->len};
    shoal_rpc_listen_fn *fn = c->fn;
    void *ud = c->ud;
    if (c->kind == SHOAL_RPC_ASYNC) {
        if (id < 0)
            return SHOAL_OK; /* the caller has nothing more to say about an async call */
        remove_call(rpc, id);
        if (fn)
            fn(rpc, id, p->end ? SHOAL_RPC_ERROR : SHOAL_RPC_DATA, &body, ud);
        return SHOAL_OK;
    }
    if (!p->end) {
        if (fn)
            fn(rpc, id, SHOAL_RPC_DATA, &body, ud);
        return SHOAL_OK;
    }
    shoal_rpc_event ev = is_true(p) ? SHOAL_RPC_END : SHOAL_RPC_ERROR;
    /* Our half ends too when the other side errs or ends anything but a duplex stream (whose
     * directions end each on its own): for a source or a sink, an end from either side is the
     * end of the whole stream. */
    c->remote_ended = true;
    int rc = SHOAL_OK;
    if (!c->local_ended && (ev == SHOAL_RPC_ERROR || c->kind != SHOAL_RPC_DUPLEX)) {
        c->local_ended = true;
        rc = send_json(rpc, true, true, id, json_true());
    }
    if ((c = find(rpc, id)) != NULL && c->local_ended)
        remove_call(rpc, id);
    if (fn)
        fn(rpc, id, ev, ev == SHOAL_RPC_ERROR ? &body : NULL, ud);
    return rc;
}

int shoal_rpc_input(shoal_rpc *rpc, const uint8_t *in, size_t len)
{
    size_t used = 0;
    bool their_goodbye = false;
    while (used < len && !rpc->ended) {
        shoal_rpc_packet p;
        bool got, goodbye;
        long n = shoal_rpc_decode(&rpc->dec, in + used, len - used, &p, &got, &goodbye);
        if (n < 0) {
            end_session(rpc, (int)n);
            break;
        }
        used += (size_t)n;
        int rc = SHOAL_OK;
        if (goodbye) {
            their_goodbye = true;
            static const uint8_t ours[SHOAL_RPC_HEADER_SIZE];
            shoal_buf_append(&rpc->out.buf, ours, sizeof ours);
            end_session(rpc, SHOAL_OK);
        } else if (got) {
            rc = take_packet(rpc, &p);
        }
        if (rc != SHOAL_OK)
            end_session(rpc, rc);
    }
    if (their_goodbye && used < len)
        rpc->status = SHOAL_E_RPC_CLOSED; /* bytes after the goodbye */
    if (rpc->drained)
        rpc->drained(rpc, rpc->drained_ud);
    return rpc->status;
}

/* ---- calls we make, and answers ------------------------------------------------------------- */

int shoal_rpc_call(shoal_rpc *rpc, shoal_rpc_kind kind, const char *name, json_t *args,
                   shoal_rpc_listen_fn *fn, void *ud, int32_t *id)
{
    if (rpc->ended)
        return SHOAL_E_RPC_CLOSED;
    if (!name || !*name || !json_is_array(args) || (unsigned)kind > SHOAL_RPC_DUPLEX)
        return SHOAL_E_INVAL;
    json_t *parts = json_array(), *req = json_object();
    int rc = parts && req ? SHOAL_OK : SHOAL_E_NOMEM;
    for (const char *s = name; rc == SHOAL_OK;) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        if (n == 0)
            rc = SHOAL_E_INVAL;
        else if (json_array_append_new(parts, json_stringn(s, n)) != 0)
            rc = SHOAL_E_NOMEM;
        if (!dot)
            break;
        s = dot + 1;
    }
    /* async calls carry no type, as the reference sends them */
    if (rc == SHOAL_OK &&
        (json_object_set(req, "name", parts) != 0 || json_object_set(req, "args", args) != 0 ||
         (kind != SHOAL_RPC_ASYNC &&
          json_object_set_new(req, "type", json_string(shoal_rpc_kind_name(kind))) != 0)))
        rc = SHOAL_E_NOMEM;
    int32_t req_no = rpc->next_req;
    if (rc == SHOAL_OK)
        rc = add_call(rpc, req_no, kind, false, fn, ud);
    if (rc == SHOAL_OK) {
        rc = send_json(rpc, kind != SHOAL_RPC_ASYNC, false, req_no, req);
        if (rc != SHOAL_OK)
            remove_call(rpc, req_no);
    }
    json_decref(parts);
    json_decref(req);
    if (rc != SHOAL_OK)
        return rc;
    rpc->next_req = req_no == INT32_MAX ? 1 : req_no + 1;
    *id = req_no;
    return SHOAL_OK;
}

int shoal_rpc_listen(shoal_rpc *rpc, int32_t id, shoal_rpc_listen_fn *fn, void *ud)
{
    call *c = find(rpc, id);
    if (!c)
        return rpc->ended ? SHOAL_E_RPC_CLOSED : SHOAL_E_RPC_NO_CALL;
    c->fn = fn;
    c->ud = ud;
    return SHOAL_OK;
}

/* The call `id` if our half of it is still open and of the right sort (stream or async). */
static int open_half(shoal_rpc *rpc, int32_t id, bool stream, call **out)
{
    if (rpc->ended)
        return SHOAL_E_RPC_CLOSED;
    call *c = find(rpc, id);
    if (!c || c->local_ended || (c->kind != SHOAL_RPC_ASYNC) != stream || (!stream && id > 0))
        return SHOAL_E_RPC_NO_CALL;
    *out = c;
    return SHOAL_OK;
}

int shoal_rpc_reply(shoal_rpc *rpc, int32_t id, const shoal_rpc_body *body)
{
    call *c;
    int rc = open_half(rpc, id, false, &c);
    if (rc == SHOAL_OK)
        rc = send_packet(rpc, false, false, body->type, id, body->data, body->len);
    if (rc == SHOAL_OK)
        remove_call(rpc, id);
    return rc;
}

int shoal_rpc_send(shoal_rpc *rpc, int32_t id, const shoal_rpc_body *body)
{
    call *c;
    int rc = open_half(rpc, id, true, &c);
    return rc == SHOAL_OK ? send_packet(rpc, true, false, body->type, id, body->data, body->len)
                          : rc;
}

int shoal_rpc_send_json(shoal_rpc *rpc, int32_t id, const json_t *item)
{
    call *c;
    int rc = open_half(rpc, id, true, &c);
    return rc == SHOAL_OK ? send_json(rpc, true, false, id, item) : rc;
}

/* Our half is over: the call is forgotten once the other half is too. */
static void local_end(shoal_rpc *rpc, int32_t id)
{
    call *c = find(rpc, id);
    c->local_ended = true;
    if (c->remote_ended)
        remove_call(rpc, id);
}

int shoal_rpc_end(shoal_rpc *rpc, int32_t id)
{
    call *c;
    int rc = open_half(rpc, id, true, &c);
    if (rc == SHOAL_OK)
        rc = send_json(rpc, true, true, id, json_true());
    if (rc == SHOAL_OK)
        local_end(rpc, id);
    return rc;
}

int shoal_rpc_error(shoal_rpc *rpc, int32_t id, const char *name, const char *message)
{
    call *c = find(rpc, id);
    bool stream = c && c->kind != SHOAL_RPC_ASYNC;
    int rc = open_half(rpc, id, stream, &c);
    if (rc == SHOAL_OK)
        rc = send_error(rpc, stream, id, name, message);
    if (rc == SHOAL_OK && stream)
        local_end(rpc, id);
    else if (rc == SHOAL_OK)
        remove_call(rpc, id);
    return rc;
}

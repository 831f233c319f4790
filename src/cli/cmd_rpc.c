/* shoal rpc: dial an SSB peer over net:, make one call, print what comes back. */
#include "cli.h"

#include "shoal/identity.h"
#include "shoal/net.h"
#include "shoal/ref.h"

#include <gio/gio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: shoal rpc [options] ADDRESS METHOD [ARG...]\n"
    "\n"
    "Dials the SSB peer at ADDRESS (a multiserver address with a net:HOST:PORT~shs:KEY part), "
    "runs\n"
    "the secret handshake, calls METHOD (dotted: whoami, createHistoryStream, gossip.ping) with\n"
    "the ARGs, each a JSON value (a word that is not JSON is taken as a string), and prints the\n"
    "reply, or each item of a stream, as one line of JSON (binary items as base64 strings).\n"
    "While connected it answers the peer's whoami and gossip.ping.\n"
    "\n"
    "  --type T          async (default), source, sink or duplex\n"
    "  --secret FILE     the identity to use, an SSB secret file (~/.ssb/secret works);\n"
    "                    default: a fresh identity for this call only\n"
    "  --network KEY     the network key, base64 (default: the main SSB network's)\n"
    "  --timeout MS      give up after this long (default 30000)\n"
    "\n"
    "exit status: 0 the call succeeded, 1 the peer answered with an error, 2 usage error,\n"
    "3 the connection failed (the reason is on standard error)\n";

typedef struct call_state {
    GMainLoop *loop;
    shoal_basics basics;
    shoal_net_conn *conn;
    shoal_rpc_kind kind;
    const char *method;
    json_t *args;
    guint deadline;
    int exit;
    bool done;
} call_state;

static int64_t wall_clock(void *ud)
{
    (void)ud;
    return g_get_real_time() / 1000;
}

static void print_body(const shoal_rpc_body *body)
{
    if (body->type == SHOAL_RPC_JSON) {
        fwrite(body->data, 1, body->len, stdout);
    } else if (body->type == SHOAL_RPC_STRING) {
        json_t *s = json_stringn((const char *)body->data, body->len);
        char *text = s ? json_dumps(s, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        fputs(text ? text : "null", stdout);
        free(text);
        json_decref(s);
    } else {
        size_t cap = sodium_base64_ENCODED_LEN(body->len, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = malloc(cap);
        sodium_bin2base64(b64, cap, body->data, body->len, sodium_base64_VARIANT_ORIGINAL);
        printf("\"%s\"", b64);
        free(b64);
    }
    putchar('\n');
    fflush(stdout);
}

static void finish(call_state *st, int exit)
{
    if (st->done)
        return;
    st->done = true;
    st->exit = exit;
    shoal_net_conn_close(st->conn);
}

static void on_reply(shoal_rpc *rpc, int32_t id, shoal_rpc_event ev, const shoal_rpc_body *body,
                     void *ud)
{
    (void)rpc, (void)id;
    call_state *st = ud;
    switch (ev) {
    case SHOAL_RPC_DATA:
        print_body(body);
        if (st->kind == SHOAL_RPC_ASYNC)
            finish(st, SHOAL_EXIT_OK);
        break;
    case SHOAL_RPC_END:
        finish(st, SHOAL_EXIT_OK);
        break;
    case SHOAL_RPC_ERROR:
        fprintf(stderr, "shoal rpc: %s answered with an error: %.*s\n", st->method, (int)body->len,
                body->data);
        finish(st, SHOAL_EXIT_INVALID);
        break;
    case SHOAL_RPC_CLOSED:
        if (!st->done)
            fprintf(stderr, "shoal rpc: the peer closed the session before answering\n");
        finish(st, SHOAL_EXIT_FAILURE);
        break;
    }
}

static void on_established(shoal_net_conn *conn, void *ud)
{
    call_state *st = ud;
    shoal_rpc *rpc = shoal_net_conn_rpc(conn);
    int32_t id;
    int rc = shoal_basics_register(rpc, &st->basics);
    if (rc == SHOAL_OK)
        rc = shoal_rpc_call(rpc, st->kind, st->method, st->args, on_reply, st, &id);
    if (rc == SHOAL_OK && (st->kind == SHOAL_RPC_SINK || st->kind == SHOAL_RPC_DUPLEX))
        rc = shoal_rpc_end(rpc, id); /* nothing to pour in from the command line */
    if (rc != SHOAL_OK) {
        fprintf(stderr, "shoal rpc: cannot call %s: %s\n", st->method, shoal_strerror(rc));
        finish(st, SHOAL_EXIT_FAILURE);
    }
}

static void on_closed(shoal_net_conn *conn, int err, void *ud)
{
    (void)conn;
    call_state *st = ud;
    if (!st->done) {
        fprintf(stderr, "shoal rpc: connection failed: %s%s\n", shoal_strerror(err),
                err == SHOAL_E_SHS_TRUNCATED
                    ? " (the peer hung up: is the key in the address its key, and the network "
                      "its network?)"
                    : "");
        st->done = true;
        st->exit = SHOAL_EXIT_FAILURE;
    }
    g_main_loop_quit(st->loop);
}

static gboolean on_deadline(gpointer ud)
{
    call_state *st = ud;
    st->deadline = 0;
    fprintf(stderr, "shoal rpc: no answer in time\n");
    finish(st, SHOAL_EXIT_FAILURE);
    return G_SOURCE_REMOVE;
}

/* The first alternative of the address with a net: transport and an shs: transform. */
static bool net_target(const char *text, shoal_ms_info *net, shoal_ms_info *shs)
{
    shoal_ms *ms;
    size_t err_at;
    int rc = shoal_ms_parse(&ms, text, strlen(text), &err_at);
    if (rc != SHOAL_OK) {
        fprintf(stderr, "shoal rpc: '%s' is not a multiserver address: %s (at byte %zu)\n", text,
                shoal_strerror(rc), err_at);
        return false;
    }
    bool found = false;
    for (size_t i = 0; i < ms->naddrs && !found; i++) {
        const shoal_ms_addr *a = &ms->addrs[i];
        found = a->nprotos == 2 && shoal_ms_proto_decode(&a->protos[0], net, NULL) == SHOAL_OK &&
                net->kind == SHOAL_MS_NET &&
                shoal_ms_proto_decode(&a->protos[1], shs, NULL) == SHOAL_OK &&
                shs->kind == SHOAL_MS_SHS;
    }
    shoal_ms_free(ms);
    if (!found)
        fprintf(stderr, "shoal rpc: '%s' has no net:HOST:PORT~shs:KEY part\n", text);
    return found;
}

static json_t *parse_arg(const char *s)
{
    json_t *v = json_loads(s, JSON_DECODE_ANY, NULL);
    return v ? v : json_string(s);
}

int shoal_cmd_rpc(int argc, char **argv)
{
    call_state st = {.kind = SHOAL_RPC_ASYNC};
    const char *secret = NULL, *network_b64 = NULL;
    unsigned long timeout_ms = 30000;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i += 2) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            fputs(help, stdout);
            return SHOAL_EXIT_OK;
        }
        bool ok = val != NULL;
        if (!ok)
            ;
        else if (strcmp(opt, "--type") == 0) {
            ok = false;
            for (int k = SHOAL_RPC_ASYNC; k <= SHOAL_RPC_DUPLEX && !ok; k++)
                if (strcmp(val, shoal_rpc_kind_name((shoal_rpc_kind)k)) == 0) {
                    st.kind = (shoal_rpc_kind)k;
                    ok = true;
                }
        } else if (strcmp(opt, "--secret") == 0) {
            secret = val;
        } else if (strcmp(opt, "--network") == 0) {
            network_b64 = val;
        } else if (strcmp(opt, "--timeout") == 0) {
            char *end;
            timeout_ms = strtoul(val, &end, 10);
            ok = *end == '\0' && timeout_ms > 0 && timeout_ms <= 24UL * 3600 * 1000;
        } else {
            fprintf(stderr, "shoal rpc: unknown option '%s'\n%s", opt, help);
            return SHOAL_EXIT_USAGE;
        }
        if (!ok) {
            fprintf(stderr, "shoal rpc: %s needs a valid value (see --help)\n", opt);
            return SHOAL_EXIT_USAGE;
        }
    }
    if (argc - i < 2) {
        fputs(help, stderr);
        return SHOAL_EXIT_USAGE;
    }
    shoal_ms_info net, shs;
    if (!net_target(argv[i], &net, &shs))
        return SHOAL_EXIT_USAGE;
    st.method = argv[i + 1];
    uint8_t network[32];
    if (network_b64 && shoal_key_from_b64(network, network_b64, strlen(network_b64)) != SHOAL_OK) {
        fprintf(stderr, "shoal rpc: --network needs 32 bytes in base64\n");
        return SHOAL_EXIT_USAGE;
    }
    shoal_keypair keys;
    if (secret) {
        int rc = shoal_identity_load(secret, &keys);
        if (rc != SHOAL_OK) {
            fprintf(stderr, "shoal rpc: %s: %s\n", secret, shoal_strerror(rc));
            return SHOAL_EXIT_FAILURE;
        }
    } else {
        shoal_keypair_generate(&keys);
    }
    st.args = json_array();
    for (int a = i + 2; a < argc; a++)
        json_array_append_new(st.args, parse_arg(argv[a]));
    shoal_identity_feed_id(keys.pub, st.basics.id);
    st.basics.clock = wall_clock;
    st.loop = g_main_loop_new(NULL, FALSE);
    shoal_net_config cfg = {.keys = &keys, .network = network_b64 ? network : NULL};
    shoal_net_callbacks cb = {on_established, on_closed};
    st.conn = shoal_net_dial(&cfg, net.host.name, net.port, shs.key, &cb, &st);
    sodium_memzero(&keys, sizeof keys);
    if (!st.conn) {
        fprintf(stderr, "shoal rpc: out of memory\n");
        return SHOAL_EXIT_FAILURE;
    }
    st.deadline = g_timeout_add((guint)timeout_ms, on_deadline, &st);
    g_main_loop_run(st.loop);
    if (st.deadline)
        g_source_remove(st.deadline);
    g_main_loop_unref(st.loop);
    json_decref(st.args);
    return st.exit;
}

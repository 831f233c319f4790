/* Two muxrpc sessions wired back to back: async calls, errors in the reference's shape, unknown
 * methods answered as the reference answers them, source, sink and duplex streams ended from
 * either side, goodbye, many calls at once, bad input, allocation failure at every step, and the
 * shell told when output begins to wait. */
#include "harness.h"
#include "shoal/muxrpc.h"

#include <stdlib.h>
#include <string.h>

typedef struct side {
    shoal_rpc *rpc;
    shoal_buf log;  /* what this side's listeners heard, one line each */
    shoal_buf wire; /* every byte this side sent */
    int input_rc;   /* the last shoal_rpc_input status */
} side;

static side a, b; /* a calls, b serves */
static int32_t pending_later;
static json_t *no_args; /* [] */

static void log_event(shoal_rpc *rpc, int32_t id, shoal_rpc_event ev, const shoal_rpc_body *body,
                      void *ud)
{
    (void)rpc;
    static const char *const names[] = {"DATA", "END", "ERROR", "CLOSED"};
    side *s = ud;
    shoal_buf_appendf(&s->log, "%d %s", id, names[ev]);
    if (body)
        shoal_buf_appendf(&s->log, " %d:%.*s", body->type, (int)body->len, body->data);
    shoal_buf_append_char(&s->log, '\n');
}

static void whoami(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req, void *ud)
{
    (void)req, (void)ud;
    static const char reply[] = "{\"id\":\"@me\"}";
    CHECK_EQ_ERR(
        shoal_rpc_reply(rpc, id,
                        &(shoal_rpc_body){SHOAL_RPC_JSON, (const uint8_t *)reply, strlen(reply)}),
        SHOAL_OK);
}

static void fail(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req, void *ud)
{
    (void)req, (void)ud;
    CHECK_EQ_ERR(shoal_rpc_error(rpc, id, "Error", "it failed"), SHOAL_OK);
}

static void later(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req, void *ud)
{
    (void)rpc, (void)req, (void)ud;
    pending_later = id;
}

static void count(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req, void *ud)
{
    CHECK_EQ_ERR(shoal_rpc_listen(rpc, id, log_event, ud), SHOAL_OK);
    json_int_t n = json_integer_value(json_array_get(req->args, 0));
    for (json_int_t i = 1; i <= n; i++) {
        json_t *item = json_integer(i);
        CHECK_EQ_ERR(shoal_rpc_send_json(rpc, id, item), SHOAL_OK);
        json_decref(item);
    }
    if (n >= 0)
        CHECK_EQ_ERR(shoal_rpc_end(rpc, id), SHOAL_OK);
}

static void echo_back(shoal_rpc *rpc, int32_t id, shoal_rpc_event ev, const shoal_rpc_body *body,
                      void *ud)
{
    log_event(rpc, id, ev, body, ud);
    if (ev == SHOAL_RPC_DATA)
        CHECK_EQ_ERR(shoal_rpc_send(rpc, id, body), SHOAL_OK);
    else if (ev == SHOAL_RPC_END)
        CHECK_EQ_ERR(shoal_rpc_end(rpc, id), SHOAL_OK);
}

static void listen_log(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req, void *ud)
{
    (void)req;
    CHECK_EQ_ERR(shoal_rpc_listen(rpc, id, log_event, ud), SHOAL_OK);
}

static void echo(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req, void *ud)
{
    (void)req;
    CHECK_EQ_ERR(shoal_rpc_listen(rpc, id, echo_back, ud), SHOAL_OK);
}

/* Moves bytes both ways until both sides are quiet. */
static void pump(void)
{
    for (int round = 0; round < 1000; round++) {
        size_t na, nb;
        const uint8_t *oa = shoal_rpc_output(a.rpc, &na), *ob = shoal_rpc_output(b.rpc, &nb);
        if (na == 0 && nb == 0)
            return;
        if (na) {
            shoal_buf_append(&a.wire, oa, na);
            uint8_t *copy = malloc(na);
            memcpy(copy, oa, na);
            shoal_rpc_drain(a.rpc, na);
            b.input_rc = shoal_rpc_input(b.rpc, copy, na);
            free(copy);
        }
        if (nb) {
            shoal_buf_append(&b.wire, ob, nb);
            uint8_t *copy = malloc(nb);
            memcpy(copy, ob, nb);
            shoal_rpc_drain(b.rpc, nb);
            a.input_rc = shoal_rpc_input(a.rpc, copy, nb);
            free(copy);
        }
    }
    CHECK(!"the sessions never went quiet");
}

static void setup(void)
{
    a = (side){shoal_rpc_new(NULL), SHOAL_BUF_INIT, SHOAL_BUF_INIT, SHOAL_OK};
    b = (side){shoal_rpc_new(NULL), SHOAL_BUF_INIT, SHOAL_BUF_INIT, SHOAL_OK};
    CHECK_EQ_ERR(shoal_rpc_register(b.rpc, "whoami", SHOAL_RPC_ASYNC, whoami, &b), SHOAL_OK);
    CHECK_EQ_ERR(shoal_rpc_register(b.rpc, "fail", SHOAL_RPC_ASYNC, fail, &b), SHOAL_OK);
    CHECK_EQ_ERR(shoal_rpc_register(b.rpc, "later", SHOAL_RPC_ASYNC, later, &b), SHOAL_OK);
    CHECK_EQ_ERR(shoal_rpc_register(b.rpc, "x.count", SHOAL_RPC_SOURCE, count, &b), SHOAL_OK);
    CHECK_EQ_ERR(shoal_rpc_register(b.rpc, "collect", SHOAL_RPC_SINK, listen_log, &b), SHOAL_OK);
    CHECK_EQ_ERR(shoal_rpc_register(b.rpc, "echo", SHOAL_RPC_DUPLEX, echo, &b), SHOAL_OK);
}

static void teardown(void)
{
    shoal_rpc_free(a.rpc);
    shoal_rpc_free(b.rpc);
    shoal_buf_free(&a.log), shoal_buf_free(&a.wire);
    shoal_buf_free(&b.log), shoal_buf_free(&b.wire);
}

static int32_t call(shoal_rpc_kind kind, const char *name, const char *args)
{
    json_t *j = json_loads(args, 0, NULL);
    int32_t id = 0;
    CHECK_EQ_ERR(shoal_rpc_call(a.rpc, kind, name, j, log_event, &a, &id), SHOAL_OK);
    json_decref(j);
    return id;
}

static const char *text(const shoal_buf *buf)
{
    return buf->len ? buf->data : "";
}

static void an_async_call_is_answered_and_forgotten(void)
{
    setup();
    CHECK_EQ_INT(call(SHOAL_RPC_ASYNC, "whoami", "[]"), 1);
    pump();
    /* the request and reply, byte for byte as the reference writes them */
    CHECK_EQ_MEM(a.wire.data, a.wire.len,
                 "\x02\x00\x00\x00\x1d\x00\x00\x00\x01{\"name\":[\"whoami\"],\"args\":[]}", 38);
    CHECK_EQ_MEM(b.wire.data, b.wire.len, "\x02\x00\x00\x00\x0c\xff\xff\xff\xff{\"id\":\"@me\"}",
                 21);
    CHECK_EQ_STR(text(&a.log), "1 DATA 2:{\"id\":\"@me\"}\n");
    CHECK_EQ_INT(shoal_rpc_open_calls(a.rpc), 0);
    CHECK_EQ_INT(shoal_rpc_open_calls(b.rpc), 0);
    teardown();
}

static void errors_and_unknown_methods_take_the_references_shape(void)
{
    setup();
    call(SHOAL_RPC_ASYNC, "fail", "[]");
    call(SHOAL_RPC_ASYNC, "no.such", "[1]");
    call(SHOAL_RPC_SOURCE, "whoami", "[]"); /* exists, but not as a source */
    pump();
    CHECK_EQ_STR(text(&a.log),
                 "1 ERROR 2:{\"message\":\"it failed\",\"name\":\"Error\",\"stack\":\"Error: it "
                 "failed\"}\n"
                 "2 ERROR 2:{\"message\":\"no async:no,such\",\"name\":\"Error\",\"stack\":"
                 "\"Error: no async:no,such\"}\n"
                 "3 ERROR 2:{\"message\":\"no source:whoami\",\"name\":\"Error\",\"stack\":"
                 "\"Error: no source:whoami\"}\n");
    /* the refused stream ends on both sides: a answered b's end with its own */
    CHECK_EQ_INT(shoal_rpc_open_calls(a.rpc), 0);
    CHECK_EQ_INT(shoal_rpc_open_calls(b.rpc), 0);
    /* async errors carry end, stream errors stream|end */
    CHECK(memmem(b.wire.data, b.wire.len, "\x06\x00\x00\x00", 4) != NULL);
    CHECK(memmem(b.wire.data, b.wire.len, "\x0e\x00\x00\x00", 4) != NULL);
    teardown();
}

static void a_source_streams_to_its_end_and_both_halves_close(void)
{
    setup();
    call(SHOAL_RPC_SOURCE, "x.count", "[3]");
    pump();
    CHECK_EQ_STR(text(&a.log), "1 DATA 2:1\n1 DATA 2:2\n1 DATA 2:3\n1 END\n");
    CHECK(memmem(a.wire.data, a.wire.len,
                 "{\"name\":[\"x\",\"count\"],\"args\":[3],\"type\":\"source\"}", 49) != NULL);
    CHECK_EQ_INT(shoal_rpc_open_calls(a.rpc), 0);
    CHECK_EQ_INT(shoal_rpc_open_calls(b.rpc), 0);
    teardown();
}

static void the_caller_can_abort_a_source(void)
{
    setup();
    int32_t id = call(SHOAL_RPC_SOURCE, "x.count", "[-1]"); /* never ends on its own */
    pump();
    CHECK_EQ_ERR(shoal_rpc_end(a.rpc, id), SHOAL_OK);
    pump();
    CHECK_EQ_STR(text(&b.log), "-1 END\n");
    CHECK_EQ_STR(text(&a.log), "1 END\n");
    CHECK_EQ_INT(shoal_rpc_open_calls(a.rpc), 0);
    CHECK_EQ_INT(shoal_rpc_open_calls(b.rpc), 0);
    /* b's handler can tell its stream is over */
    CHECK_EQ_ERR(
        shoal_rpc_send(b.rpc, -1, &(shoal_rpc_body){SHOAL_RPC_STRING, (const uint8_t *)"x", 1}),
        SHOAL_E_RPC_NO_CALL);
    teardown();
}

static void a_sink_takes_items_until_the_caller_ends(void)
{
    setup();
    int32_t id = call(SHOAL_RPC_SINK, "collect", "[]");
    pump();
    for (int i = 0; i < 2; i++)
        CHECK_EQ_ERR(
            shoal_rpc_send(a.rpc, id,
                           &(shoal_rpc_body){SHOAL_RPC_BINARY, (const uint8_t *)"\x01\x02", 2}),
            SHOAL_OK);
    CHECK_EQ_ERR(shoal_rpc_end(a.rpc, id), SHOAL_OK);
    pump();
    CHECK_EQ_STR(text(&b.log), "-1 DATA 0:\x01\x02\n-1 DATA 0:\x01\x02\n-1 END\n");
    CHECK_EQ_STR(text(&a.log), "1 END\n");
    CHECK_EQ_INT(shoal_rpc_open_calls(a.rpc) + shoal_rpc_open_calls(b.rpc), 0);
    teardown();
}

static void a_duplex_carries_both_ways_and_each_side_ends_its_half(void)
{
    setup();
    int32_t id = call(SHOAL_RPC_DUPLEX, "echo", "[]");
    pump();
    const shoal_rpc_body ping = {SHOAL_RPC_STRING, (const uint8_t *)"ping", 4};
    CHECK_EQ_ERR(shoal_rpc_send(a.rpc, id, &ping), SHOAL_OK);
    CHECK_EQ_ERR(shoal_rpc_send(a.rpc, id, &ping), SHOAL_OK);
    pump();
    CHECK_EQ_STR(text(&a.log), "1 DATA 1:ping\n1 DATA 1:ping\n");
    CHECK_EQ_ERR(shoal_rpc_end(a.rpc, id), SHOAL_OK);
    CHECK_EQ_INT(shoal_rpc_open_calls(a.rpc), 1); /* b's half is still open */
    pump();
    CHECK_EQ_STR(text(&a.log), "1 DATA 1:ping\n1 DATA 1:ping\n1 END\n");
    CHECK_EQ_INT(shoal_rpc_open_calls(a.rpc) + shoal_rpc_open_calls(b.rpc), 0);
    teardown();
}

static void goodbye_closes_everything_open(void)
{
    setup();
    call(SHOAL_RPC_ASYNC, "later", "[]");
    call(SHOAL_RPC_SOURCE, "x.count", "[-1]");
    pump();
    shoal_rpc_goodbye(a.rpc);
    CHECK_EQ_STR(text(&a.log), "1 CLOSED\n2 CLOSED\n");
    pump();
    CHECK(shoal_rpc_ended(b.rpc));
    CHECK_EQ_ERR(shoal_rpc_status(b.rpc), SHOAL_OK);
    CHECK_EQ_STR(text(&b.log), "-2 CLOSED\n");
    /* b answered the goodbye with its own, and nothing more can be sent */
    CHECK_EQ_MEM(b.wire.data + b.wire.len - 9, 9, "\0\0\0\0\0\0\0\0\0", 9);
    CHECK_EQ_ERR(shoal_rpc_reply(b.rpc, pending_later,
                                 &(shoal_rpc_body){SHOAL_RPC_JSON, (const uint8_t *)"1", 1}),
                 SHOAL_E_RPC_CLOSED);
    int32_t id;
    CHECK_EQ_ERR(shoal_rpc_call(a.rpc, SHOAL_RPC_ASYNC, "whoami", no_args, NULL, NULL, &id),
                 SHOAL_E_RPC_CLOSED);
    teardown();
}

static void thousands_of_calls_are_answered_in_any_order(void)
{
    setup();
    enum { N = 5000 };
    static int32_t ids[N];
    for (int i = 0; i < N; i++) {
        call(SHOAL_RPC_ASYNC, "later", "[]");
        pump();
        ids[i] = pending_later;
    }
    CHECK_EQ_INT(shoal_rpc_open_calls(b.rpc), N);
    for (int i = N - 1; i >= 0; i -= 2) /* odd ones first, backwards, then the rest */
        CHECK_EQ_ERR(shoal_rpc_reply(b.rpc, ids[i],
                                     &(shoal_rpc_body){SHOAL_RPC_STRING, (const uint8_t *)"k", 1}),
                     SHOAL_OK);
    for (int i = 0; i < N; i += 2)
        CHECK_EQ_ERR(shoal_rpc_reply(b.rpc, ids[i],
                                     &(shoal_rpc_body){SHOAL_RPC_STRING, (const uint8_t *)"k", 1}),
                     SHOAL_OK);
    pump();
    CHECK_EQ_INT(shoal_rpc_open_calls(a.rpc) + shoal_rpc_open_calls(b.rpc), 0);
    teardown();
}

static void empty_bodies_and_replies_out_of_turn_are_refused(void)
{
    setup();
    int32_t id = call(SHOAL_RPC_DUPLEX, "echo", "[]");
    CHECK_EQ_ERR(shoal_rpc_send(a.rpc, id, &(shoal_rpc_body){SHOAL_RPC_BINARY, NULL, 0}),
                 SHOAL_E_INVAL);
    CHECK_EQ_ERR(
        shoal_rpc_reply(a.rpc, id, &(shoal_rpc_body){SHOAL_RPC_JSON, (const uint8_t *)"1", 1}),
        SHOAL_E_RPC_NO_CALL);
    CHECK_EQ_ERR(shoal_rpc_end(a.rpc, 99), SHOAL_E_RPC_NO_CALL);
    CHECK_EQ_ERR(shoal_rpc_error(a.rpc, -5, "Error", "x"), SHOAL_E_RPC_NO_CALL);
    CHECK_EQ_ERR(shoal_rpc_register(b.rpc, "", SHOAL_RPC_ASYNC, whoami, NULL), SHOAL_E_INVAL);
    CHECK_EQ_ERR(shoal_rpc_call(a.rpc, SHOAL_RPC_ASYNC, "a..b", no_args, NULL, NULL, &id),
                 SHOAL_E_INVAL);
    teardown();
}

static void the_manifest_nests_names_by_their_dots(void)
{
    setup();
    json_t *m = shoal_rpc_manifest(b.rpc);
    char *text = json_dumps(m, JSON_COMPACT);
    CHECK_EQ_STR(text,
                 "{\"whoami\":\"async\",\"fail\":\"async\",\"later\":\"async\",\"x\":{\"count\":"
                 "\"source\"},\"collect\":\"sink\",\"echo\":\"duplex\"}");
    free(text);
    json_decref(m);
    /* a name that is also a group cannot be written in the manifest's shape */
    CHECK_EQ_ERR(shoal_rpc_register(b.rpc, "x", SHOAL_RPC_ASYNC, whoami, &b), SHOAL_OK);
    CHECK(shoal_rpc_manifest(b.rpc) == NULL);
    teardown();
}

static void malformed_requests_get_an_error_and_the_session_goes_on(void)
{
    setup();
    static const uint8_t bad[] =
        "\x02\x00\x00\x00\x05\x00\x00\x00\x07{nope"
        "\x01\x00\x00\x00\x02\x00\x00\x00\x08hi"
        "\x0a\x00\x00\x00\x1b\x00\x00\x00\x09{\"name\":[\"echo\"],\"args\":[]}";
    CHECK_EQ_ERR(shoal_rpc_input(b.rpc, bad, sizeof bad - 1), SHOAL_OK);
    size_t n;
    const uint8_t *out = shoal_rpc_output(b.rpc, &n);
    /* three error ends: two for async calls (flags 0x06), one for the stream without a type */
    CHECK_EQ_INT(out[0], 0x06);
    CHECK(memmem(out, n, "unsupported stream type: undefined", 34) != NULL);
    CHECK(!shoal_rpc_ended(b.rpc));
    teardown();
}

static void an_oversized_packet_ends_the_session_and_every_call_hears_it(void)
{
    shoal_rpc *rpc = shoal_rpc_new(&(shoal_rpc_config){.max_body = 16});
    side s = {rpc, SHOAL_BUF_INIT, SHOAL_BUF_INIT, SHOAL_OK};
    int32_t id;
    CHECK_EQ_ERR(shoal_rpc_call(rpc, SHOAL_RPC_ASYNC, "x", no_args, log_event, &s, &id), SHOAL_OK);
    static const uint8_t big[] = "\x02\x00\x00\x00\x11\xff\xff\xff\xff";
    CHECK_EQ_ERR(shoal_rpc_input(rpc, big, 9), SHOAL_E_RPC_TOO_LARGE);
    CHECK_EQ_STR(text(&s.log), "1 CLOSED\n");
    CHECK_EQ_ERR(shoal_rpc_input(rpc, big, 9), SHOAL_E_RPC_TOO_LARGE);
    shoal_rpc_free(rpc);
    shoal_buf_free(&s.log);
}

/* One whole conversation; under the failmalloc sweep every allocation fails in turn, and the
 * sessions must fail cleanly (no crash, no leak) rather than misbehave. */
static int conversation(void *ctx)
{
    (void)ctx;
    a = (side){shoal_rpc_new(NULL), SHOAL_BUF_INIT, SHOAL_BUF_INIT, SHOAL_OK};
    b = (side){shoal_rpc_new(NULL), SHOAL_BUF_INIT, SHOAL_BUF_INIT, SHOAL_OK};
    int rc = a.rpc && b.rpc ? SHOAL_OK : SHOAL_E_NOMEM;
    if (rc == SHOAL_OK)
        rc = shoal_rpc_register(b.rpc, "x.count", SHOAL_RPC_SOURCE, listen_log, &b);
    int32_t id;
    json_t *args = json_array();
    for (int i = 0; i < 20 && rc == SHOAL_OK; i++)
        rc = shoal_rpc_call(a.rpc, SHOAL_RPC_SOURCE, "x.count", args, NULL, NULL, &id);
    json_decref(args);
    if (rc == SHOAL_OK) {
        size_t n;
        const uint8_t *out = shoal_rpc_output(a.rpc, &n);
        rc = shoal_rpc_input(b.rpc, out, n);
    }
    if (rc == SHOAL_OK && shoal_rpc_open_calls(b.rpc) != 20)
        rc = SHOAL_E_INVAL;
    shoal_rpc_free(a.rpc);
    shoal_rpc_free(b.rpc);
    shoal_buf_free(&b.log);
    return rc;
}

static void allocation_failure_at_any_step_fails_cleanly(void)
{
    CHECK(harness_failmalloc_sweep(conversation, NULL) > 10);
}

static void count_output(shoal_rpc *rpc, void *ud)
{
    (void)rpc;
    ++*(int *)ud;
}

/* The shell hears when output waits that no input brought: once per wait, whatever queued it. */
static void the_shell_hears_when_output_begins_to_wait(void)
{
    setup();
    int heard_a = 0, heard_b = 0;
    shoal_rpc_on_output(a.rpc, count_output, &heard_a);
    shoal_rpc_on_output(b.rpc, count_output, &heard_b);
    int32_t id = call(SHOAL_RPC_DUPLEX, "echo", "[]");
    CHECK_EQ_INT(heard_a, 1);
    json_t *one = json_integer(1);
    CHECK_EQ_ERR(shoal_rpc_send_json(a.rpc, id, one), SHOAL_OK); /* it waits already */
    CHECK_EQ_INT(heard_a, 1);
    pump();
    CHECK_EQ_INT(heard_b, 1); /* b's echo, queued while b took a's input */
    /* nothing waits: an item sent from anywhere (a timer, a publish) is told at once */
    CHECK_EQ_ERR(shoal_rpc_send_json(a.rpc, id, one), SHOAL_OK);
    CHECK_EQ_INT(heard_a, 2);
    pump();
    shoal_rpc_goodbye(a.rpc);
    CHECK_EQ_INT(heard_a, 3);
    shoal_rpc_on_output(a.rpc, NULL, NULL);
    json_decref(one);
    teardown();
}

int main(void)
{
    no_args = json_array();
    RUN(an_async_call_is_answered_and_forgotten);
    RUN(errors_and_unknown_methods_take_the_references_shape);
    RUN(a_source_streams_to_its_end_and_both_halves_close);
    RUN(the_caller_can_abort_a_source);
    RUN(a_sink_takes_items_until_the_caller_ends);
    RUN(a_duplex_carries_both_ways_and_each_side_ends_its_half);
    RUN(goodbye_closes_everything_open);
    RUN(the_shell_hears_when_output_begins_to_wait);
    RUN(thousands_of_calls_are_answered_in_any_order);
    RUN(empty_bodies_and_replies_out_of_turn_are_refused);
    RUN(the_manifest_nests_names_by_their_dots);
    RUN(malformed_requests_get_an_error_and_the_session_goes_on);
    RUN(an_oversized_packet_ends_the_session_and_every_call_hears_it);
    RUN(allocation_failure_at_any_step_fails_cleanly);
    json_decref(no_args);
    return harness_finish();
}

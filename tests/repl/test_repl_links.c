/* Replication between two peers, each with its own store, over links wired back to back: the
 * one asking gets the whole feed from its head on, validated, and then, live, what is published
 * after; a history is sent a window at a time, as the peer takes it; progress is told, and how
 * far the peer holds the feed; a peer that sends a message which does not follow has its stream
 * ended and the message refused. Each test runs twice: with the intake checking and storing each
 * batch before its input's dispatch returns, and on the intake's pool of threads, which stores a
 * batch later (shoal_repl_intake_fd). */
#include "harness.h"
#include "shoal/link.h"
#include "shoal/ref.h"
#include "shoal/repl.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct side {
    shoal_link *link;
    shoal_feed_store *store;
    shoal_repl *repl;
    char path[64];
    int64_t progress_head;
    int progress_calls;
    const char *refused;
    int64_t told_head; /* what head_known said, and of which feed */
    uint8_t told_feed[32];
    int told_calls;
    int intake; /* the pool's descriptor, or -1 */
} side;

static side a, b;
static shoal_keypair alice, bob;
static bool pooled; /* the sides' intakes run on their pools */

static void on_progress(shoal_repl *r, shoal_rpc *from, const uint8_t feed[32], int64_t head,
                        void *ud)
{
    (void)r, (void)from, (void)feed;
    side *s = ud;
    s->progress_head = head;
    s->progress_calls++;
}

static void on_refused(shoal_repl *r, shoal_rpc *from, const uint8_t feed[32], const char *reason,
                       void *ud)
{
    (void)r, (void)from, (void)feed;
    ((side *)ud)->refused = reason;
}

static void on_head_known(shoal_repl *r, shoal_rpc *from, const uint8_t feed[32], int64_t head,
                          void *ud)
{
    (void)r, (void)from;
    side *s = ud;
    s->told_head = head;
    memcpy(s->told_feed, feed, 32);
    s->told_calls++;
}

static void open_side(side *s, const shoal_keypair *keys, const uint8_t *dial, const char *name)
{
    *s = (side){0}; /* nothing of the test before */
    snprintf(s->path, sizeof s->path, "/tmp/shoal-repl-%s-%d.db", name, (int)getpid());
    unlink(s->path);
    CHECK_EQ_ERR(shoal_feed_store_open(s->path, &s->store), SHOAL_OK);
    shoal_repl_callbacks cb = {
        .progress = on_progress, .refused = on_refused, .head_known = on_head_known};
    s->repl = shoal_repl_new(s->store, NULL, &cb, s);
    s->intake = pooled ? shoal_repl_intake_fd(s->repl) : -1;
    CHECK(!pooled || s->intake >= 0);
    s->link = shoal_link_new(keys, dial, NULL);
    shoal_link_release(s->link); /* as a shell does when the dialler is silent */
    CHECK_EQ_ERR(shoal_repl_serve(s->repl, shoal_link_rpc(s->link)), SHOAL_OK);
}

static void close_side(side *s)
{
    shoal_repl_forget(s->repl, shoal_link_rpc(s->link));
    shoal_repl_free(s->repl);
    shoal_link_free(s->link);
    shoal_feed_store_close(s->store);
    unlink(s->path);
    char side_file[80];
    snprintf(side_file, sizeof side_file, "%s-wal", s->path);
    unlink(side_file);
    snprintf(side_file, sizeof side_file, "%s-shm", s->path);
    unlink(side_file);
}

/* Moves what `from` has written to the other side, once; returns how many bytes it was. */
static size_t deliver(side *from, side *to)
{
    size_t n;
    const uint8_t *out = shoal_link_output(from->link, &n);
    if (!n)
        return 0;
    uint8_t *copy = malloc(n);
    memcpy(copy, out, n);
    shoal_link_drain(from->link, n);
    for (size_t used = 0; used < n;) {
        long r = shoal_link_input(to->link, copy + used, n - used);
        if (r < 0)
            break;
        used += (size_t)r;
    }
    free(copy);
    return n;
}

/* Waits for a side's pool to have checked a batch it holds, and has it stored; false when it
 * holds none. */
static bool land(side *s)
{
    if (s->intake < 0 || shoal_repl_get_stats(s->repl)->intake_waiting == 0)
        return false;
    struct pollfd p = {.fd = s->intake, .events = POLLIN};
    CHECK_EQ_INT(poll(&p, 1, 10000), 1);
    shoal_repl_intake_ready(s->repl);
    return true;
}

static void pump(void)
{
    for (int round = 0; round < 100000; round++) {
        if (deliver(&a, &b) + deliver(&b, &a) > 0 || land(&a) || land(&b))
            continue;
        /* both sides took everything: as a shell, say so; handlers send their next window */
        shoal_rpc_writable(shoal_link_rpc(a.link));
        shoal_rpc_writable(shoal_link_rpc(b.link));
        size_t na, nb;
        shoal_link_output(a.link, &na);
        shoal_link_output(b.link, &nb);
        if (!na && !nb)
            return;
    }
}

static void publish(side *s, const shoal_keypair *keys, int n)
{
    for (int i = 0; i < n; i++) {
        char content[64];
        int len = snprintf(content, sizeof content, "{\"type\":\"post\",\"text\":\"%d\"}", i);
        shoal_msg_info info;
        CHECK_EQ_ERR(shoal_repl_publish(s->repl, keys, 1700000000000.0 + i, content, (size_t)len,
                                        &info, NULL),
                     SHOAL_OK);
    }
}

static int64_t head_of(side *s, const shoal_keypair *keys)
{
    shoal_feed_state head;
    CHECK_EQ_ERR(shoal_feed_store_head(s->store, keys->pub, &head), SHOAL_OK);
    return head.sequence;
}

static void a_whole_feed_and_then_live_messages_arrive(void)
{
    open_side(&a, &alice, bob.pub, "a"); /* alice dials bob */
    open_side(&b, &bob, NULL, "b");
    publish(&a, &alice, 1000);
    pump(); /* the handshake */
    CHECK_EQ_ERR(shoal_repl_request(b.repl, shoal_link_rpc(b.link), alice.pub, true), SHOAL_OK);
    pump();
    CHECK_EQ_INT(head_of(&b, &alice), 1000);
    CHECK_EQ_INT(b.progress_head, 1000);
    CHECK(b.progress_calls >= 1 && b.progress_calls < 1000); /* told per batch */
    publish(&a, &alice, 5);                                  /* live: they follow */
    pump();
    CHECK_EQ_INT(head_of(&b, &alice), 1005);
    /* asking again starts from the head: nothing comes twice */
    CHECK_EQ_ERR(shoal_repl_request(b.repl, shoal_link_rpc(b.link), alice.pub, false), SHOAL_OK);
    int before = b.progress_calls;
    pump();
    CHECK_EQ_INT(b.progress_calls, before);
    CHECK(b.refused == NULL);
    close_side(&a);
    close_side(&b);
}

/* Two live streams of one feed (as from two peers): each message is stored once, the copy that
 * comes second is dropped quietly, and both streams stay open. */
static void two_streams_of_one_feed_store_each_message_once(void)
{
    open_side(&a, &alice, bob.pub, "a");
    open_side(&b, &bob, NULL, "b");
    publish(&a, &alice, 30);
    pump();
    for (int k = 0; k < 2; k++)
        CHECK_EQ_ERR(shoal_repl_request(b.repl, shoal_link_rpc(b.link), alice.pub, true), SHOAL_OK);
    pump();
    publish(&a, &alice, 20); /* both live streams bring each of these */
    pump();
    CHECK_EQ_INT(head_of(&b, &alice), 50);
    CHECK(b.refused == NULL);
    CHECK_EQ_INT(shoal_rpc_open_calls(shoal_link_rpc(b.link)), 2);
    close_side(&a);
    close_side(&b);
}

/* A peer holds our own feed (we lost it, say): what it sent us is stored before we publish on it,
 * even while its batch is still being checked on the pool, so our feed never forks. */
static void our_own_feed_received_comes_before_what_we_publish(void)
{
    open_side(&a, &alice, bob.pub, "a");
    open_side(&b, &bob, NULL, "b");
    publish(&a, &bob, 10);
    pump();
    CHECK_EQ_ERR(shoal_repl_request(b.repl, shoal_link_rpc(b.link), bob.pub, true), SHOAL_OK);
    CHECK(deliver(&b, &a) > 0); /* the request (live: the stream stays open) */
    CHECK(deliver(&a, &b) > 0); /* the ten, in one window: handed over, not yet stored */
    CHECK_EQ_INT(shoal_repl_get_stats(b.repl)->intake_waiting, pooled ? 1 : 0);
    publish(&b, &bob, 1);
    CHECK_EQ_INT(head_of(&b, &bob), 11);
    pump();
    CHECK_EQ_INT(head_of(&b, &bob), 11);
    CHECK(b.refused == NULL);
    close_side(&a);
    close_side(&b);
}

/* A source of one message that is not the next one of alice's feed. */
static void liar(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req, void *ud)
{
    (void)req;
    const char *item = ud;
    (void)!shoal_rpc_send(rpc, id,
                          &(shoal_rpc_body){SHOAL_RPC_JSON, (const uint8_t *)item, strlen(item)});
}

static void a_message_that_does_not_follow_is_refused(void)
{
    open_side(&a, &alice, bob.pub, "a");
    open_side(&b, &bob, NULL, "b");
    static const char *item = "{\"key\":\"%x\",\"value\":{\"previous\":null,\"author\":\"@x\"}}";
    CHECK_EQ_ERR(shoal_rpc_register(shoal_link_rpc(a.link), "createHistoryStream", SHOAL_RPC_SOURCE,
                                    liar, (void *)item),
                 SHOAL_OK);
    pump();
    CHECK_EQ_ERR(shoal_repl_request(b.repl, shoal_link_rpc(b.link), alice.pub, true), SHOAL_OK);
    pump();
    CHECK(b.refused != NULL);
    CHECK_EQ_INT(shoal_repl_get_stats(b.repl)->messages_refused, 1);
    CHECK_EQ_INT(head_of(&b, &alice), 0);
    close_side(&a);
    close_side(&b);
}

/* A createHistoryStream that serves the store honestly, except that after bob's third message
 * it slips in alice's first: a valid message, but not of the feed asked for. */
typedef struct serving {
    shoal_rpc *rpc;
    int32_t id;
    bool bob;
    const char *intruder;
} serving;

static void send_item(serving *sv, const char *text, size_t len)
{
    char *item = malloc(len + 32);
    int n = snprintf(item, len + 32, "{\"key\":\"%%x\",\"value\":%.*s}", (int)len, text);
    CHECK_EQ_ERR(
        shoal_rpc_send(sv->rpc, sv->id,
                       &(shoal_rpc_body){SHOAL_RPC_JSON, (const uint8_t *)item, (size_t)n}),
        SHOAL_OK);
    free(item);
}

static bool serve_stored(const char *text, size_t len, int64_t sequence, const uint8_t id[32],
                         int64_t received, void *ud)
{
    (void)id, (void)received;
    serving *sv = ud;
    send_item(sv, text, len);
    if (sv->bob && sequence == 3)
        send_item(sv, sv->intruder, strlen(sv->intruder));
    return true;
}

static bool keep_text(const char *text, size_t len, int64_t sequence, const uint8_t id[32],
                      int64_t received, void *ud)
{
    (void)sequence, (void)id, (void)received;
    *(char **)ud = strndup(text, len);
    return false;
}

static void mixed(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req, void *ud)
{
    (void)ud;
    const char *feed = json_string_value(json_object_get(json_array_get(req->args, 0), "id"));
    shoal_ref ref;
    CHECK_EQ_ERR(shoal_ref_parse(&ref, feed, strlen(feed), NULL), SHOAL_OK);
    char *intruder = NULL;
    CHECK_EQ_ERR(shoal_feed_store_history(a.store, alice.pub, 1, 1, keep_text, &intruder),
                 SHOAL_OK);
    serving sv = {rpc, id, memcmp(ref.key, bob.pub, 32) == 0, intruder};
    CHECK_EQ_ERR(shoal_feed_store_history(a.store, ref.key, 1, 0, serve_stored, &sv), SHOAL_OK);
    CHECK_EQ_ERR(shoal_rpc_end(rpc, id), SHOAL_OK);
    free(intruder);
}

/* Two streams' messages arrive together, batched: the one of another feed ends bob's stream
 * (what came before it stays, what came after goes) and is not stored as alice's either, and
 * alice's stream loses nothing. */
static void one_bad_stream_costs_the_others_nothing(void)
{
    open_side(&a, &alice, bob.pub, "a");
    open_side(&b, &bob, NULL, "b");
    publish(&a, &alice, 40);
    publish(&a, &bob, 10);
    CHECK_EQ_ERR(shoal_rpc_register(shoal_link_rpc(a.link), "createHistoryStream", SHOAL_RPC_SOURCE,
                                    mixed, NULL),
                 SHOAL_OK);
    pump();
    CHECK_EQ_ERR(shoal_repl_request(b.repl, shoal_link_rpc(b.link), bob.pub, false), SHOAL_OK);
    CHECK_EQ_ERR(shoal_repl_request(b.repl, shoal_link_rpc(b.link), alice.pub, false), SHOAL_OK);
    pump();
    CHECK_EQ_INT(head_of(&b, &bob), 3);
    CHECK_EQ_INT(head_of(&b, &alice), 40);
    CHECK(b.refused != NULL);
    close_side(&a);
    close_side(&b);
}

static int items;

static void count_items(shoal_rpc *rpc, int32_t id, shoal_rpc_event ev, const shoal_rpc_body *body,
                        void *ud)
{
    (void)rpc, (void)id, (void)body, (void)ud;
    items += ev == SHOAL_RPC_DATA;
}

static void odd_arguments_get_sane_answers(void)
{
    open_side(&a, &alice, bob.pub, "a");
    open_side(&b, &bob, NULL, "b");
    publish(&a, &alice, 5);
    pump();
    char feed[SHOAL_REF_STRSIZE];
    shoal_ref ref = {.kind = SHOAL_REF_FEED};
    memcpy(ref.key, alice.pub, 32);
    shoal_ref_format(&ref, feed);
    static const char *const args[] = {
        "[{\"id\":\"%s\",\"seq\":1e300}]", "[{\"id\":\"%s\",\"seq\":-5,\"limit\":2}]",
        "[{\"id\":\"%s\",\"limit\":1e300,\"keys\":false}]", "[{\"id\":\"not a feed%s\"}]"};
    static const int expected[] = {0, 2, 5, 0};
    for (size_t i = 0; i < 4; i++) {
        char text[256];
        snprintf(text, sizeof text, args[i], feed);
        json_t *j = json_loads(text, 0, NULL);
        int32_t id;
        items = 0;
        CHECK_EQ_ERR(shoal_rpc_call(shoal_link_rpc(b.link), SHOAL_RPC_SOURCE, "createHistoryStream",
                                    j, count_items, NULL, &id),
                     SHOAL_OK);
        json_decref(j);
        pump();
        CHECK_EQ_INT(items, expected[i]);
    }
    close_side(&a);
    close_side(&b);
}

static int answers;
static char answer[128];

static void keep_answer(shoal_rpc *rpc, int32_t id, shoal_rpc_event ev, const shoal_rpc_body *body,
                        void *ud)
{
    (void)rpc, (void)id, (void)ud;
    answers++;
    snprintf(answer, sizeof answer, "%s %.*s", ev == SHOAL_RPC_DATA ? "data" : "error",
             body ? (int)body->len : 0, body ? (const char *)body->data : "");
}

/* Asking for a feed asks how far the peer holds it too (ssb-db's latestSequence), which
 * head_known tells; a feed the peer does not hold tells nothing; a feed followed later is asked
 * of every session once. */
static void a_peer_tells_how_far_it_holds_a_feed(void)
{
    open_side(&a, &alice, bob.pub, "a");
    open_side(&b, &bob, NULL, "b");
    b.told_calls = 0;
    publish(&a, &alice, 7);
    pump();
    CHECK_EQ_ERR(shoal_repl_request(b.repl, shoal_link_rpc(b.link), alice.pub, true), SHOAL_OK);
    pump();
    CHECK_EQ_INT(b.told_calls, 1);
    CHECK_EQ_INT(b.told_head, 7);
    CHECK(memcmp(b.told_feed, alice.pub, 32) == 0);
    CHECK_EQ_ERR(shoal_repl_request(b.repl, shoal_link_rpc(b.link), bob.pub, true), SHOAL_OK);
    pump();
    CHECK_EQ_INT(b.told_calls, 1); /* "not found": nothing told */
    /* alice's feed is asked of every session already: nothing new; carol's is */
    int open = shoal_rpc_open_calls(shoal_link_rpc(b.link));
    CHECK_EQ_ERR(shoal_repl_request_everywhere(b.repl, alice.pub), SHOAL_OK);
    CHECK_EQ_INT(shoal_rpc_open_calls(shoal_link_rpc(b.link)), open);
    uint8_t carol[32] = {7};
    CHECK_EQ_ERR(shoal_repl_request_everywhere(b.repl, carol), SHOAL_OK);
    pump();
    CHECK_EQ_INT(shoal_rpc_open_calls(shoal_link_rpc(b.link)), open + 1);
    /* asked directly, with arguments good and bad */
    char feed[SHOAL_REF_STRSIZE];
    shoal_ref ref = {.kind = SHOAL_REF_FEED};
    memcpy(ref.key, alice.pub, 32);
    shoal_ref_format(&ref, feed);
    static const char *const args[] = {"[\"%s\"]", "[{\"id\":\"%s\"}]", "[]", "[\"@x%s\"]"};
    static const char *const expected[] = {"data 7", "error", "error", "error"};
    for (size_t i = 0; i < 4; i++) {
        char text[256];
        snprintf(text, sizeof text, args[i], feed);
        json_t *j = json_loads(text, 0, NULL);
        int32_t id;
        answers = 0;
        CHECK_EQ_ERR(shoal_rpc_call(shoal_link_rpc(b.link), SHOAL_RPC_ASYNC, "latestSequence", j,
                                    keep_answer, NULL, &id),
                     SHOAL_OK);
        json_decref(j);
        pump();
        CHECK_EQ_INT(answers, 1);
        CHECK(strncmp(answer, expected[i], strlen(expected[i])) == 0);
    }
    CHECK(strstr(answer, "latestSequence needs the id of a feed") != NULL);
    close_side(&a);
    close_side(&b);
}

/* A peer that asks for a long feed and never reads costs a window of it, not the feed: the rest
 * is read from the store only as the peer takes what was sent. */
static void a_history_is_sent_as_it_is_read(void)
{
    open_side(&a, &alice, bob.pub, "a");
    open_side(&b, &bob, NULL, "b");
    publish(&a, &alice, 2000);
    pump();
    CHECK_EQ_ERR(shoal_repl_request(b.repl, shoal_link_rpc(b.link), alice.pub, false), SHOAL_OK);
    deliver(&b, &a); /* the request */
    size_t first = deliver(&a, &b);
    CHECK(first > 0 && first < 128 * 1024); /* a window of 2,000 messages of some 500 bytes */
    CHECK_EQ_INT(deliver(&a, &b), 0);       /* no more until the transport takes it */
    shoal_rpc_writable(shoal_link_rpc(a.link));
    size_t second = deliver(&a, &b);
    CHECK(second > 0 && second < 128 * 1024);
    pump(); /* as the peer reads on: the rest, then the end */
    CHECK_EQ_INT(head_of(&b, &alice), 2000);
    CHECK(b.refused == NULL);
    close_side(&a);
    close_side(&b);
}

static void count_error(shoal_rpc *rpc, int32_t id, shoal_rpc_event ev, const shoal_rpc_body *body,
                        void *ud)
{
    (void)rpc, (void)id, (void)body;
    if (ev == SHOAL_RPC_ERROR)
        ++*(int *)ud;
}

/* Asks b's peer for `n` live streams of `keys`' feed; how many were refused. */
static int ask_live(const shoal_keypair *keys, int n)
{
    int refused = 0;
    char args[160], id[SHOAL_REF_STRSIZE];
    shoal_ref ref = {.kind = SHOAL_REF_FEED};
    memcpy(ref.key, keys->pub, 32);
    shoal_ref_format(&ref, id);
    snprintf(args, sizeof args, "[{\"id\":\"%s\",\"live\":true}]", id);
    for (int i = 0; i < n; i++) {
        json_t *j = json_loads(args, 0, NULL);
        int32_t call;
        CHECK_EQ_ERR(shoal_rpc_call(shoal_link_rpc(b.link), SHOAL_RPC_SOURCE, "createHistoryStream",
                                    j, count_error, &refused, &call),
                     SHOAL_OK);
        json_decref(j);
    }
    pump();
    return refused;
}

/* A peer that opens the same live stream thousands of times gets a few; the rest are refused,
 * and a publish then costs a few streams, not thousands. */
static void streams_of_one_feed_are_bounded(void)
{
    open_side(&a, &alice, bob.pub, "a");
    open_side(&b, &bob, NULL, "b");
    publish(&a, &alice, 1);
    pump();
    CHECK_EQ_INT(ask_live(&alice, 100), 100 - SHOAL_REPL_MAX_SAME_FEED);
    CHECK_EQ_INT(shoal_repl_get_stats(a.repl)->streams_refused, 100 - SHOAL_REPL_MAX_SAME_FEED);
    close_side(&a);
    close_side(&b);
}

/* The bounds are the caller's to set (the daemon's "limits"): 3 streams, 2 of one feed. */
static void the_stream_bounds_are_set_by_the_caller(void)
{
    open_side(&a, &alice, bob.pub, "a");
    open_side(&b, &bob, NULL, "b");
    shoal_repl_set_limits(a.repl, 3, 2);
    pump();
    CHECK_EQ_INT(ask_live(&alice, 3), 1); /* 2 of alice's feed */
    CHECK_EQ_INT(ask_live(&bob, 3), 2);   /* 1 more, of bob's: 3 in all */
    CHECK_EQ_INT(shoal_repl_get_stats(a.repl)->streams_refused, 3);
    close_side(&a);
    close_side(&b);
}

/* A peer asking for many feeds at once gets a turn's worth of windows at a time, not a window
 * of each: what it asks costs us what it reads, however many streams it opens. */
static void many_streams_share_one_turns_budget(void)
{
    open_side(&a, &alice, bob.pub, "a");
    open_side(&b, &bob, NULL, "b");
    enum { FEEDS = 20 };
    shoal_keypair authors[FEEDS];
    for (int f = 0; f < FEEDS; f++) {
        uint8_t seed[32] = {(uint8_t)(100 + f)};
        shoal_keypair_from_seed(&authors[f], seed);
        publish(&a, &authors[f], 200);
    }
    pump();
    for (int f = 0; f < FEEDS; f++)
        CHECK_EQ_ERR(shoal_repl_request(b.repl, shoal_link_rpc(b.link), authors[f].pub, false),
                     SHOAL_OK);
    deliver(&b, &a); /* the twenty requests, in one input */
    size_t first = deliver(&a, &b);
    CHECK(first > 0 && first < 512 * 1024); /* twenty windows would be some 1.3 MB */
    pump();
    for (int f = 0; f < FEEDS; f++)
        CHECK_EQ_INT(head_of(&b, &authors[f]), 200);
    close_side(&a);
    close_side(&b);
}

int main(void)
{
    uint8_t seed[32] = {21};
    shoal_keypair_from_seed(&alice, seed);
    seed[0] = 22;
    shoal_keypair_from_seed(&bob, seed);
    static const struct {
        const char *name;
        void (*fn)(void);
    } cases[] = {
        {"a_whole_feed_and_then_live_messages_arrive", a_whole_feed_and_then_live_messages_arrive},
        {"a_history_is_sent_as_it_is_read", a_history_is_sent_as_it_is_read},
        {"streams_of_one_feed_are_bounded", streams_of_one_feed_are_bounded},
        {"the_stream_bounds_are_set_by_the_caller", the_stream_bounds_are_set_by_the_caller},
        {"many_streams_share_one_turns_budget", many_streams_share_one_turns_budget},
        {"two_streams_of_one_feed_store_each_message_once",
         two_streams_of_one_feed_store_each_message_once},
        {"a_message_that_does_not_follow_is_refused", a_message_that_does_not_follow_is_refused},
        {"our_own_feed_received_comes_before_what_we_publish",
         our_own_feed_received_comes_before_what_we_publish},
        {"one_bad_stream_costs_the_others_nothing", one_bad_stream_costs_the_others_nothing},
        {"odd_arguments_get_sane_answers", odd_arguments_get_sane_answers},
        {"a_peer_tells_how_far_it_holds_a_feed", a_peer_tells_how_far_it_holds_a_feed},
    };
    char name[128];
    for (int pass = 0; pass < 2; pass++) { /* synchronous, then on the pools */
        pooled = pass == 1;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            snprintf(name, sizeof name, "%s%s", cases[i].name, pooled ? ", pooled" : "");
            harness_run(name, cases[i].fn);
        }
    }
    return harness_finish();
}

/* EBT through the replicator, against a peer this test plays by hand over a muxrpc session wired
 * back to back: the peer dials us and calls ebt.replicate; we note first, as the server; it says
 * it holds bob's feed to 5 and we ask it for bob's feed; it sends 1, 3, 2, 4, 5 (3 out of order,
 * as a peer's store may). Then 1 and 2 are stored, 3 to 5 are not, and we ask again from our
 * head (2), not from 3 and not for the whole feed; sent again, 3 to 5 are stored. A message of a
 * feed we do not replicate is never stored, and a forged one tells us nothing. */
#include "harness.h"
#include "shoal/ref.h"
#include "shoal/repl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static shoal_keypair alice, bob, carol;
static shoal_buf msgs[6];  /* bob's 1..5 */
static shoal_buf stranger; /* carol's first, whose feed we do not replicate */
static json_t *heard;      /* what the peer heard on its stream: notes objects */
static int32_t stream;     /* the peer's ebt.replicate */

static void make_feed(const shoal_keypair *k, shoal_buf *out, int n)
{
    shoal_feed_state state = {0};
    for (int i = 0; i < n; i++) {
        char content[64];
        int len = snprintf(content, sizeof content, "{\"type\":\"post\",\"text\":\"%d\"}", i);
        shoal_msg_info info;
        out[i] = (shoal_buf)SHOAL_BUF_INIT;
        CHECK_EQ_ERR(shoal_msg_create(k, &state, 1700000000000.0 + i, content, (size_t)len, NULL,
                                      &out[i], &info, NULL),
                     SHOAL_OK);
        state = (shoal_feed_state){.known = true, .sequence = info.sequence};
        memcpy(state.id, info.id, 32);
    }
}

/* Moves what each side wrote to the other, until both are quiet. */
static void pump(shoal_rpc *x, shoal_rpc *y)
{
    for (bool moved = true; moved;) {
        moved = false;
        shoal_rpc *sides[2][2] = {{x, y}, {y, x}};
        for (int i = 0; i < 2; i++) {
            size_t len;
            const uint8_t *out = shoal_rpc_output(sides[i][0], &len);
            if (!len)
                continue;
            uint8_t *copy = malloc(len);
            memcpy(copy, out, len);
            shoal_rpc_drain(sides[i][0], len);
            CHECK_EQ_ERR(shoal_rpc_input(sides[i][1], copy, len), SHOAL_OK);
            free(copy);
            shoal_rpc_writable(sides[i][0]);
            moved = true;
        }
    }
}

static void on_peer_stream(shoal_rpc *rpc, int32_t id, shoal_rpc_event ev,
                           const shoal_rpc_body *body, void *ud)
{
    (void)rpc, (void)id, (void)ud;
    if (ev == SHOAL_RPC_DATA)
        json_array_append_new(heard, json_loadb((const char *)body->data, body->len, 0, NULL));
}

static const char *id_of(const shoal_keypair *k)
{
    static char text[SHOAL_REF_STRSIZE];
    shoal_ref ref = {.kind = SHOAL_REF_FEED};
    memcpy(ref.key, k->pub, 32);
    shoal_ref_format(&ref, text);
    return text;
}

/* The last note the peer heard for bob's feed, or -2 for none. */
static json_int_t last_note_for_bob(void)
{
    json_int_t note = -2;
    for (size_t i = 0; i < json_array_size(heard); i++) {
        json_t *v = json_object_get(json_array_get(heard, i), id_of(&bob));
        if (json_is_integer(v))
            note = json_integer_value(v);
    }
    return note;
}

static void peer_sends(shoal_rpc *peer, const shoal_buf *m)
{
    CHECK_EQ_ERR(
        shoal_rpc_send(peer, stream,
                       &(shoal_rpc_body){SHOAL_RPC_JSON, (const uint8_t *)m->data, m->len}),
        SHOAL_OK);
}

static int64_t held(shoal_feed_store *st, const shoal_keypair *k)
{
    shoal_feed_state head;
    CHECK_EQ_ERR(shoal_feed_store_head(st, k->pub, &head), SHOAL_OK);
    return head.sequence;
}

static void out_of_order_costs_a_request_from_our_head(void)
{
    shoal_feed_store *st;
    CHECK_EQ_ERR(shoal_feed_store_open(":memory:", &st), SHOAL_OK);
    shoal_repl *r = shoal_repl_new(st, NULL, &(shoal_repl_callbacks){0}, NULL);
    CHECK(r != NULL);
    CHECK_EQ_ERR(shoal_repl_use_ebt(r, alice.pub, NULL), SHOAL_OK);
    CHECK_EQ_ERR(shoal_repl_follow(r, bob.pub, true), SHOAL_OK);
    shoal_rpc *ours = shoal_rpc_new(NULL), *peer = shoal_rpc_new(NULL);
    CHECK_EQ_ERR(shoal_repl_start(r, ours, carol.pub, false), SHOAL_OK);
    heard = json_array();
    json_t *args = json_pack("[{s:i, s:s}]", "version", 3, "format", "classic");
    CHECK_EQ_ERR(shoal_rpc_call(peer, SHOAL_RPC_DUPLEX, "ebt.replicate", args, on_peer_stream, NULL,
                                &stream),
                 SHOAL_OK);
    json_decref(args);
    pump(ours, peer);
    /* the server's notes first: bob's feed, which we hold none of */
    CHECK(json_array_size(heard) >= 1);
    CHECK(last_note_for_bob() >= 0);
    /* the peer holds bob's to 5, and asks for what we hold past it */
    json_t *notes = json_pack("{s:i}", id_of(&bob), 5 << 1);
    CHECK_EQ_ERR(shoal_rpc_send_json(peer, stream, notes), SHOAL_OK);
    json_decref(notes);
    pump(ours, peer);
    CHECK_EQ_INT(last_note_for_bob(), 0); /* even: send us bob's from 1 */
    /* 1, 3, 2, 4, 5 in one go; and one of carol's, whose feed we do not replicate */
    int order[] = {1, 3, 2, 4, 5};
    for (int i = 0; i < 5; i++)
        peer_sends(peer, &msgs[order[i] - 1]);
    peer_sends(peer, &stranger);
    pump(ours, peer);
    CHECK_EQ_INT(held(st, &bob), 2);
    CHECK_EQ_INT(held(st, &carol), 0);
    CHECK_EQ_INT(last_note_for_bob(), 2 << 1); /* asked again from our head, 2 */
    /* a forgery (bob's 3, the next, with another signature) tells nothing: the peer is not
     * taken for one that sent a bad next message, nothing is stored */
    size_t notes_before = json_array_size(heard);
    shoal_buf forged = SHOAL_BUF_INIT;
    shoal_buf_append(&forged, msgs[2].data, msgs[2].len);
    char *sig = strstr(forged.data, "\"signature\": \"") + 14;
    *sig = *sig == 'A' ? 'B' : 'A';
    peer_sends(peer, &forged);
    shoal_buf_free(&forged);
    pump(ours, peer);
    CHECK_EQ_INT(held(st, &bob), 2);
    CHECK_EQ_INT(json_array_size(heard), notes_before);
    for (int seq = 3; seq <= 5; seq++)
        peer_sends(peer, &msgs[seq - 1]);
    pump(ours, peer);
    CHECK_EQ_INT(held(st, &bob), 5);
    CHECK(shoal_repl_get_stats(r)->messages_refused >= 1);
    CHECK_EQ_INT(shoal_repl_get_stats(r)->ebt_sessions, 1);
    shoal_repl_forget(r, ours);
    shoal_rpc_free(ours);
    shoal_rpc_free(peer);
    shoal_repl_free(r);
    shoal_feed_store_close(st);
    json_decref(heard);
}

int main(void)
{
    uint8_t seed[32] = {1};
    shoal_keypair_from_seed(&alice, seed);
    seed[0] = 2;
    shoal_keypair_from_seed(&bob, seed);
    seed[0] = 3;
    shoal_keypair_from_seed(&carol, seed);
    make_feed(&bob, msgs, 5);
    make_feed(&carol, &stranger, 1);
    RUN(out_of_order_costs_a_request_from_our_head);
    for (int i = 0; i < 5; i++)
        shoal_buf_free(&msgs[i]);
    shoal_buf_free(&stranger);
    return harness_finish();
}

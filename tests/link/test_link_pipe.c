/* Two links back to back through a pipe that delivers bytes in pieces of any size: handshake,
 * calls queued before it completes, large streams, goodbye, and every way the other end can
 * fail (another key dialled, a cut stream, a tampered frame). */
#include "harness.h"
#include "shoal/link.h"

#include <stdlib.h>
#include <string.h>

static shoal_keypair alice, bob, carol;

typedef struct pair {
    shoal_link *client, *server;
    size_t step; /* bytes delivered per read */
    int client_rc, server_rc;
    bool server_saw_remote; /* the server knew the client before any RPC packet */
    size_t received;        /* bytes of stream items the client got */
    bool ended;
} pair;

static pair P;

/* Feeds `len` bytes to `link` in pieces, as a shell would. */
static int deliver(shoal_link *link, const uint8_t *in, size_t len)
{
    size_t used = 0;
    while (used < len) {
        size_t n = len - used < P.step ? len - used : P.step;
        bool was = shoal_link_established(link);
        long rc = shoal_link_input(link, in + used, n);
        if (rc < 0)
            return (int)rc;
        if (!was && shoal_link_established(link) && link == P.server)
            P.server_saw_remote = memcmp(shoal_link_remote(link), alice.pub, 32) == 0 &&
                                  shoal_rpc_open_calls(shoal_link_rpc(link)) == 0;
        used += (size_t)rc;
    }
    return SHOAL_OK;
}

static void pump(void)
{
    for (int round = 0; round < 10000; round++) {
        size_t nc, ns;
        const uint8_t *oc = shoal_link_output(P.client, &nc);
        uint8_t *copy = nc ? malloc(nc) : NULL;
        if (nc) {
            memcpy(copy, oc, nc);
            shoal_link_drain(P.client, nc);
            if (P.server_rc == SHOAL_OK)
                P.server_rc = deliver(P.server, copy, nc);
            free(copy);
        }
        const uint8_t *os = shoal_link_output(P.server, &ns);
        if (ns) {
            copy = malloc(ns);
            memcpy(copy, os, ns);
            shoal_link_drain(P.server, ns);
            if (P.client_rc == SHOAL_OK)
                P.client_rc = deliver(P.client, copy, ns);
            free(copy);
        }
        if (nc == 0 && ns == 0)
            return;
    }
    CHECK(!"the links never went quiet");
}

static void on_item(shoal_rpc *rpc, int32_t id, shoal_rpc_event ev, const shoal_rpc_body *body,
                    void *ud)
{
    (void)rpc, (void)id, (void)ud;
    if (ev == SHOAL_RPC_DATA)
        P.received += body->len;
    P.ended |= ev == SHOAL_RPC_END;
}

/* A source of `args[0]` items of 3,000 bytes each. */
static void blocks(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req, void *ud)
{
    (void)ud;
    static uint8_t block[3000];
    json_int_t n = json_integer_value(json_array_get(req->args, 0));
    for (json_int_t i = 0; i < n; i++)
        CHECK_EQ_ERR(
            shoal_rpc_send(rpc, id, &(shoal_rpc_body){SHOAL_RPC_BINARY, block, sizeof block}),
            SHOAL_OK);
    CHECK_EQ_ERR(shoal_rpc_end(rpc, id), SHOAL_OK);
}

static void start(const uint8_t *dialled, size_t step)
{
    P = (pair){.client = shoal_link_new(&alice, dialled, NULL),
               .server = shoal_link_new(&bob, NULL, NULL),
               .step = step};
    CHECK_EQ_ERR(
        shoal_rpc_register(shoal_link_rpc(P.server), "blocks", SHOAL_RPC_SOURCE, blocks, NULL),
        SHOAL_OK);
}

static void stop(void)
{
    shoal_link_free(P.client);
    shoal_link_free(P.server);
}

static void a_call_made_before_the_handshake_is_answered_after_it(void)
{
    static const size_t steps[] = {1, 5, 64, 113, 4130, 1 << 20};
    for (size_t s = 0; s < sizeof steps / sizeof *steps; s++) {
        start(bob.pub, steps[s]);
        json_t *args = json_pack("[i]", 400); /* 1.2 MB: many box-stream frames */
        int32_t id;
        CHECK_EQ_ERR(shoal_rpc_call(shoal_link_rpc(P.client), SHOAL_RPC_SOURCE, "blocks", args,
                                    on_item, NULL, &id),
                     SHOAL_OK);
        json_decref(args);
        pump();
        CHECK_EQ_ERR(P.client_rc, SHOAL_OK);
        CHECK_EQ_ERR(P.server_rc, SHOAL_OK);
        CHECK(P.server_saw_remote);
        CHECK_EQ_MEM(shoal_link_remote(P.client), 32, bob.pub, 32);
        CHECK_EQ_INT(P.received, 400 * 3000);
        CHECK(P.ended);
        stop();
    }
}

/* The server's own calls wait for the client's first words (or the shell's release), so that a
 * reference client reads none of them together with the handshake's last message. */
static void the_server_calls_once_the_client_has_spoken_or_is_released(void)
{
    for (int released = 0; released < 2; released++) {
        start(bob.pub, 1 << 20);
        CHECK_EQ_ERR(
            shoal_rpc_register(shoal_link_rpc(P.client), "blocks", SHOAL_RPC_SOURCE, blocks, NULL),
            SHOAL_OK);
        json_t *args = json_pack("[i]", 1);
        int32_t id;
        CHECK_EQ_ERR(shoal_rpc_call(shoal_link_rpc(P.server), SHOAL_RPC_SOURCE, "blocks", args,
                                    NULL, NULL, &id),
                     SHOAL_OK);
        pump();
        CHECK(shoal_link_established(P.client) && shoal_link_established(P.server));
        size_t held;
        CHECK(shoal_link_output(P.server, &held) == NULL); /* nothing after the handshake */
        CHECK_EQ_INT(shoal_rpc_open_calls(shoal_link_rpc(P.client)), 0);
        if (released) {
            shoal_link_release(P.server);
        } else {
            CHECK_EQ_ERR(shoal_rpc_call(shoal_link_rpc(P.client), SHOAL_RPC_SOURCE, "blocks", args,
                                        on_item, NULL, &id),
                         SHOAL_OK);
        }
        json_decref(args);
        pump();
        CHECK_EQ_ERR(P.client_rc, SHOAL_OK);
        CHECK_EQ_ERR(P.server_rc, SHOAL_OK);
        CHECK_EQ_INT(P.received, released ? 0 : 3000); /* the client's own call was answered */
        CHECK(released || P.ended);
        /* the server's call reached the client, which answered it and ended it */
        CHECK_EQ_INT(shoal_rpc_open_calls(shoal_link_rpc(P.server)), 0);
        stop();
    }
}

static void goodbye_finishes_both_sides_cleanly(void)
{
    start(bob.pub, 100);
    pump();
    CHECK(!shoal_link_finished(P.client));
    shoal_link_close(P.client);
    pump();
    CHECK(shoal_link_finished(P.client));
    CHECK(shoal_link_finished(P.server));
    CHECK_EQ_ERR(shoal_link_eof(P.client), SHOAL_OK);
    CHECK_EQ_ERR(shoal_link_eof(P.server), SHOAL_OK);
    stop();
}

static void a_stream_cut_anywhere_is_reported(void)
{
    start(bob.pub, 100);
    CHECK_EQ_ERR(shoal_link_eof(P.server), SHOAL_E_SHS_TRUNCATED); /* before any handshake */
    stop();
    start(bob.pub, 100);
    pump();
    CHECK_EQ_ERR(shoal_link_eof(P.server), SHOAL_E_BOXS_CUT); /* after it, without goodbye */
    CHECK_EQ_ERR(shoal_link_status(P.server), SHOAL_E_BOXS_CUT);
    stop();
}

static void dialling_the_wrong_key_fails_on_both_ends(void)
{
    start(carol.pub, 100);
    pump();
    CHECK_EQ_ERR(P.server_rc, SHOAL_E_SHS_AUTH);
    CHECK(!shoal_link_established(P.client));
    CHECK_EQ_ERR(shoal_link_eof(P.client), SHOAL_E_SHS_TRUNCATED); /* the server hung up */
    stop();
}

static void a_tampered_frame_fails_the_link(void)
{
    start(bob.pub, 1 << 20);
    pump();
    int32_t id;
    json_t *args = json_pack("[i]", 1);
    CHECK_EQ_ERR(shoal_rpc_call(shoal_link_rpc(P.client), SHOAL_RPC_SOURCE, "blocks", args, on_item,
                                NULL, &id),
                 SHOAL_OK);
    json_decref(args);
    size_t n;
    const uint8_t *out = shoal_link_output(P.client, &n);
    uint8_t *copy = malloc(n);
    memcpy(copy, out, n);
    copy[n / 2] ^= 4;
    shoal_link_drain(P.client, n);
    CHECK_EQ_ERR((int)shoal_link_input(P.server, copy, n), SHOAL_E_BOXS_MAC);
    CHECK_EQ_ERR((int)shoal_link_input(P.server, copy, 1), SHOAL_E_BOXS_MAC);
    free(copy);
    stop();
}

int main(void)
{
    uint8_t seed[32] = {1};
    shoal_keypair_from_seed(&alice, seed);
    seed[0] = 2;
    shoal_keypair_from_seed(&bob, seed);
    seed[0] = 3;
    shoal_keypair_from_seed(&carol, seed);
    RUN(a_call_made_before_the_handshake_is_answered_after_it);
    RUN(the_server_calls_once_the_client_has_spoken_or_is_released);
    RUN(goodbye_finishes_both_sides_cleanly);
    RUN(a_stream_cut_anywhere_is_reported);
    RUN(dialling_the_wrong_key_fails_on_both_ends);
    RUN(a_tampered_frame_fails_the_link);
    return harness_finish();
}

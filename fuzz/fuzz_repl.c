/* libFuzzer target for replication: the bytes a peer sends (muxrpc packets, split as the first
 * byte says) reach a session on which we serve createHistoryStream and EBT from a store holding
 * three messages of alice's feed (ours), following bob's. The session began as one we dialled or
 * not (the first byte says): dialled, our manifest call is the peer's to answer (request 1), then
 * we call ebt.replicate (request 2); else the peer calls it, or createHistoryStream; a peer that
 * replicates the old way is asked for alice's feed (from 4, live) and bob's (from 1). So its
 * requests, with whatever arguments, and its answers, notes and items, are all taken. Then alice
 * publishes once more, for the live streams. The oracle: the store never holds anything but valid
 * chains (every feed a run of valid messages from 1 to its head) of the two feeds, and everything
 * is freed. */
#include "shoal/repl.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static shoal_keypair alice, bob;

static void publish(shoal_repl *r, int64_t sequence)
{
    char content[64];
    size_t len = (size_t)snprintf(content, sizeof content, "{\"type\":\"post\",\"text\":\"%lld\"}",
                                  (long long)sequence);
    shoal_msg_info info;
    if (shoal_repl_publish(r, &alice, 1700000000000.0 + (double)sequence, content, len, &info,
                           NULL) != SHOAL_OK)
        abort();
}

typedef struct chain {
    shoal_feed_state state;
} chain;

static bool follows(const char *text, size_t len, int64_t sequence, const uint8_t id[32],
                    int64_t received, void *ud)
{
    (void)received;
    chain *c = ud;
    shoal_msg_info info;
    if (sequence != c->state.sequence + 1 ||
        shoal_msg_validate(text, len, &c->state, NULL, &info, NULL) != SHOAL_OK ||
        memcmp(info.id, id, 32) != 0)
        abort();
    c->state = (shoal_feed_state){.known = true, .sequence = sequence};
    memcpy(c->state.id, id, 32);
    return true;
}

/* Every feed is a valid chain from 1 to its head. */
static void check_chain(shoal_feed_store *st, const uint8_t author[32])
{
    chain c = {{0}};
    shoal_feed_state head;
    if (shoal_feed_store_history(st, author, 1, 0, follows, &c) != SHOAL_OK ||
        shoal_feed_store_head(st, author, &head) != SHOAL_OK || head.sequence != c.state.sequence)
        abort();
}

static bool only_ours(const uint8_t author[32], int64_t sequence, void *ud)
{
    (void)sequence, (void)ud;
    if (memcmp(author, alice.pub, 32) != 0 && memcmp(author, bob.pub, 32) != 0)
        abort();
    return true;
}

static void legacy(shoal_repl *r, shoal_rpc *rpc, const uint8_t remote[32], void *ud)
{
    (void)remote, (void)ud; /* the peer may have used up the session's calls: then not asked */
    (void)!shoal_repl_request(r, rpc, alice.pub, true);
    (void)!shoal_repl_request(r, rpc, bob.pub, false);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size == 0)
        return 0;
    static bool keyed;
    if (!keyed) {
        keyed = true;
        uint8_t seed[32] = {21};
        shoal_keypair_from_seed(&alice, seed);
        seed[0] = 22;
        shoal_keypair_from_seed(&bob, seed);
    }
    shoal_feed_store *st;
    if (shoal_feed_store_open(":memory:", &st) != SHOAL_OK)
        abort();
    shoal_repl *r = shoal_repl_new(st, NULL, &(shoal_repl_callbacks){.legacy = legacy}, NULL);
    shoal_rpc *rpc = shoal_rpc_new(&(shoal_rpc_config){.max_body = 1 << 16, .max_calls = 64});
    if (!r || !rpc)
        abort();
    for (int64_t s = 1; s <= 3; s++)
        publish(r, s);
    if (shoal_repl_use_ebt(r, alice.pub, NULL) != SHOAL_OK ||
        shoal_repl_follow(r, bob.pub, true) != SHOAL_OK ||
        shoal_repl_start(r, rpc, bob.pub, data[0] & 0x80) != SHOAL_OK)
        abort();
    size_t step = 1 + (data[0] & 0x7f) % 97;
    for (size_t at = 1; at < size; at += step) {
        size_t n = size - at < step ? size - at : step;
        int rc = shoal_rpc_input(rpc, data + at, n);
        size_t pending;
        shoal_rpc_output(rpc, &pending);
        shoal_rpc_drain(rpc, pending);
        if (rc != SHOAL_OK)
            break;
    }
    shoal_feed_state head;
    if (shoal_feed_store_head(st, alice.pub, &head) != SHOAL_OK)
        abort();
    publish(r, head.sequence + 1);
    check_chain(st, alice.pub);
    check_chain(st, bob.pub);
    if (shoal_feed_store_feeds(st, only_ours, NULL) != SHOAL_OK)
        abort();
    shoal_repl_forget(r, rpc);
    shoal_rpc_free(rpc);
    shoal_repl_free(r);
    shoal_feed_store_close(st);
    return 0;
}

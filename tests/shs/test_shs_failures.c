/* Every way a handshake can go wrong fails cleanly, with its own error, on the side that can
 * tell: another network, a client that dialled another key, a truncated or garbled message at
 * each of the four steps, an unusable ephemeral key, calls out of turn. A failed state keeps its
 * error and holds no secrets. */
#include "harness.h"
#include "shoal/shs.h"

#include <sodium.h>
#include <string.h>

static shoal_keypair alice, bob, carol;
static uint8_t other_network[32];

/* Which message to damage and how. */
typedef struct damage {
    int message; /* 1..4, or 0 for none */
    size_t byte; /* flipped */
    size_t short_by;
} damage;

typedef struct result {
    int client_rc, server_rc; /* the first error each side saw */
    int failed_at;            /* the message whose input failed, or 0 */
} result;

/* Runs a handshake between a client with `client_keys` dialling `dialled` on `client_net` and a
 * server with `server_keys` on the main network, damaging one message on the way. */
static result handshake(const uint8_t *client_net, const shoal_keypair *client_keys,
                        const shoal_keypair *server_keys, const uint8_t *dialled, damage d)
{
    shoal_shs c, s;
    shoal_shs_client_init(&c, client_net, client_keys, dialled, NULL);
    shoal_shs_server_init(&s, shoal_shs_main_network, server_keys, NULL);
    uint8_t msg[SHOAL_SHS_MAX_MESSAGE], reply[SHOAL_SHS_MAX_MESSAGE];
    size_t len, ignored;
    result r = {SHOAL_OK, SHOAL_OK, 0};
    CHECK_EQ_ERR(shoal_shs_start(&s, msg, &ignored), SHOAL_OK);
    CHECK_EQ_ERR(shoal_shs_start(&c, msg, &len), SHOAL_OK);
    shoal_shs *receiver[] = {&s, &c, &s, &c};
    for (int i = 0; i < 4; i++) {
        if (d.message == i + 1) {
            msg[d.byte % len] ^= 0x20;
            len -= d.short_by;
        }
        int rc = shoal_shs_input(receiver[i], msg, len, reply, &len);
        if (rc != SHOAL_OK) {
            *(receiver[i] == &c ? &r.client_rc : &r.server_rc) = rc;
            r.failed_at = i + 1;
            CHECK_EQ_INT(len, 0);
            /* the error sticks, and the state holds no secret */
            CHECK_EQ_ERR(shoal_shs_input(receiver[i], msg, 64, reply, &len), rc);
            static const uint8_t zeros[64];
            CHECK_EQ_MEM(receiver[i]->local_sec, 64, zeros, 64);
            CHECK_EQ_MEM(receiver[i]->eph_sec, 32, zeros, 32);
            shoal_shs_outcome out;
            CHECK_EQ_ERR(shoal_shs_take_outcome(receiver[i], &out), rc);
            break;
        }
        memcpy(msg, reply, len);
    }
    shoal_shs_wipe(&c);
    shoal_shs_wipe(&s);
    return r;
}

static void another_network_is_refused_at_the_first_hello(void)
{
    result r = handshake(other_network, &alice, &bob, bob.pub, (damage){0});
    CHECK_EQ_INT(r.failed_at, 1);
    CHECK_EQ_ERR(r.server_rc, SHOAL_E_SHS_NETWORK);
}

static void dialling_another_key_fails_the_auth(void)
{
    /* alice believes she is dialling carol, but bob answers */
    result r = handshake(shoal_shs_main_network, &alice, &bob, carol.pub, (damage){0});
    CHECK_EQ_INT(r.failed_at, 3);
    CHECK_EQ_ERR(r.server_rc, SHOAL_E_SHS_AUTH);
}

static void a_garbled_byte_anywhere_fails_its_message(void)
{
    static const int expected[] = {SHOAL_E_SHS_NETWORK, SHOAL_E_SHS_NETWORK, SHOAL_E_SHS_AUTH,
                                   SHOAL_E_SHS_ACCEPT};
    static const size_t sizes[] = {64, 64, 112, 80};
    for (int m = 1; m <= 4; m++)
        for (size_t b = 0; b < sizes[m - 1]; b++) {
            result r = handshake(shoal_shs_main_network, &alice, &bob, bob.pub, (damage){m, b, 0});
            if (!CHECK_EQ_INT(r.failed_at, m) ||
                !CHECK_EQ_ERR(m % 2 ? r.server_rc : r.client_rc, expected[m - 1])) {
                fprintf(stderr, "  message %d, byte %zu\n", m, b);
                return;
            }
        }
}

static void a_truncated_message_fails_at_any_step(void)
{
    for (int m = 1; m <= 4; m++) {
        result r = handshake(shoal_shs_main_network, &alice, &bob, bob.pub, (damage){m, 0, 1});
        CHECK_EQ_INT(r.failed_at, m);
        CHECK_EQ_ERR(m % 2 ? r.server_rc : r.client_rc, SHOAL_E_SHS_TRUNCATED);
    }
}

static void a_low_order_ephemeral_key_is_refused(void)
{
    /* a hello with a valid HMAC over the all-zero point, whose product with anything is zero */
    uint8_t hello[64] = {0}, reply[SHOAL_SHS_MAX_MESSAGE];
    size_t len;
    crypto_auth(hello, hello + 32, 32, shoal_shs_main_network);
    shoal_shs s;
    shoal_shs_server_init(&s, shoal_shs_main_network, &bob, NULL);
    CHECK_EQ_ERR(shoal_shs_start(&s, reply, &len), SHOAL_OK);
    CHECK_EQ_ERR(shoal_shs_input(&s, hello, 64, reply, &len), SHOAL_E_SHS_KEY);
    CHECK_EQ_INT(len, 0);
}

static void calls_out_of_turn_are_refused(void)
{
    shoal_shs c;
    uint8_t msg[SHOAL_SHS_MAX_MESSAGE];
    size_t len;
    shoal_shs_outcome out;
    shoal_shs_client_init(&c, shoal_shs_main_network, &alice, bob.pub, NULL);
    CHECK_EQ_INT(shoal_shs_expect(&c), 0); /* nothing to read before the hello is sent */
    CHECK_EQ_ERR(shoal_shs_input(&c, msg, 64, msg, &len), SHOAL_E_INVAL);
    CHECK_EQ_ERR(shoal_shs_take_outcome(&c, &out), SHOAL_E_INVAL);
    CHECK_EQ_ERR(shoal_shs_start(&c, msg, &len), SHOAL_OK);
    CHECK_EQ_ERR(shoal_shs_start(&c, msg, &len), SHOAL_E_INVAL);
    CHECK_EQ_ERR(shoal_shs_take_outcome(&c, &out), SHOAL_E_INVAL);
    shoal_shs_wipe(&c);
}

/* Runs a prepared client and server through the four messages; both must succeed. */
static void exchange(shoal_shs *c, shoal_shs *s, shoal_shs_outcome *co, shoal_shs_outcome *so)
{
    uint8_t msg[SHOAL_SHS_MAX_MESSAGE], reply[SHOAL_SHS_MAX_MESSAGE];
    size_t len, n;
    CHECK_EQ_ERR(shoal_shs_start(s, msg, &n), SHOAL_OK);
    CHECK_EQ_ERR(shoal_shs_start(c, msg, &len), SHOAL_OK);
    shoal_shs *turn[] = {s, c, s, c};
    for (int t = 0; t < 4; t++) {
        CHECK_EQ_ERR(shoal_shs_input(turn[t], msg, len, reply, &len), SHOAL_OK);
        memcpy(msg, reply, len);
    }
    CHECK_EQ_ERR(shoal_shs_take_outcome(c, co), SHOAL_OK);
    CHECK_EQ_ERR(shoal_shs_take_outcome(s, so), SHOAL_OK);
}

static void fresh_identities_always_agree(void)
{
    for (int i = 0; i < 50; i++) {
        shoal_keypair a, b;
        shoal_keypair_generate(&a);
        shoal_keypair_generate(&b);
        shoal_shs c, s;
        shoal_shs_client_init(&c, shoal_shs_main_network, &a, b.pub, NULL);
        shoal_shs_server_init(&s, shoal_shs_main_network, &b, NULL);
        shoal_shs_outcome co, so;
        exchange(&c, &s, &co, &so);
        CHECK_EQ_MEM(co.encrypt_key, 32, so.decrypt_key, 32);
        CHECK_EQ_MEM(co.decrypt_nonce, 24, so.encrypt_nonce, 24);
        CHECK_EQ_MEM(so.remote_pub, 32, a.pub, 32);
    }
}

static void a_peer_met_before_costs_less_and_agrees_the_same(void)
{
    static shoal_shs_keycache cache;
    shoal_shs_outcome first = {0};
    for (int round = 0; round < 3; round++) {
        static const uint8_t ceph[32] = {5}, seph[32] = {6};
        shoal_shs c, s;
        shoal_shs_client_init(&c, shoal_shs_main_network, &alice, bob.pub, ceph);
        shoal_shs_server_init(&s, shoal_shs_main_network, &bob, seph);
        shoal_shs_use_cache(&c, &cache);
        shoal_shs_use_cache(&s, &cache);
        shoal_shs_outcome co, so;
        exchange(&c, &s, &co, &so);
        if (round == 0)
            first = co;
        /* the same keys as without the cache, every time */
        CHECK_EQ_MEM(&co, sizeof co, &first, sizeof first);
        CHECK_EQ_MEM(so.decrypt_key, 32, co.encrypt_key, 32);
    }
    /* both long-term keys are remembered in their curve25519 form */
    int used = 0;
    for (int i = 0; i < SHOAL_SHS_KEYCACHE_SLOTS; i++)
        used += cache.slot[i].used;
    CHECK_EQ_INT(used, 2);
}

int main(void)
{
    uint8_t seed[32] = {1};
    shoal_keypair_from_seed(&alice, seed);
    seed[0] = 2;
    shoal_keypair_from_seed(&bob, seed);
    seed[0] = 3;
    shoal_keypair_from_seed(&carol, seed);
    memset(other_network, 0x42, sizeof other_network);
    RUN(another_network_is_refused_at_the_first_hello);
    RUN(dialling_another_key_fails_the_auth);
    RUN(a_garbled_byte_anywhere_fails_its_message);
    RUN(a_truncated_message_fails_at_any_step);
    RUN(a_low_order_ephemeral_key_is_refused);
    RUN(calls_out_of_turn_are_refused);
    RUN(fresh_identities_always_agree);
    RUN(a_peer_met_before_costs_less_and_agrees_the_same);
    return harness_finish();
}

/* The secret handshake's state machine; the protocol is summed up in include/shoal/shs.h and
 * ../shared/PROTOCOLS.md. Names follow the Scuttlebutt Protocol Guide: a and b are the client's
 * and the server's ephemeral keys, A and B their long-term keys, K the network key. */
#include "shoal/shs.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

const uint8_t shoal_shs_main_network[32] = {
    0xd4, 0xa1, 0xcb, 0x88, 0xa6, 0x6f, 0x02, 0xf8, 0xdb, 0x63, 0x5c, 0xe2, 0x64, 0x41, 0xcc, 0x5d,
    0xac, 0x1b, 0x08, 0x42, 0x0c, 0xea, 0xac, 0x23, 0x08, 0x39, 0xb7, 0x55, 0x84, 0x5a, 0x9f, 0xfb,
};

enum step {
    CLIENT_START,
    CLIENT_AWAIT_HELLO,
    CLIENT_AWAIT_ACCEPT,
    SERVER_START,
    SERVER_AWAIT_HELLO,
    SERVER_AWAIT_AUTH,
    COMPLETE,
    TAKEN,
    FAILED,
};

static const uint8_t zero_nonce[crypto_secretbox_NONCEBYTES];

void shoal_keypair_generate(shoal_keypair *out)
{
    if (sodium_init() < 0)
        abort(); /* libsodium cannot run at all here (no entropy source) */
    crypto_sign_keypair(out->pub, out->sec);
}

void shoal_keypair_from_seed(shoal_keypair *out, const uint8_t seed[32])
{
    if (sodium_init() < 0)
        abort();
    crypto_sign_seed_keypair(out->pub, out->sec, seed);
}

static void init(shoal_shs *shs, bool is_client, const uint8_t network[32],
                 const shoal_keypair *local, const uint8_t *eph_sec)
{
    if (sodium_init() < 0)
        abort();
    memset(shs, 0, sizeof *shs);
    shs->is_client = is_client;
    shs->step = is_client ? CLIENT_START : SERVER_START;
    memcpy(shs->network, network, 32);
    memcpy(shs->local_pub, local->pub, 32);
    memcpy(shs->local_sec, local->sec, 64);
    if (eph_sec) {
        memcpy(shs->eph_sec, eph_sec, 32);
        crypto_scalarmult_base(shs->eph_pub, shs->eph_sec);
    } else {
        crypto_box_keypair(shs->eph_pub, shs->eph_sec);
    }
    crypto_auth(shs->local_hmac, shs->eph_pub, 32, shs->network);
}

void shoal_shs_client_init(shoal_shs *shs, const uint8_t network[32], const shoal_keypair *local,
                           const uint8_t server_pub[32], const uint8_t *eph_sec)
{
    init(shs, true, network, local, eph_sec);
    memcpy(shs->remote_pub, server_pub, 32);
}

void shoal_shs_server_init(shoal_shs *shs, const uint8_t network[32], const shoal_keypair *local,
                           const uint8_t *eph_sec)
{
    init(shs, false, network, local, eph_sec);
}

void shoal_shs_wipe(shoal_shs *shs)
{
    int step = shs->step, error = shs->error;
    sodium_memzero(shs, sizeof *shs);
    shs->step = step;
    shs->error = error;
}

static int fail(shoal_shs *shs, int err)
{
    shoal_shs_wipe(shs);
    shs->step = FAILED;
    shs->error = err;
    return err;
}

static void hello(const shoal_shs *shs, uint8_t out[64])
{
    memcpy(out, shs->local_hmac, 32);
    memcpy(out + 32, shs->eph_pub, 32);
}

/* Checks the other side's hello and derives ab = a·b. */
static int take_hello(shoal_shs *shs, const uint8_t msg[64])
{
    if (crypto_auth_verify(msg, msg + 32, 32, shs->network) != 0)
        return SHOAL_E_SHS_NETWORK;
    memcpy(shs->remote_hmac, msg, 32);
    memcpy(shs->remote_eph_pub, msg + 32, 32);
    if (crypto_scalarmult(shs->ab, shs->eph_sec, shs->remote_eph_pub) != 0)
        return SHOAL_E_SHS_KEY;
    return SHOAL_OK;
}

/* x = scalar(our ed25519 secret, as curve25519) · point */
static int mult_long_term_sec(uint8_t out[32], const uint8_t ed_sec[64], const uint8_t point[32])
{
    uint8_t curve_sec[32];
    crypto_sign_ed25519_sk_to_curve25519(curve_sec, ed_sec);
    int rc = crypto_scalarmult(out, curve_sec, point);
    sodium_memzero(curve_sec, sizeof curve_sec);
    return rc == 0 ? SHOAL_OK : SHOAL_E_SHS_KEY;
}

void shoal_shs_use_cache(shoal_shs *shs, shoal_shs_keycache *cache)
{
    shs->cache = cache;
}

/* Their ed25519 public key as curve25519, from the cache when it was met before. */
static int to_curve(shoal_shs_keycache *cache, const uint8_t ed_pub[32], uint8_t out[32])
{
    size_t i = (ed_pub[0] | (size_t)ed_pub[1] << 8) % SHOAL_SHS_KEYCACHE_SLOTS;
    if (cache && cache->slot[i].used && memcmp(cache->slot[i].ed, ed_pub, 32) == 0) {
        memcpy(out, cache->slot[i].curve, 32);
        return SHOAL_OK;
    }
    if (crypto_sign_ed25519_pk_to_curve25519(out, ed_pub) != 0)
        return SHOAL_E_SHS_KEY;
    if (cache) {
        memcpy(cache->slot[i].ed, ed_pub, 32);
        memcpy(cache->slot[i].curve, out, 32);
        cache->slot[i].used = true;
    }
    return SHOAL_OK;
}

/* x = scalar · (their ed25519 public key, as curve25519) */
static int mult_long_term_pub(shoal_shs *shs, uint8_t out[32], const uint8_t scalar[32],
                              const uint8_t ed_pub[32])
{
    uint8_t curve_pub[32];
    int rc = to_curve(shs->cache, ed_pub, curve_pub);
    if (rc != SHOAL_OK)
        return rc;
    return crypto_scalarmult(out, scalar, curve_pub) == 0 ? SHOAL_OK : SHOAL_E_SHS_KEY;
}

/* The auth box's key, sha256(K ‖ ab ‖ aB); with Ab, the accept box's key. */
static void box_key(const shoal_shs *shs, bool with_Ab, uint8_t out[32])
{
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, shs->network, 32);
    crypto_hash_sha256_update(&h, shs->ab, 32);
    crypto_hash_sha256_update(&h, shs->aB, 32);
    if (with_Ab)
        crypto_hash_sha256_update(&h, shs->Ab, 32);
    crypto_hash_sha256_final(&h, out);
    sodium_memzero(&h, sizeof h);
}

/* What the client signs: K ‖ B ‖ sha256(ab). */
static void client_proof(const shoal_shs *shs, const uint8_t server_pub[32], uint8_t out[96])
{
    memcpy(out, shs->network, 32);
    memcpy(out + 32, server_pub, 32);
    crypto_hash_sha256(out + 64, shs->ab, 32);
}

/* What the server signs: K ‖ sig_A ‖ A ‖ sha256(ab). */
static void server_proof(const shoal_shs *shs, const uint8_t client_pub[32], uint8_t out[160])
{
    memcpy(out, shs->network, 32);
    memcpy(out + 32, shs->sig_a, 64);
    memcpy(out + 96, client_pub, 32);
    crypto_hash_sha256(out + 128, shs->ab, 32);
}

/* Client, on the server's hello: derive aB and Ab, and send auth = box(sig_A ‖ A). */
static int client_auth(shoal_shs *shs, const uint8_t msg[64], uint8_t out[112])
{
    int rc = take_hello(shs, msg);
    if (rc == SHOAL_OK)
        rc = mult_long_term_pub(shs, shs->aB, shs->eph_sec, shs->remote_pub);
    if (rc == SHOAL_OK)
        rc = mult_long_term_sec(shs->Ab, shs->local_sec, shs->remote_eph_pub);
    if (rc != SHOAL_OK)
        return rc;
    uint8_t proof[96], plain[96], key[32];
    client_proof(shs, shs->remote_pub, proof);
    crypto_sign_detached(shs->sig_a, NULL, proof, sizeof proof, shs->local_sec);
    memcpy(plain, shs->sig_a, 64);
    memcpy(plain + 64, shs->local_pub, 32);
    box_key(shs, false, key);
    crypto_secretbox_easy(out, plain, sizeof plain, zero_nonce, key);
    sodium_memzero(key, sizeof key);
    return SHOAL_OK;
}

/* Server, on the client's auth: learn and check A, derive Ab, and send accept = box(sig_B). */
static int server_accept(shoal_shs *shs, const uint8_t msg[112], uint8_t out[80])
{
    uint8_t key[32], plain[96], proof[160];
    box_key(shs, false, key);
    int opened = crypto_secretbox_open_easy(plain, msg, 112, zero_nonce, key);
    sodium_memzero(key, sizeof key);
    if (opened != 0)
        return SHOAL_E_SHS_AUTH;
    memcpy(shs->sig_a, plain, 64);
    memcpy(shs->remote_pub, plain + 64, 32);
    client_proof(shs, shs->local_pub, proof);
    if (crypto_sign_verify_detached(shs->sig_a, proof, 96, shs->remote_pub) != 0)
        return SHOAL_E_SHS_AUTH;
    int rc = mult_long_term_pub(shs, shs->Ab, shs->eph_sec, shs->remote_pub);
    if (rc != SHOAL_OK)
        return rc;
    uint8_t sig_b[64];
    server_proof(shs, shs->remote_pub, proof);
    crypto_sign_detached(sig_b, NULL, proof, sizeof proof, shs->local_sec);
    box_key(shs, true, key);
    crypto_secretbox_easy(out, sig_b, sizeof sig_b, zero_nonce, key);
    sodium_memzero(key, sizeof key);
    return SHOAL_OK;
}

/* Client, on the server's accept: check sig_B. */
static int client_verify_accept(shoal_shs *shs, const uint8_t msg[80])
{
    uint8_t key[32], sig_b[64], proof[160];
    box_key(shs, true, key);
    int opened = crypto_secretbox_open_easy(sig_b, msg, 80, zero_nonce, key);
    sodium_memzero(key, sizeof key);
    if (opened != 0)
        return SHOAL_E_SHS_ACCEPT;
    server_proof(shs, shs->local_pub, proof);
    if (crypto_sign_verify_detached(sig_b, proof, sizeof proof, shs->remote_pub) != 0)
        return SHOAL_E_SHS_ACCEPT;
    return SHOAL_OK;
}

int shoal_shs_start(shoal_shs *shs, uint8_t *out, size_t *out_len)
{
    *out_len = 0;
    switch (shs->step) {
    case CLIENT_START:
        hello(shs, out);
        *out_len = SHOAL_SHS_HELLO_SIZE;
        shs->step = CLIENT_AWAIT_HELLO;
        return SHOAL_OK;
    case SERVER_START:
        shs->step = SERVER_AWAIT_HELLO;
        return SHOAL_OK;
    case FAILED:
        return shs->error;
    default:
        return SHOAL_E_INVAL;
    }
}

size_t shoal_shs_expect(const shoal_shs *shs)
{
    switch (shs->step) {
    case CLIENT_AWAIT_HELLO:
    case SERVER_AWAIT_HELLO:
        return SHOAL_SHS_HELLO_SIZE;
    case CLIENT_AWAIT_ACCEPT:
        return SHOAL_SHS_ACCEPT_SIZE;
    case SERVER_AWAIT_AUTH:
        return SHOAL_SHS_AUTH_SIZE;
    default:
        return 0;
    }
}

int shoal_shs_input(shoal_shs *shs, const uint8_t *msg, size_t len, uint8_t *out, size_t *out_len)
{
    *out_len = 0;
    if (shs->step == FAILED)
        return shs->error;
    size_t want = shoal_shs_expect(shs);
    if (want == 0)
        return SHOAL_E_INVAL;
    if (len != want)
        return fail(shs, SHOAL_E_SHS_TRUNCATED);
    int rc;
    switch (shs->step) {
    case CLIENT_AWAIT_HELLO:
        rc = client_auth(shs, msg, out);
        *out_len = SHOAL_SHS_AUTH_SIZE;
        shs->step = CLIENT_AWAIT_ACCEPT;
        break;
    case SERVER_AWAIT_HELLO:
        rc = take_hello(shs, msg);
        if (rc == SHOAL_OK)
            rc = mult_long_term_sec(shs->aB, shs->local_sec, shs->remote_eph_pub);
        hello(shs, out);
        *out_len = SHOAL_SHS_HELLO_SIZE;
        shs->step = SERVER_AWAIT_AUTH;
        break;
    case SERVER_AWAIT_AUTH:
        rc = server_accept(shs, msg, out);
        *out_len = SHOAL_SHS_ACCEPT_SIZE;
        shs->step = COMPLETE;
        break;
    default: /* CLIENT_AWAIT_ACCEPT */
        rc = client_verify_accept(shs, msg);
        shs->step = COMPLETE;
        break;
    }
    if (rc != SHOAL_OK) {
        sodium_memzero(out, *out_len);
        *out_len = 0;
        return fail(shs, rc);
    }
    return SHOAL_OK;
}

int shoal_shs_take_outcome(shoal_shs *shs, shoal_shs_outcome *out)
{
    if (shs->step == FAILED)
        return shs->error;
    if (shs->step != COMPLETE)
        return SHOAL_E_INVAL;
    uint8_t master[32];
    box_key(shs, true, master);
    crypto_hash_sha256(master, master, 32);
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, master, 32);
    crypto_hash_sha256_update(&h, shs->remote_pub, 32);
    crypto_hash_sha256_final(&h, out->encrypt_key);
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, master, 32);
    crypto_hash_sha256_update(&h, shs->local_pub, 32);
    crypto_hash_sha256_final(&h, out->decrypt_key);
    sodium_memzero(master, sizeof master);
    sodium_memzero(&h, sizeof h);
    memcpy(out->encrypt_nonce, shs->remote_hmac, 24);
    memcpy(out->decrypt_nonce, shs->local_hmac, 24);
    memcpy(out->remote_pub, shs->remote_pub, 32);
    shoal_shs_wipe(shs);
    shs->step = TAKEN;
    return SHOAL_OK;
}

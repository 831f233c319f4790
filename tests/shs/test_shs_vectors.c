/* The secret handshake reproduces the known run in tests/vectors/shs_boxstream.json byte for
 * byte: every message, and the keys and nonces each side comes out with. */
#include "harness.h"
#include "shoal/shs.h"
#include "vectors.h"

#include <sodium.h>
#include <string.h>

static json_t *v;

static void keypair(const char *pub, const char *sec, shoal_keypair *out)
{
    CHECK_EQ_INT(vectors_hex(v, pub, out->pub, 32), 32);
    CHECK_EQ_INT(vectors_hex(v, sec, out->sec, 64), 64);
}

static void the_known_run_is_reproduced(void)
{
    shoal_keypair client_keys, server_keys;
    keypair("client_pub", "client_sec", &client_keys);
    keypair("server_pub", "server_sec", &server_keys);
    uint8_t app_key[32], client_eph[32], server_eph[32], expected[128];
    vectors_hex(v, "app_key", app_key, 32);
    vectors_hex(v, "client_eph_sec", client_eph, 32);
    vectors_hex(v, "server_eph_sec", server_eph, 32);

    shoal_shs client, server;
    shoal_shs_client_init(&client, app_key, &client_keys, server_keys.pub, client_eph);
    shoal_shs_server_init(&server, app_key, &server_keys, server_eph);

    uint8_t msg[SHOAL_SHS_MAX_MESSAGE], reply[SHOAL_SHS_MAX_MESSAGE];
    size_t len, reply_len;
    CHECK_EQ_ERR(shoal_shs_start(&server, msg, &len), SHOAL_OK);
    CHECK_EQ_INT(len, 0);
    CHECK_EQ_ERR(shoal_shs_start(&client, msg, &len), SHOAL_OK);
    CHECK_EQ_MEM(msg, len, expected, vectors_hex(v, "msg1", expected, sizeof expected));

    const char *names[] = {"msg2", "msg3", "msg4"};
    shoal_shs *turn[] = {&server, &client, &server};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(shoal_shs_expect(turn[i]), len);
        CHECK_EQ_ERR(shoal_shs_input(turn[i], msg, len, reply, &reply_len), SHOAL_OK);
        CHECK_EQ_MEM(reply, reply_len, expected, vectors_hex(v, names[i], expected, 128));
        memcpy(msg, reply, reply_len);
        len = reply_len;
    }
    CHECK_EQ_INT(shoal_shs_expect(&server), 0);
    CHECK_EQ_INT(shoal_shs_expect(&client), 80);
    CHECK_EQ_ERR(shoal_shs_input(&client, msg, len, reply, &reply_len), SHOAL_OK);
    CHECK_EQ_INT(reply_len, 0);
    CHECK_EQ_INT(shoal_shs_expect(&client), 0);

    shoal_shs_outcome c, s;
    CHECK_EQ_ERR(shoal_shs_take_outcome(&client, &c), SHOAL_OK);
    CHECK_EQ_ERR(shoal_shs_take_outcome(&server, &s), SHOAL_OK);
    CHECK_EQ_MEM(c.encrypt_key, 32, expected,
                 vectors_hex(v, "client_encryption_key", expected, 32));
    CHECK_EQ_MEM(c.encrypt_nonce, 24, expected,
                 vectors_hex(v, "client_encryption_nonce", expected, 24));
    CHECK_EQ_MEM(c.decrypt_key, 32, expected,
                 vectors_hex(v, "client_decryption_key", expected, 32));
    CHECK_EQ_MEM(c.decrypt_nonce, 24, expected,
                 vectors_hex(v, "client_decryption_nonce", expected, 24));
    /* the server's directions mirror the client's, and each learnt the other's identity */
    CHECK_EQ_MEM(s.encrypt_key, 32, c.decrypt_key, 32);
    CHECK_EQ_MEM(s.encrypt_nonce, 24, c.decrypt_nonce, 24);
    CHECK_EQ_MEM(s.decrypt_key, 32, c.encrypt_key, 32);
    CHECK_EQ_MEM(s.decrypt_nonce, 24, c.encrypt_nonce, 24);
    CHECK_EQ_MEM(c.remote_pub, 32, server_keys.pub, 32);
    CHECK_EQ_MEM(s.remote_pub, 32, client_keys.pub, 32);
    /* the outcome is handed out once, and the secrets are gone from the state */
    CHECK_EQ_ERR(shoal_shs_take_outcome(&client, &c), SHOAL_E_INVAL);
    static const uint8_t zeros[64];
    CHECK_EQ_MEM(client.local_sec, 64, zeros, 64);
    CHECK_EQ_MEM(client.ab, 32, zeros, 32);
    CHECK_EQ_MEM(server.eph_sec, 32, zeros, 32);
}

static void the_main_network_key_is_ssbs(void)
{
    static const char b64[] = "1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=";
    uint8_t key[32];
    size_t len = 0;
    CHECK(sodium_base642bin(key, sizeof key, b64, strlen(b64), NULL, &len, NULL,
                            sodium_base64_VARIANT_ORIGINAL) == 0);
    CHECK_EQ_MEM(shoal_shs_main_network, 32, key, len);
}

int main(void)
{
    json_t *root = vectors_load("shs_boxstream.json");
    v = json_object_get(root, "shs");
    RUN(the_known_run_is_reproduced);
    RUN(the_main_network_key_is_ssbs);
    json_decref(root);
    return harness_finish();
}

/* libFuzzer target for the secret handshake's input, both sides. The first byte picks the side
 * under test and whether the rest is raw messages or masks XORed onto a genuine run's messages
 * (so the fuzzer reaches the later steps, which garbage cannot). Every run must end in a
 * complete handshake or a clean error, and a complete one only when nothing was changed. */
#include "shoal/shs.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static shoal_keypair client_keys, server_keys;
static const uint8_t client_eph[32] = {1}, server_eph[32] = {2};

static void keys(void)
{
    static bool done;
    if (done)
        return;
    uint8_t seed[32] = {7};
    shoal_keypair_from_seed(&client_keys, seed);
    seed[0] = 8;
    shoal_keypair_from_seed(&server_keys, seed);
    done = true;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size == 0)
        return 0;
    keys();
    bool test_server = data[0] & 1, masked = data[0] & 2;
    const unsigned char *in = data + 1;
    size_t left = size - 1;
    shoal_shs client, server;
    shoal_shs_client_init(&client, shoal_shs_main_network, &client_keys, server_keys.pub,
                          client_eph);
    shoal_shs_server_init(&server, shoal_shs_main_network, &server_keys, server_eph);
    uint8_t msg[SHOAL_SHS_MAX_MESSAGE], reply[SHOAL_SHS_MAX_MESSAGE];
    size_t len, n;
    if (shoal_shs_start(&server, msg, &n) != SHOAL_OK ||
        shoal_shs_start(&client, msg, &len) != SHOAL_OK)
        abort();
    shoal_shs *under_test = test_server ? &server : &client;
    bool changed = false;
    /* the genuine exchange runs on; the side under test gets the fuzzer's version */
    for (int step = 0; step < 4; step++) {
        shoal_shs *receiver = step % 2 == 0 ? &server : &client;
        if (receiver == under_test) {
            size_t take = left < len ? left : len;
            if (masked) {
                for (size_t i = 0; i < take; i++)
                    msg[i] ^= in[i];
            } else {
                memcpy(msg, in, take);
                len = take;
            }
            changed |= !masked; /* raw bytes, even a copy of the genuine ones, count as changed */
            for (size_t i = 0; i < take && masked; i++)
                changed |= in[i] != 0;
            in += take;
            left -= take;
        }
        int rc = shoal_shs_input(receiver, msg, len, reply, &n);
        if (rc != SHOAL_OK) {
            if (!changed || receiver != under_test || n != 0)
                abort(); /* only what the fuzzer touched may fail, and it sends nothing */
            break;
        }
        memcpy(msg, reply, n);
        len = n;
    }
    shoal_shs_outcome out;
    if (shoal_shs_expect(under_test) == 0 && shoal_shs_take_outcome(under_test, &out) == SHOAL_OK &&
        changed && masked)
        abort(); /* a changed message was accepted */
    shoal_shs_wipe(&client);
    shoal_shs_wipe(&server);
    return 0;
}

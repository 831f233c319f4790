/* The adapter through which the npm shs1-test suite drives shoal's handshake: it plays the
 * server (built as shs1-server: arguments network key, server secret key, server public key)
 * or the client (built as shs1-client: network key, server public key), all in hex, over
 * stdin and stdout. On success it writes the outcome (encryption key and nonce, decryption key
 * and nonce: 112 bytes) and exits 0; when the other side misbehaves it exits 1 at once, without
 * writing anything more. */
#include "shoal/shs.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int hex(const char *s, uint8_t *out, size_t len)
{
    size_t got = 0;
    return sodium_hex2bin(out, len, s, strlen(s), NULL, &got, NULL) == 0 && got == len ? 0 : -1;
}

static int read_exactly(uint8_t *buf, size_t len)
{
    for (size_t have = 0; have < len;) {
        ssize_t n = read(STDIN_FILENO, buf + have, len - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        have += (size_t)n;
    }
    return 0;
}

static int write_all(const uint8_t *buf, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t n = write(STDOUT_FILENO, buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

static int run(shoal_shs *shs)
{
    uint8_t msg[SHOAL_SHS_MAX_MESSAGE], reply[SHOAL_SHS_MAX_MESSAGE];
    size_t len;
    if (shoal_shs_start(shs, reply, &len) != SHOAL_OK || write_all(reply, len) != 0)
        return 1;
    for (size_t want; (want = shoal_shs_expect(shs)) > 0;) {
        if (read_exactly(msg, want) != 0)
            return 1;
        int rc = shoal_shs_input(shs, msg, want, reply, &len);
        if (rc != SHOAL_OK) {
            fprintf(stderr, "shs: %s\n", shoal_strerror(rc));
            return 1;
        }
        if (write_all(reply, len) != 0)
            return 1;
    }
    shoal_shs_outcome out;
    if (shoal_shs_take_outcome(shs, &out) != SHOAL_OK)
        return 1;
    int rc = write_all(out.encrypt_key, 32) || write_all(out.encrypt_nonce, 24) ||
             write_all(out.decrypt_key, 32) || write_all(out.decrypt_nonce, 24);
    sodium_memzero(&out, sizeof out);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    uint8_t network[32];
    shoal_keypair local;
    shoal_shs shs;
#ifdef SHS1_SERVER
    if (argc != 4 || hex(argv[1], network, 32) || hex(argv[2], local.sec, 64) ||
        hex(argv[3], local.pub, 32)) {
        fprintf(stderr, "usage: shs1-server NETWORK_KEY SERVER_SECRET SERVER_PUBLIC (hex)\n");
        return 2;
    }
    shoal_shs_server_init(&shs, network, &local, NULL);
#else
    uint8_t server_pub[32];
    if (argc != 3 || hex(argv[1], network, 32) || hex(argv[2], server_pub, 32)) {
        fprintf(stderr, "usage: shs1-client NETWORK_KEY SERVER_PUBLIC (hex)\n");
        return 2;
    }
    shoal_keypair_generate(&local);
    shoal_shs_client_init(&shs, network, &local, server_pub, NULL);
#endif
    sodium_memzero(&local, sizeof local);
    int rc = run(&shs);
    shoal_shs_wipe(&shs);
    return rc;
}

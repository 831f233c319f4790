/* seal-signal: a sealed signal, as a shoal peer of the given seed would POST it to a hub, for tests
 * that play a peer holding a key of its own (a hostile one, say).
 *
 * Usage: seal-signal SEED TO TS SIGNAL
 *   SEED    64 hex digits: the sender's ed25519 seed
 *   TO      the recipient's channel
 *   TS      the sealing time, ms since 1970
 *   SIGNAL  the inner signal's JSON ({"from":…,"session":…,"signal":…})
 * Prints the message for the hub on one line, then the sender's channel on a second. */
#include "shoal/swarm.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    uint8_t seed[32];
    if (argc != 5 || sodium_init() < 0 ||
        sodium_hex2bin(seed, sizeof seed, argv[1], strlen(argv[1]), NULL, NULL, NULL) != 0) {
        fputs("usage: seal-signal SEED TO TS SIGNAL\n", stderr);
        return 2;
    }
    shoal_keypair keys;
    shoal_keypair_from_seed(&keys, seed);
    shoal_buf out = SHOAL_BUF_INIT;
    int rc = shoal_swarm_seal(&keys, argv[2], strtoll(argv[3], NULL, 10), argv[4], strlen(argv[4]),
                              &out);
    if (rc != SHOAL_OK) {
        fprintf(stderr, "seal-signal: %s\n", shoal_strerror(rc));
        return 1;
    }
    char channel[SHOAL_SWARM_CHANNEL_SIZE];
    shoal_swarm_channel(keys.pub, channel);
    printf("%s\n%s\n", out.data, channel);
    shoal_buf_free(&out);
    return 0;
}

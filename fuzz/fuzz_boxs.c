/* libFuzzer target for the box-stream decoder. The first byte picks the mode and how input is
 * split into reads. Raw mode feeds the bytes as they are: the decoder must end in a clean error
 * or need more, never crash. Genuine mode encodes the bytes as a stream (plus goodbye), then
 * flips the bit the second byte names, if any: an untouched stream must decode to exactly what
 * went in, a touched one must fail with SHOAL_E_BOXS_MAC and never yield the damaged chunk. */
#include "shoal/boxs.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static const uint8_t key[32] = {3}, nonce[24] = {4};

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t step = 1 + data[0] % 61;
    bool genuine = data[0] & 0x80;
    size_t flip = data[1]; /* 0: none */
    const uint8_t *plain = data + 2;
    size_t plain_len = size - 2;
    uint8_t *wire = malloc(shoal_boxs_encoded_size(plain_len) + SHOAL_BOXS_HEADER_SIZE);
    size_t wire_len;
    if (genuine) {
        shoal_boxs_encoder enc;
        shoal_boxs_encoder_init(&enc, key, nonce);
        wire_len = shoal_boxs_encode(&enc, plain, plain_len, wire);
        shoal_boxs_goodbye(&enc, wire + wire_len);
        wire_len += SHOAL_BOXS_HEADER_SIZE;
        if (flip)
            wire[(flip * 7) % wire_len] ^= (uint8_t)(1u << (flip % 8));
    } else {
        memcpy(wire, plain, plain_len);
        wire_len = plain_len;
    }
    shoal_boxs_decoder *dec = malloc(sizeof *dec);
    shoal_boxs_decoder_init(dec, key, nonce);
    size_t out = 0;
    int rc = SHOAL_OK;
    for (size_t at = 0; at < wire_len && rc == SHOAL_OK;) {
        size_t n = wire_len - at < step ? wire_len - at : step;
        const uint8_t *chunk;
        size_t chunk_len;
        long used = shoal_boxs_decode(dec, wire + at, n, &chunk, &chunk_len);
        if (used < 0) {
            rc = (int)used;
            break;
        }
        if (chunk_len > SHOAL_BOXS_MAX_CHUNK || (size_t)used > n)
            abort();
        if (genuine && chunk_len > 0 &&
            (out + chunk_len > plain_len || memcmp(chunk, plain + out, chunk_len) != 0))
            abort(); /* a chunk that is not what was sent came out */
        out += chunk_len;
        at += (size_t)used;
    }
    if (genuine && !flip && (rc != SHOAL_OK || out != plain_len || shoal_boxs_end(dec) != SHOAL_OK))
        abort();
    if (genuine && flip && rc != SHOAL_E_BOXS_MAC)
        abort();
    shoal_boxs_decoder_wipe(dec);
    free(dec);
    free(wire);
    return 0;
}

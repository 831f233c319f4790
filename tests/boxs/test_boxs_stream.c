/* The box stream as a stream: any length is cut into chunks of at most 4096 bytes and read back
 * whole however the bytes arrive; any tampered byte fails for good; goodbye, bytes after it, a
 * cut stream and impossible lengths each get their own answer. */
#include "harness.h"
#include "shoal/boxs.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static uint8_t key[32], nonce[24];

typedef struct pipe {
    shoal_boxs_encoder enc;
    shoal_boxs_decoder dec;
} pipe;

static pipe *pipe_new(void)
{
    pipe *p = malloc(sizeof *p);
    shoal_boxs_encoder_init(&p->enc, key, nonce);
    shoal_boxs_decoder_init(&p->dec, key, nonce);
    return p;
}

/* Feeds wire[0..len) to the decoder `step` bytes at a time, appending chunks to out; returns the
 * first error or SHOAL_OK. */
static int read_all(shoal_boxs_decoder *dec, const uint8_t *wire, size_t len, size_t step,
                    uint8_t *out, size_t *out_len)
{
    *out_len = 0;
    for (size_t at = 0; at < len;) {
        size_t n = len - at < step ? len - at : step;
        const uint8_t *chunk;
        size_t chunk_len;
        long used = shoal_boxs_decode(dec, wire + at, n, &chunk, &chunk_len);
        if (used < 0)
            return (int)used;
        if (chunk_len > 0) {
            if (chunk_len > SHOAL_BOXS_MAX_CHUNK)
                return SHOAL_E_INVAL;
            memcpy(out + *out_len, chunk, chunk_len);
            *out_len += chunk_len;
        }
        at += (size_t)used;
    }
    return SHOAL_OK;
}

static void any_length_round_trips_in_any_pieces(void)
{
    static const size_t lengths[] = {1, 2, 33, 4095, 4096, 4097, 8192, 10000, 65536 + 7};
    static const size_t steps[] = {1, 7, 34, 35, 4130, 1 << 20};
    for (size_t l = 0; l < sizeof lengths / sizeof *lengths; l++)
        for (size_t s = 0; s < sizeof steps / sizeof *steps; s++) {
            size_t len = lengths[l];
            uint8_t *plain = malloc(len), *wire = malloc(shoal_boxs_encoded_size(len)),
                    *back = malloc(len);
            for (size_t i = 0; i < len; i++)
                plain[i] = (uint8_t)(i * 31 + l);
            pipe *p = pipe_new();
            size_t n = shoal_boxs_encode(&p->enc, plain, len, wire);
            CHECK_EQ_INT(n, len + 34 * ((len + 4095) / 4096));
            size_t back_len;
            CHECK_EQ_ERR(read_all(&p->dec, wire, n, steps[s], back, &back_len), SHOAL_OK);
            CHECK_EQ_MEM(back, back_len, plain, len);
            CHECK_EQ_ERR(shoal_boxs_end(&p->dec), SHOAL_E_BOXS_CUT);
            free(plain), free(wire), free(back), free(p);
        }
}

static void a_tampered_byte_fails_for_good(void)
{
    uint8_t plain[100], wire[2 * 134 + 34], back[200];
    memset(plain, 'x', sizeof plain);
    for (size_t b = 0; b < sizeof wire; b++) {
        pipe *p = pipe_new();
        size_t n = shoal_boxs_encode(&p->enc, plain, 100, wire);
        n += shoal_boxs_encode(&p->enc, plain, 100, wire + n);
        shoal_boxs_goodbye(&p->enc, wire + n);
        n += 34;
        wire[b] ^= 1;
        size_t back_len;
        int rc = read_all(&p->dec, wire, n, 1 + b % 50, back, &back_len);
        if (!CHECK_EQ_ERR(rc, SHOAL_E_BOXS_MAC)) {
            fprintf(stderr, "  byte %zu\n", b);
            free(p);
            return;
        }
        /* nothing from the damaged frame or after it came out */
        CHECK_EQ_INT(back_len, b < 134 ? 0 : b < 268 ? 100 : 200);
        const uint8_t *chunk;
        size_t chunk_len;
        CHECK_EQ_ERR((int)shoal_boxs_decode(&p->dec, wire, 34, &chunk, &chunk_len),
                     SHOAL_E_BOXS_MAC);
        CHECK_EQ_ERR(shoal_boxs_end(&p->dec), SHOAL_E_BOXS_MAC);
        static const uint8_t zeros[32];
        CHECK_EQ_MEM(p->dec.key, 32, zeros, 32);
        free(p);
    }
}

static void bytes_after_goodbye_are_refused(void)
{
    pipe *p = pipe_new();
    uint8_t wire[34 + 35], back[8];
    shoal_boxs_goodbye(&p->enc, wire);
    shoal_boxs_encode(&p->enc, (const uint8_t *)"x", 1, wire + 34);
    size_t back_len;
    CHECK_EQ_ERR(read_all(&p->dec, wire, sizeof wire, 100, back, &back_len), SHOAL_E_BOXS_CLOSED);
    CHECK_EQ_INT(back_len, 0);
    free(p);
}

/* A header that authenticates but announces an impossible length: built by hand with the key. */
static void impossible_lengths_are_refused(void)
{
    static const unsigned lengths[] = {0x0000 /* with a non-zero MAC */, 4097, 0xffff};
    for (size_t i = 0; i < 3; i++) {
        uint8_t header[18] = {(uint8_t)(lengths[i] >> 8), (uint8_t)lengths[i], 1}, wire[34];
        crypto_secretbox_easy(wire, header, sizeof header, nonce, key);
        pipe *p = pipe_new();
        const uint8_t *chunk;
        size_t chunk_len;
        CHECK_EQ_ERR((int)shoal_boxs_decode(&p->dec, wire, 34, &chunk, &chunk_len),
                     SHOAL_E_BOXS_LENGTH);
        free(p);
    }
}

static void nonces_carry_across_bytes(void)
{
    /* a starting nonce of ...ff ff ff makes the counter carry on the first frame */
    uint8_t n[24];
    memset(n, 0xff, sizeof n);
    n[0] = 0;
    shoal_boxs_encoder enc;
    shoal_boxs_decoder *dec = malloc(sizeof *dec);
    shoal_boxs_encoder_init(&enc, key, n);
    shoal_boxs_decoder_init(dec, key, n);
    uint8_t wire[3 * 35], back[3];
    size_t len = 0, back_len;
    for (int i = 0; i < 3; i++)
        len += shoal_boxs_encode(&enc, (const uint8_t *)"abc" + i, 1, wire + len);
    CHECK_EQ_ERR(read_all(dec, wire, len, len, back, &back_len), SHOAL_OK);
    CHECK_EQ_MEM(back, back_len, "abc", 3);
    uint8_t expected[24] = {1};
    memset(expected + 1, 0, 23);
    expected[23] = 5; /* 00ff..ff + 6 */
    CHECK_EQ_MEM(enc.nonce, 24, expected, 24);
    free(dec);
}

int main(void)
{
    randombytes_buf(key, sizeof key);
    randombytes_buf(nonce, sizeof nonce);
    RUN(any_length_round_trips_in_any_pieces);
    RUN(a_tampered_byte_fails_for_good);
    RUN(bytes_after_goodbye_are_refused);
    RUN(impossible_lengths_are_refused);
    RUN(nonces_carry_across_bytes);
    return harness_finish();
}

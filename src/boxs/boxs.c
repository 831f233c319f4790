/* Box stream encoder and decoder; the framing is described in include/shoal/boxs.h. */
#include "shoal/boxs.h"

#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum state { READ_HEADER, READ_BODY, SAID_GOODBYE, FAILED };

#define HEADER_PLAIN 18 /* length (2) ‖ body MAC (16) */

static void nonce_add(uint8_t nonce[24], unsigned n)
{
    for (int i = 23; i >= 0 && n; i--) {
        unsigned sum = nonce[i] + n;
        nonce[i] = (uint8_t)sum;
        n = sum >> 8;
    }
}

static void next_nonce(const uint8_t nonce[24], uint8_t out[24])
{
    memcpy(out, nonce, 24);
    nonce_add(out, 1);
}

void shoal_boxs_encoder_init(shoal_boxs_encoder *enc, const uint8_t key[32],
                             const uint8_t nonce[24])
{
    if (sodium_init() < 0)
        abort(); /* libsodium cannot run at all here */
    memcpy(enc->key, key, 32);
    memcpy(enc->nonce, nonce, 24);
}

static void encode_chunk(shoal_boxs_encoder *enc, const uint8_t *plain, size_t len, uint8_t *out)
{
    uint8_t header[HEADER_PLAIN], body_nonce[24];
    next_nonce(enc->nonce, body_nonce);
    crypto_secretbox_detached(out + SHOAL_BOXS_HEADER_SIZE, header + 2, plain, len, body_nonce,
                              enc->key);
    header[0] = (uint8_t)(len >> 8);
    header[1] = (uint8_t)len;
    crypto_secretbox_easy(out, header, sizeof header, enc->nonce, enc->key);
    nonce_add(enc->nonce, 2);
}

size_t shoal_boxs_encoded_size(size_t len)
{
    size_t frames = (len + SHOAL_BOXS_MAX_CHUNK - 1) / SHOAL_BOXS_MAX_CHUNK;
    return len + frames * SHOAL_BOXS_HEADER_SIZE;
}

size_t shoal_boxs_encode(shoal_boxs_encoder *enc, const uint8_t *plain, size_t len, uint8_t *out)
{
    size_t written = 0;
    while (len > 0) {
        size_t n = len < SHOAL_BOXS_MAX_CHUNK ? len : SHOAL_BOXS_MAX_CHUNK;
        encode_chunk(enc, plain, n, out + written);
        written += SHOAL_BOXS_FRAME_SIZE(n);
        plain += n;
        len -= n;
    }
    return written;
}

void shoal_boxs_goodbye(shoal_boxs_encoder *enc, uint8_t out[SHOAL_BOXS_HEADER_SIZE])
{
    static const uint8_t zeros[HEADER_PLAIN];
    crypto_secretbox_easy(out, zeros, sizeof zeros, enc->nonce, enc->key);
    nonce_add(enc->nonce, 2);
}

void shoal_boxs_encoder_wipe(shoal_boxs_encoder *enc)
{
    sodium_memzero(enc, sizeof *enc);
}

void shoal_boxs_decoder_init(shoal_boxs_decoder *dec, const uint8_t key[32],
                             const uint8_t nonce[24])
{
    if (sodium_init() < 0)
        abort();
    memset(dec, 0, offsetof(shoal_boxs_decoder, body));
    memcpy(dec->key, key, 32);
    memcpy(dec->nonce, nonce, 24);
    dec->state = READ_HEADER;
}

static long fail(shoal_boxs_decoder *dec, int err)
{
    shoal_boxs_decoder_wipe(dec);
    dec->state = FAILED;
    dec->error = err;
    return err;
}

/* Opens the gathered header: the goodbye, or the next body's length and MAC. */
static int open_header(shoal_boxs_decoder *dec)
{
    uint8_t plain[HEADER_PLAIN];
    static const uint8_t zeros[HEADER_PLAIN];
    if (crypto_secretbox_open_easy(plain, dec->header, SHOAL_BOXS_HEADER_SIZE, dec->nonce,
                                   dec->key) != 0)
        return SHOAL_E_BOXS_MAC;
    if (sodium_memcmp(plain, zeros, sizeof plain) == 0) {
        dec->state = SAID_GOODBYE;
        return SHOAL_OK;
    }
    dec->body_len = (size_t)plain[0] << 8 | plain[1];
    if (dec->body_len == 0 || dec->body_len > SHOAL_BOXS_MAX_CHUNK)
        return SHOAL_E_BOXS_LENGTH;
    memcpy(dec->body_mac, plain + 2, 16);
    dec->state = READ_BODY;
    return SHOAL_OK;
}

/* Decrypts the body from `cipher` (the gathered buffer or the caller's input) into dec->body. */
static int open_body(shoal_boxs_decoder *dec, const uint8_t *cipher)
{
    uint8_t body_nonce[24];
    next_nonce(dec->nonce, body_nonce);
    if (crypto_secretbox_open_detached(dec->body, cipher, dec->body_mac, dec->body_len, body_nonce,
                                       dec->key) != 0)
        return SHOAL_E_BOXS_MAC;
    nonce_add(dec->nonce, 2);
    dec->state = READ_HEADER;
    return SHOAL_OK;
}

long shoal_boxs_decode(shoal_boxs_decoder *dec, const uint8_t *in, size_t len,
                       const uint8_t **chunk, size_t *chunk_len)
{
    *chunk = NULL;
    *chunk_len = 0;
    size_t used = 0;
    while (used < len) {
        if (dec->state == FAILED)
            return dec->error;
        if (dec->state == SAID_GOODBYE)
            return fail(dec, SHOAL_E_BOXS_CLOSED);
        if (dec->state == READ_HEADER) {
            used += shoal_gather(dec->header, &dec->have, SHOAL_BOXS_HEADER_SIZE, in + used,
                                 len - used);
            if (dec->have < SHOAL_BOXS_HEADER_SIZE)
                break;
            dec->have = 0;
            int rc = open_header(dec);
            if (rc != SHOAL_OK)
                return fail(dec, rc);
            continue;
        }
        /* READ_BODY: decrypt straight from the input when the whole body is there */
        const uint8_t *cipher;
        if (dec->have == 0 && len - used >= dec->body_len) {
            cipher = in + used;
            used += dec->body_len;
        } else {
            used += shoal_gather(dec->body, &dec->have, dec->body_len, in + used, len - used);
            if (dec->have < dec->body_len)
                break;
            dec->have = 0;
            cipher = dec->body;
        }
        int rc = open_body(dec, cipher);
        if (rc != SHOAL_OK)
            return fail(dec, rc);
        *chunk = dec->body;
        *chunk_len = dec->body_len;
        break;
    }
    if (dec->state == FAILED)
        return dec->error;
    return (long)used;
}

bool shoal_boxs_said_goodbye(const shoal_boxs_decoder *dec)
{
    return dec->state == SAID_GOODBYE;
}

int shoal_boxs_end(const shoal_boxs_decoder *dec)
{
    if (dec->state == FAILED)
        return dec->error;
    return dec->state == SAID_GOODBYE ? SHOAL_OK : SHOAL_E_BOXS_CUT;
}

void shoal_boxs_decoder_wipe(shoal_boxs_decoder *dec)
{
    sodium_memzero(dec, sizeof *dec);
}

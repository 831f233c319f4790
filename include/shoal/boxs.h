/* shoal boxs: SSB's box stream, the encrypted framing that follows the secret handshake.
 *
 * How this works. Each chunk of 1 to 4096 bytes travels as a 34-byte encrypted header and its
 * body: the body is secretboxed with nonce+1, the header (the body's length, 2 bytes big-endian,
 * then the body's 16-byte MAC) is secretboxed with nonce, the body's MAC is not sent twice, and
 * the nonce (a 24-byte big-endian counter) advances by 2. A header that decrypts to 18 zero bytes
 * is the goodbye; a stream that ends without one was cut.
 *
 * Both halves are pure: the encoder writes frames into a caller's buffer, the decoder takes
 * whatever bytes arrived and hands back whole chunks. A frame that fails authentication makes
 * the decoder fail for good (its error is returned by every later call). */
#ifndef SHOAL_BOXS_H
#define SHOAL_BOXS_H

#include "shoal/core.h"

#define SHOAL_BOXS_MAX_CHUNK   4096
#define SHOAL_BOXS_HEADER_SIZE 34
/* The bytes one chunk of `len` plaintext bytes occupies on the wire. */
#define SHOAL_BOXS_FRAME_SIZE(len) (SHOAL_BOXS_HEADER_SIZE + (len))

typedef struct shoal_boxs_encoder {
    uint8_t key[32];
    uint8_t nonce[24];
} shoal_boxs_encoder;

/* The key and starting nonce come from the handshake's outcome (encrypt_key, encrypt_nonce). */
void shoal_boxs_encoder_init(shoal_boxs_encoder *enc, const uint8_t key[32],
                             const uint8_t nonce[24]);

/* Encrypts plain[0..len) into out as frames of at most 4096 bytes each, and returns the bytes
 * written: len + 34 per frame, so out needs len + 34 * ceil(len / 4096) bytes. len 0 writes
 * nothing (an empty chunk cannot be sent). `plain` and `out` may not overlap. */
size_t shoal_boxs_encode(shoal_boxs_encoder *enc, const uint8_t *plain, size_t len, uint8_t *out);

/* The wire size of shoal_boxs_encode(len). */
size_t shoal_boxs_encoded_size(size_t len);

/* Writes the 34-byte goodbye into out. Nothing may be encoded after it. */
void shoal_boxs_goodbye(shoal_boxs_encoder *enc, uint8_t out[SHOAL_BOXS_HEADER_SIZE]);

/* Wipes the key. */
void shoal_boxs_encoder_wipe(shoal_boxs_encoder *enc);

typedef struct shoal_boxs_decoder {
    uint8_t key[32];
    uint8_t nonce[24];
    int state; /* private */
    int error;
    size_t have;     /* bytes gathered of the current header or body */
    size_t body_len; /* of the current chunk, once its header is open */
    uint8_t header[SHOAL_BOXS_HEADER_SIZE];
    uint8_t body_mac[16];
    uint8_t body[SHOAL_BOXS_MAX_CHUNK];
} shoal_boxs_decoder;

void shoal_boxs_decoder_init(shoal_boxs_decoder *dec, const uint8_t key[32],
                             const uint8_t nonce[24]);

/* Reads from in[0..len) until one chunk is complete or the input runs out, and returns the
 * number of bytes consumed (call again with the rest). When a chunk completes, *chunk points at
 * its plaintext (borrowed until the next call) and *chunk_len is its size (1..4096); otherwise
 * *chunk_len is 0. Errors (kept: later calls return the same):
 *   SHOAL_E_BOXS_MAC       a header or body failed authentication (tampered or wrong key);
 *   SHOAL_E_BOXS_LENGTH    a header announced a body longer than 4096 bytes;
 *   SHOAL_E_BOXS_CLOSED    bytes arrived after the goodbye. */
SHOAL_MUST_CHECK long shoal_boxs_decode(shoal_boxs_decoder *dec, const uint8_t *in, size_t len,
                                        const uint8_t **chunk, size_t *chunk_len);

/* True once the goodbye has been read. */
bool shoal_boxs_said_goodbye(const shoal_boxs_decoder *dec);

/* What the end of the underlying stream means: SHOAL_OK after the goodbye, the kept error after
 * a failure, else SHOAL_E_BOXS_CUT (the stream ended without a goodbye). */
SHOAL_MUST_CHECK int shoal_boxs_end(const shoal_boxs_decoder *dec);

/* Wipes the key and any plaintext held. */
void shoal_boxs_decoder_wipe(shoal_boxs_decoder *dec);

#endif

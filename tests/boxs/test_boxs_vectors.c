/* The box stream reproduces the frames and goodbye of tests/vectors/shs_boxstream.json, and
 * decodes them back. */
#include "harness.h"
#include "shoal/boxs.h"
#include "vectors.h"

#include <string.h>

static json_t *v;

static void the_known_frames_are_reproduced_and_read_back(void)
{
    uint8_t key[32], nonce[24];
    vectors_hex(v, "key", key, 32);
    vectors_hex(v, "nonce", nonce, 24);
    shoal_boxs_encoder enc;
    shoal_boxs_decoder dec;
    shoal_boxs_encoder_init(&enc, key, nonce);
    shoal_boxs_decoder_init(&dec, key, nonce);
    size_t i;
    json_t *frame;
    json_array_foreach(json_object_get(v, "frames"), i, frame)
    {
        uint8_t plain[64], header[34], body[64], out[128];
        size_t plain_len = vectors_hex(frame, "plain", plain, sizeof plain);
        size_t body_len = vectors_hex(frame, "body", body, sizeof body);
        CHECK_EQ_INT(vectors_hex(frame, "header", header, sizeof header), 34);
        size_t n = shoal_boxs_encode(&enc, plain, plain_len, out);
        CHECK_EQ_INT(n, shoal_boxs_encoded_size(plain_len));
        CHECK_EQ_MEM(out, 34, header, 34);
        CHECK_EQ_MEM(out + 34, n - 34, body, body_len);
        const uint8_t *chunk;
        size_t chunk_len;
        CHECK_EQ_INT(shoal_boxs_decode(&dec, out, n, &chunk, &chunk_len), n);
        CHECK_EQ_MEM(chunk, chunk_len, plain, plain_len);
    }
    uint8_t goodbye[34], expected[34];
    vectors_hex(v, "goodbye", expected, sizeof expected);
    shoal_boxs_goodbye(&enc, goodbye);
    CHECK_EQ_MEM(goodbye, 34, expected, 34);
    const uint8_t *chunk;
    size_t chunk_len;
    CHECK_EQ_ERR(shoal_boxs_end(&dec), SHOAL_E_BOXS_CUT);
    CHECK_EQ_INT(shoal_boxs_decode(&dec, goodbye, 34, &chunk, &chunk_len), 34);
    CHECK_EQ_INT(chunk_len, 0);
    CHECK(shoal_boxs_said_goodbye(&dec));
    CHECK_EQ_ERR(shoal_boxs_end(&dec), SHOAL_OK);
}

int main(void)
{
    json_t *root = vectors_load("shs_boxstream.json");
    v = json_object_get(root, "boxstream");
    RUN(the_known_frames_are_reproduced_and_read_back);
    json_decref(root);
    return harness_finish();
}

/* Chunked bodies decode in place, whatever the split of their bytes into reads. */
#include "harness.h"

#include "shoal/hub.h"

#include <stdlib.h>
#include <string.h>

/* Decodes `in` fed in pieces of `step` bytes; returns the body, or NULL on an error. */
static char *decode(const char *in, size_t step, size_t *body_len, long *rest, int *err)
{
    shoal_http_chunked d = SHOAL_HTTP_CHUNKED_INIT;
    size_t len = strlen(in), at = 0, out = 0;
    char *body = malloc(len + 1);
    *err = SHOAL_OK;
    while (at < len) {
        size_t n = len - at < step ? len - at : step;
        char *piece = harness_guarded(in + at, n);
        size_t got = n;
        long rc = shoal_http_unchunk(&d, piece, &got);
        if (rc < 0 && rc != SHOAL_E_AGAIN) {
            free(piece);
            free(body);
            *err = (int)rc;
            return NULL;
        }
        memcpy(body + out, piece, got);
        out += got;
        free(piece);
        at += n;
        if (rc >= 0) {
            *rest = rc + (long)(len - at);
            *body_len = out;
            return body;
        }
    }
    *rest = SHOAL_E_AGAIN;
    *body_len = out;
    return body;
}

static void bodies_decode_across_any_split(void)
{
    const char *in = "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\nNEXT";
    for (size_t step = 1; step <= strlen(in); step++) {
        size_t n = 0;
        long rest = 0;
        int err = 0;
        char *body = decode(in, step, &n, &rest, &err);
        if (!CHECK(body != NULL))
            continue;
        CHECK_EQ_MEM(body, n, "hello 0123456789", 16);
        CHECK_EQ_INT(rest, 4);
        free(body);
    }
}

static void bare_lf_and_empty_bodies(void)
{
    size_t n = 0;
    long rest = 0;
    int err = 0;
    char *body = decode("3\nabc\n0\n\n", 4, &n, &rest, &err);
    CHECK_EQ_MEM(body, n, "abc", 3);
    CHECK_EQ_INT(rest, 0);
    free(body);
    body = decode("0\r\n\r\n", 1, &n, &rest, &err);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(rest, 0);
    free(body);
    body = decode("3\r\nab", 2, &n, &rest, &err);
    CHECK_EQ_INT(rest, SHOAL_E_AGAIN);
    free(body);
}

static void malformed_chunks_are_refused(void)
{
    const char *bad[] = {"x\r\n",      "\r\n", "3\r\nabcX", "3\rX", "1000000000000000\r\n",
                         "3\r\nabc\rX"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = 0;
        long rest = 0;
        int err = 0;
        char *body = decode(bad[i], 64, &n, &rest, &err);
        CHECK(body == NULL);
        CHECK_EQ_ERR(err, SHOAL_E_HTTP_BAD_REQUEST);
    }
}

int main(void)
{
    RUN(bodies_decode_across_any_split);
    RUN(bare_lf_and_empty_bodies);
    RUN(malformed_chunks_are_refused);
    return harness_finish();
}

/* The HTTP request head parser: what signalhub clients send parses, every prefix of it asks for
 * more, and each kind of malformed or hostile head gets its own answer. */
#include "harness.h"

#include "shoal/hub.h"

#include <stdlib.h>
#include <string.h>

static long parse(const char *s, size_t len, shoal_http_request *req)
{
    char *g = harness_guarded(s, len);
    long rc = shoal_http_parse_request(g, len, req);
    /* The target and the host borrow from the buffer: copy what the checks read before
     * freeing it. */
    static char target[256], host[256];
    if (rc > 0 && req->target_len < sizeof target) {
        memcpy(target, req->target, req->target_len);
        req->target = target;
    }
    if (rc > 0 && req->host && req->host_len < sizeof host) {
        memcpy(host, req->host, req->host_len);
        req->host = host;
    }
    free(g);
    return rc;
}

static void clients_requests_parse(void)
{
    shoal_http_request req;
    const char *get = "GET /v1/app/all,abc HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n"
                      "Accept: text/event-stream\r\n\r\n";
    CHECK_EQ_INT(parse(get, strlen(get), &req), strlen(get));
    CHECK_EQ_INT(req.method, SHOAL_HTTP_GET);
    CHECK_EQ_MEM(req.target, req.target_len, "/v1/app/all,abc", 15);
    CHECK(req.keep_alive);
    CHECK(!req.has_length);
    CHECK_EQ_MEM(req.host, req.host_len, "127.0.0.1:9000", 14);
    CHECK(!req.authorization);

    const char *signed_get = "GET /v1/ice HTTP/1.1\r\nAuthorization:  SSB-Ed25519 x 1 y \r\n\r\n";
    char *g = harness_guarded(signed_get, strlen(signed_get));
    CHECK_EQ_INT(shoal_http_parse_request(g, strlen(signed_get), &req), strlen(signed_get));
    CHECK_EQ_MEM(req.authorization, req.authorization_len, "SSB-Ed25519 x 1 y", 17);
    free(g);

    const char *post = "POST /v1/app/abc HTTP/1.1\r\ncontent-type: application/json\r\n"
                       "Content-Length:  12 \r\nConnection: close\r\n\r\n{\"a\":\"b\"}   ";
    long n = parse(post, strlen(post), &req);
    CHECK_EQ_INT(n, strlen(post) - 12);
    CHECK_EQ_INT(req.method, SHOAL_HTTP_POST);
    CHECK(req.has_length);
    CHECK_EQ_INT(req.content_length, 12);
    CHECK(!req.keep_alive);

    const char *old = "OPTIONS /x HTTP/1.0\nTransfer-Encoding: chunked\nExpect: 100-continue\n\n";
    CHECK_EQ_INT(parse(old, strlen(old), &req), strlen(old));
    CHECK_EQ_INT(req.method, SHOAL_HTTP_OPTIONS);
    CHECK_EQ_INT(req.minor_version, 0);
    CHECK(!req.keep_alive);
    CHECK(req.chunked);
    CHECK(req.expect_continue);
    CHECK(!req.host);

    const char *leading = "\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    CHECK_EQ_INT(parse(leading, strlen(leading), &req), strlen(leading));
    const char *weird = "BREW /pot HTTP/1.1\r\n\r\n";
    CHECK_EQ_INT(parse(weird, strlen(weird), &req), strlen(weird));
    CHECK_EQ_INT(req.method, SHOAL_HTTP_OTHER);
}

static void every_prefix_asks_for_more(void)
{
    const char *head = "POST /v1/app/abc HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n";
    shoal_http_request req;
    for (size_t n = 0; n < strlen(head); n++)
        if (!CHECK_EQ_ERR((int)parse(head, n, &req), SHOAL_E_AGAIN))
            printf("    prefix of %zu bytes\n", n);
}

static void malformed_heads_are_bad_requests(void)
{
    const char *bad[] = {
        "GET\r\n\r\n",
        "GET  / HTTP/1.1\r\n\r\n",
        "GET x HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1 \r\n\r\n",
        "GET / FTP/1.1\r\n\r\n",
        "G(T / HTTP/1.1\r\n\r\n",
        "GET /a\x01 HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nNo-Colon\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\x01\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n",
        "GET /v1/ice HTTP/1.1\r\nAuthorization: a\r\nauthorization: b\r\n\r\n",
    };
    shoal_http_request req;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (!CHECK_EQ_ERR((int)parse(bad[i], strlen(bad[i]), &req), SHOAL_E_HTTP_BAD_REQUEST))
            printf("    input %zu: %s\n", i, bad[i]);
    /* Equal repeated lengths are fine. */
    const char *same = "POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n";
    CHECK(parse(same, strlen(same), &req) > 0);
}

static void versions_codings_and_sizes_have_their_own_answers(void)
{
    shoal_http_request req;
    const char *v2 = "GET / HTTP/2.0\r\n\r\n";
    CHECK_EQ_ERR((int)parse(v2, strlen(v2), &req), SHOAL_E_HTTP_VERSION);
    const char *gz = "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
    CHECK_EQ_ERR((int)parse(gz, strlen(gz), &req), SHOAL_E_HTTP_ENCODING);

    char *big = malloc(SHOAL_HTTP_MAX_HEAD + 100);
    strcpy(big, "GET / HTTP/1.1\r\nX: ");
    size_t n = strlen(big);
    memset(big + n, 'a', SHOAL_HTTP_MAX_HEAD + 100 - n);
    CHECK_EQ_ERR((int)parse(big, SHOAL_HTTP_MAX_HEAD + 100, &req), SHOAL_E_HTTP_HEAD_TOO_LARGE);
    CHECK_EQ_ERR((int)parse(big, SHOAL_HTTP_MAX_HEAD - 1, &req), SHOAL_E_AGAIN);
    free(big);

    shoal_buf many = SHOAL_BUF_INIT;
    shoal_buf_append_str(&many, "GET / HTTP/1.1\r\n");
    for (int i = 0; i <= SHOAL_HTTP_MAX_HEADERS; i++)
        shoal_buf_appendf(&many, "X-%d: y\r\n", i);
    shoal_buf_append_str(&many, "\r\n");
    CHECK_EQ_ERR((int)parse(many.data, many.len, &req), SHOAL_E_HTTP_HEAD_TOO_LARGE);
    shoal_buf_free(&many);
}

int main(void)
{
    RUN(clients_requests_parse);
    RUN(every_prefix_asks_for_more);
    RUN(malformed_heads_are_bad_requests);
    RUN(versions_codings_and_sizes_have_their_own_answers);
    return harness_finish();
}

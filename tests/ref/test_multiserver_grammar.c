/* The multiserver address grammar: the cases of multiserver-address 1.0's test suite, escapes,
 * every prefix of a valid address, strings generated at random from the grammar, and allocation
 * failure at every step. */
#include "harness.h"

#include "shoal/ref.h"

#include <stdlib.h>
#include <string.h>

static int parse(shoal_ms **ms, const char *s, size_t len, size_t *at)
{
    char *g = harness_guarded(s, len);
    int rc = shoal_ms_parse(ms, g, len, at);
    free(g);
    return rc;
}

/* Parses `s` and checks format(parse(s)) == s. */
static shoal_ms *valid(const char *s)
{
    shoal_ms *ms = NULL;
    size_t at = 0;
    if (!CHECK_EQ_ERR(parse(&ms, s, strlen(s), &at), SHOAL_OK)) {
        printf("    input: %s (error at %zu)\n", s, at);
        return NULL;
    }
    shoal_buf b = SHOAL_BUF_INIT;
    shoal_ms_format(ms, &b);
    CHECK_EQ_ERR(shoal_buf_status(&b), SHOAL_OK);
    CHECK_EQ_STR(b.data ? b.data : "", s);
    shoal_buf_free(&b);
    return ms;
}

static void invalid(const char *s, int code, size_t offset)
{
    shoal_ms *ms = NULL;
    size_t at = 999;
    CHECK_EQ_ERR(parse(&ms, s, strlen(s), &at), code);
    CHECK_EQ_INT(at, offset);
    CHECK(ms == NULL);
}

static void reference_valid_addresses_round_trip(void)
{
    const char *cases[] = {
        "net:host.com:8008",
        "net:host.com:8008~shs:oaercuhroaecuh",
        "net:host.com:8008~shs:oaercuhroaecuh~gzip",
        "ws://host.com:8008~shs:oaercuhroaecuh~gzip",
        "ws://host.com:8008~shs:oaercuhroaecuh~gzip;net:host.com:8008~shs:oaercuhroaecuh~gzip",
        "shs:::",
        "net:145.12.20.3:8080~shs:gYCJpN4eGDjHFnWW2Fcusj8O4QYbVDUW6rNYh7nNEnc=",
        "onion:xyz.onion:8080~shs:gYCJpN4eGDjHFnWW2Fcusj8O4QYbVDUW6rNYh7nNEnc=",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        shoal_ms_free(valid(cases[i]));
}

static void reference_invalid_addresses_are_rejected_where_they_break(void)
{
    invalid("", SHOAL_E_MS_EMPTY, 0);
    invalid(":host.com:8008", SHOAL_E_MS_NAME, 0);
    invalid("1a:host.com:8008", SHOAL_E_MS_NAME, 0);
    invalid("ABC:host.com:8008", SHOAL_E_MS_NAME, 0);
    invalid("a.b:host.com:8008", SHOAL_E_MS_NAME, 1);
    invalid("~:host.com:8008", SHOAL_E_MS_EMPTY, 0);
    invalid(";:host.com:8008", SHOAL_E_MS_EMPTY, 0);
    invalid("!:host.com:8008", SHOAL_E_MS_NAME, 0);
    invalid("net:host.com:8008~", SHOAL_E_MS_EMPTY, 18);
    invalid("net:host.com:8008~~gzip", SHOAL_E_MS_EMPTY, 18);
}

static void names_data_and_escapes_follow_the_grammar(void)
{
    invalid("n:x", SHOAL_E_MS_NAME, 1); /* a name has at least two characters */
    invalid("net host", SHOAL_E_MS_NAME, 3);
    invalid("net:ho st", SHOAL_E_MS_CHAR, 6);
    invalid("net:h\x7fst", SHOAL_E_MS_CHAR, 5);
    invalid("net:h\xc3\xa9", SHOAL_E_MS_CHAR, 5);
    invalid("net:a!b", SHOAL_E_MS_ESCAPE, 6);
    invalid("net:a!", SHOAL_E_MS_ESCAPE, 6);
    invalid("net:a;", SHOAL_E_MS_EMPTY, 6);
    shoal_ms_free(valid("x-1:\"#$%&'()*+,-./0123456789<=>?@AZ[\\]^_`az{|}"));

    shoal_ms *ms = valid("dns:a!:b!~c!;d!!e:;net:x:1");
    if (ms) {
        CHECK_EQ_INT(ms->naddrs, 2);
        CHECK_EQ_INT(ms->addrs[0].nprotos, 1);
        CHECK_EQ_STR(ms->addrs[0].protos[0].name, "dns");
        CHECK_EQ_INT(ms->addrs[0].protos[0].nfields, 2);
        CHECK_EQ_STR(ms->addrs[0].protos[0].fields[0], "a:b~c;d!e");
        CHECK_EQ_STR(ms->addrs[0].protos[0].fields[1], "");
        CHECK_EQ_STR(ms->addrs[1].protos[0].fields[1], "1");
    }
    shoal_ms_free(ms);
}

static void structure_is_exposed_in_order(void)
{
    shoal_ms *ms = valid("net:host.com:8008~shs:KEY~gzip;ws://host.com:80~noauth");
    if (!ms)
        return;
    CHECK_EQ_INT(ms->naddrs, 2);
    CHECK_EQ_INT(ms->addrs[0].nprotos, 3);
    CHECK_EQ_STR(ms->addrs[0].protos[0].name, "net");
    CHECK_EQ_STR(ms->addrs[0].protos[0].fields[0], "host.com");
    CHECK_EQ_STR(ms->addrs[0].protos[0].fields[1], "8008");
    CHECK_EQ_STR(ms->addrs[0].protos[1].name, "shs");
    CHECK_EQ_INT(ms->addrs[0].protos[2].nfields, 0);
    CHECK_EQ_STR(ms->addrs[1].protos[0].fields[0], "//host.com");
    CHECK_EQ_STR(ms->addrs[1].protos[1].name, "noauth");
    CHECK(shoal_ms_addr_is_ssb(&ms->addrs[0]));
    shoal_ms_free(ms);
    ms = valid("net:host.com:8008");
    if (ms)
        CHECK(!shoal_ms_addr_is_ssb(&ms->addrs[0]));
    shoal_ms_free(ms);
}

/* A prefix of a valid address is either valid or fails at its very end: nothing before the cut
 * was wrong. */
static void every_prefix_is_valid_or_fails_at_its_end(void)
{
    const char *cases[] = {
        ("net:145.12.20.3:8080~shs:gYCJpN4eGDjHFnWW2Fcusj8O4QYbVDUW6rNYh7nNEnc=:DxiHEv+ds+zUzA49efD"
         "gZk8ssGeqrp/5kgvRVzTM7vU="),
        "ws://host.com:8008~shs:oaercuhroaecuh~gzip;net:host.com:8008~shs:oaercuhroaecuh~gzip",
        "dns:a!:b!~c!;d!!e:;net:x:1",
        "rtc:hub.example.com:443~shs:gYCJpN4eGDjHFnWW2Fcusj8O4QYbVDUW6rNYh7nNEnc=",
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t len = strlen(cases[k]);
        for (size_t n = 0; n <= len; n++) {
            shoal_ms *ms = NULL;
            size_t at = 999;
            int rc = parse(&ms, cases[k], n, &at);
            if (rc == SHOAL_OK) {
                shoal_buf b = SHOAL_BUF_INIT;
                shoal_ms_format(ms, &b);
                CHECK_EQ_MEM(b.data, b.len, cases[k], n);
                shoal_buf_free(&b);
                shoal_ms_free(ms);
            } else if (!CHECK_EQ_INT(at, n)) {
                printf("    prefix: %.*s (%s)\n", (int)n, cases[k], shoal_errname(rc));
            }
        }
    }
}

/* A tiny deterministic generator (xorshift) so the random cases are the same on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static void generate(shoal_buf *b)
{
    static const char name_first[] = "abcdefghijklmnopqrstuvwxyz";
    static const char name_rest[] = "abcdefghijklmnopqrstuvwxyz0123456789-";
    unsigned addrs = 1 + rnd(3);
    for (unsigned a = 0; a < addrs; a++) {
        if (a)
            shoal_buf_append_char(b, ';');
        unsigned protos = 1 + rnd(3);
        for (unsigned p = 0; p < protos; p++) {
            if (p)
                shoal_buf_append_char(b, '~');
            shoal_buf_append_char(b, name_first[rnd(26)]);
            for (unsigned i = 0, n = 1 + rnd(6); i < n; i++)
                shoal_buf_append_char(b, name_rest[rnd(sizeof name_rest - 1)]);
            for (unsigned f = 0, nf = rnd(4); f < nf; f++) {
                shoal_buf_append_char(b, ':');
                for (unsigned i = 0, n = rnd(8); i < n; i++) {
                    unsigned k = rnd(20);
                    if (k == 0) {
                        shoal_buf_append_char(b, '!');
                        shoal_buf_append_char(b, "!~:;"[rnd(4)]);
                    } else {
                        unsigned c = 0x22 + rnd(0x7e - 0x22 - 2);
                        shoal_buf_append_char(b, (char)(c >= 0x3a ? c + 2 : c));
                    }
                }
            }
        }
    }
}

static void generated_addresses_round_trip(void)
{
    for (int i = 0; i < 5000; i++) {
        shoal_buf b = SHOAL_BUF_INIT;
        generate(&b);
        shoal_ms_free(valid(b.data));
        shoal_buf_free(&b);
    }
}

static void generated_garbage_never_crashes(void)
{
    for (int i = 0; i < 20000; i++) {
        char s[48];
        size_t len = rnd(sizeof s);
        for (size_t k = 0; k < len; k++)
            s[k] = (char)(rnd(4) ? "net:~;!shs=abc.1"[rnd(16)] : (int)rnd(256));
        shoal_ms *ms = NULL;
        size_t at = 999;
        int rc = parse(&ms, s, len, &at);
        if (rc == SHOAL_OK) {
            shoal_buf b = SHOAL_BUF_INIT;
            shoal_ms_format(ms, &b);
            CHECK_EQ_MEM(b.data, b.len, s, len);
            shoal_buf_free(&b);
            shoal_ms_free(ms);
        } else {
            CHECK(at <= len);
        }
    }
}

static void overlong_input_is_refused(void)
{
    size_t len = 70000;
    char *s = malloc(len);
    memset(s, 'a', len);
    shoal_ms *ms = NULL;
    size_t at = 0;
    CHECK_EQ_ERR(shoal_ms_parse(&ms, s, len, &at), SHOAL_E_TOOLONG);
    free(s);
}

static int parse_and_format(void *ctx)
{
    const char *s = ctx;
    shoal_ms *ms = NULL;
    int rc = shoal_ms_parse(&ms, s, strlen(s), NULL);
    if (rc != SHOAL_OK)
        return rc;
    shoal_buf b = SHOAL_BUF_INIT;
    shoal_ms_format(ms, &b);
    rc = shoal_buf_status(&b);
    shoal_buf_free(&b);
    shoal_ms_free(ms);
    return rc;
}

static void allocation_failure_at_every_step_is_reported(void)
{
    harness_failmalloc_sweep(parse_and_format,
                             "net:host.com:8008~shs:oaercuhroaecuh~gzip;ws://h!:o:1~shs:x");
}

int main(void)
{
    RUN(reference_valid_addresses_round_trip);
    RUN(reference_invalid_addresses_are_rejected_where_they_break);
    RUN(names_data_and_escapes_follow_the_grammar);
    RUN(structure_is_exposed_in_order);
    RUN(every_prefix_is_valid_or_fails_at_its_end);
    RUN(generated_addresses_round_trip);
    RUN(generated_garbage_never_crashes);
    RUN(overlong_input_is_refused);
    RUN(allocation_failure_at_every_step_is_reported);
    return harness_finish();
}

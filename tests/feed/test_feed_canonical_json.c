/* JSON as V8 writes it for SSB's signatures: numbers as Number::toString prints them, strings
 * escaped exactly, integer-like keys first, repeated keys in their first place, two-space
 * indentation; and the parser's strictness. */
#include "harness.h"
#include "shoal/feed.h"

#include <stdlib.h>
#include <string.h>

/* The UTF-8 of V8's JSON.stringify(JSON.parse(text), null, 2), or "ERR". */
static char *canonical(const char *text)
{
    shoal_json *v;
    char *guarded = harness_guarded(text, strlen(text));
    int rc = shoal_json_parse(guarded, strlen(text), &v);
    free(guarded);
    if (rc != SHOAL_OK)
        return strdup("ERR");
    shoal_u16buf u = {0};
    shoal_json_stringify(v, NULL, &u);
    shoal_buf b = SHOAL_BUF_INIT;
    shoal_u16_to_utf8(u.data, u.len, &b);
    shoal_buf_append_char(&b, '\0');
    shoal_u16buf_free(&u);
    shoal_json_free(v);
    return b.data;
}

static void check(const char *in, const char *out)
{
    char *got = canonical(in);
    if (!CHECK_EQ_STR(got, out))
        fprintf(stderr, "  for %s\n", in);
    free(got);
}

static void numbers_print_as_ecmascript_prints_them(void)
{
    static const char *const cases[][2] = {
        {"0", "0"},
        {"-0", "0"},
        {"1", "1"},
        {"1.0", "1"},
        {"0.1", "0.1"},
        {"1e21", "1e+21"},
        {"1e20", "100000000000000000000"},
        {"123e-20", "1.23e-18"},
        {"0.000001", "0.000001"},
        {"1e-7", "1e-7"},
        {"-1.5e-7", "-1.5e-7"},
        {"1.7976931348623157e308", "1.7976931348623157e+308"},
        {"5e-324", "5e-324"},
        {"0.30000000000000004", "0.30000000000000004"},
        {"123456789012345680000", "123456789012345680000"},
        {"1491901740000", "1491901740000"},
        {"2.5", "2.5"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check(cases[i][0], cases[i][1]);
}

static void strings_escape_exactly_as_v8(void)
{
    check("\"a\\\"b\\\\c\\/d\"", "\"a\\\"b\\\\c/d\"");
    check("\"\\b\\f\\n\\r\\t\\u0001\\u001f\"", "\"\\b\\f\\n\\r\\t\\u0001\\u001f\"");
    check("\"\\u00e9\\u2028 é 😀\"", "\"é\u2028 é 😀\"");
    check("\"\\ud800 \\udc00x\"", "\"\\ud800 \\udc00x\""); /* lone surrogates stay escaped */
    check("\"\\uD83D\\uDE00\"", "\"😀\"");
}

static void keys_come_in_javascripts_order(void)
{
    check("{\"b\":1,\"2\":2,\"a\":3,\"1\":4,\"01\":5,\"4294967295\":6,\"4294967294\":7}",
          "{\n  \"1\": 4,\n  \"2\": 2,\n  \"4294967294\": 7,\n  \"b\": 1,\n  \"a\": 3,\n"
          "  \"01\": 5,\n  \"4294967295\": 6\n}");
    check("{\"a\":1,\"b\":2,\"a\":3}", "{\n  \"a\": 3,\n  \"b\": 2\n}");
    check("{\"x\":[1,[],{},{\"y\":null}],\"z\":true}",
          "{\n  \"x\": [\n    1,\n    [],\n    {},\n    {\n      \"y\": null\n    }\n  ],\n"
          "  \"z\": true\n}");
}

static void malformed_json_is_refused(void)
{
    static const char *const bad[] = {"",          "{",     "[1,]",  "{\"a\":1,}",   "01",
                                      "1.",        ".5",    "+1",    "\"\\x\"",      "nul",
                                      "\"a\nb\"",  "[1] 2", "{a:1}", "\"\xff\"",     "\"\xc0\xaf\"",
                                      "\"\\ud8\"", "1e",    "--1",   "[\"\\u12G4\"]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        check(bad[i], "ERR");
    char deep[2000];
    memset(deep, '[', 600);
    memset(deep + 600, ']', 600);
    deep[1200] = '\0';
    check(deep, "ERR"); /* nesting beyond 512 */
}

int main(void)
{
    RUN(numbers_print_as_ecmascript_prints_them);
    RUN(strings_escape_exactly_as_v8);
    RUN(keys_come_in_javascripts_order);
    RUN(malformed_json_is_refused);
    return harness_finish();
}

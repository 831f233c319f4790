/* Server-Sent Events: the hub's framing, and the client's parser reading it back (and what
 * other servers write), split anywhere. */
#include "harness.h"

#include "shoal/hub.h"

#include <stdlib.h>
#include <string.h>

typedef struct seen {
    char log[4096];
} seen;

static void on_event(const char *data, size_t len, const char *type, void *ud)
{
    seen *s = ud;
    size_t n = strlen(s->log);
    snprintf(s->log + n, sizeof s->log - n, "[%s:%.*s]", type, (int)len, data);
}

static void on_comment(const char *text, size_t len, void *ud)
{
    seen *s = ud;
    size_t n = strlen(s->log);
    snprintf(s->log + n, sizeof s->log - n, "(%.*s)", (int)len, text);
}

/* Parses `in` fed in pieces of `step` bytes. */
static int parse(const char *in, size_t len, size_t step, seen *s, size_t max)
{
    memset(s, 0, sizeof *s);
    shoal_sse_callbacks cb = {on_event, on_comment, s};
    shoal_sse_parser *p;
    if (shoal_sse_parser_new(&p, &cb, max) != SHOAL_OK)
        return SHOAL_E_NOMEM;
    int rc = SHOAL_OK;
    for (size_t at = 0; at < len && rc == SHOAL_OK; at += step) {
        size_t n = len - at < step ? len - at : step;
        char *piece = harness_guarded(in + at, n);
        rc = shoal_sse_feed(p, piece, n);
        free(piece);
    }
    shoal_sse_parser_free(p);
    return rc;
}

static void the_hub_writes_what_signalhub_writes(void)
{
    shoal_buf b = SHOAL_BUF_INIT;
    const char *announce = "{\"type\":\"connect\",\"from\":\"abc\"}";
    shoal_sse_encode(announce, strlen(announce), &b);
    CHECK_EQ_STR(b.data, "data: {\"type\":\"connect\",\"from\":\"abc\"}\n\n");
    shoal_buf_reset(&b);
    shoal_sse_encode("", 0, &b);
    CHECK_EQ_STR(b.data, "data: \n\n");
    shoal_buf_reset(&b);
    /* Lines become data lines, which EventSource joins back with LF. */
    shoal_sse_encode("a\nb\r\nc\rd", 8, &b);
    CHECK_EQ_STR(b.data, "data: a\ndata: b\ndata: c\ndata: d\n\n");
    shoal_buf_free(&b);
}

static void streams_parse_however_they_are_split(void)
{
    const char *in = "\xef\xbb\xbf:heartbeat signal\n\ndata: {\"a\":1}\n\n"
                     "data: a\r\ndata: b\r\n\r\nevent: x\ndata\ndata:y\rid: 3\rretry: 9\r\r"
                     "data: lost at the end";
    for (size_t step = 1; step <= strlen(in); step++) {
        seen s;
        CHECK_EQ_ERR(parse(in, strlen(in), step, &s, 1024), SHOAL_OK);
        if (!CHECK_EQ_STR(s.log, "(heartbeat signal)[message:{\"a\":1}][message:a\nb][x:\ny]"))
            printf("    step %zu\n", step);
    }
}

static void the_encoder_round_trips(void)
{
    const char *bodies[] = {"{}", "", "multi\nline\r\nbody", "\n", "x\r"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        shoal_buf b = SHOAL_BUF_INIT;
        shoal_sse_encode(bodies[i], strlen(bodies[i]), &b);
        seen s;
        CHECK_EQ_ERR(parse(b.data, b.len, 3, &s, 1024), SHOAL_OK);
        /* CR and CRLF come back as LF. */
        char expected[256] = "[message:";
        size_t n = strlen(expected);
        for (const char *c = bodies[i]; *c; c++) {
            if (*c == '\r' && c[1] == '\n')
                continue;
            expected[n++] = *c == '\r' ? '\n' : *c;
        }
        expected[n++] = ']';
        expected[n] = '\0';
        CHECK_EQ_STR(s.log, expected);
        shoal_buf_free(&b);
    }
}

static void oversized_events_and_lines_stop_the_stream(void)
{
    seen s;
    char big[300];
    memset(big, 'x', sizeof big);
    CHECK_EQ_ERR(parse(big, sizeof big, 7, &s, 100), SHOAL_E_SSE_TOO_LARGE);
    const char *many = "data: 0123456789\ndata: 0123456789\ndata: 0123456789\n\n";
    CHECK_EQ_ERR(parse(many, strlen(many), 5, &s, 30), SHOAL_E_SSE_TOO_LARGE);
}

int main(void)
{
    RUN(the_hub_writes_what_signalhub_writes);
    RUN(streams_parse_however_they_are_split);
    RUN(the_encoder_round_trips);
    RUN(oversized_events_and_lines_stop_the_stream);
    return harness_finish();
}

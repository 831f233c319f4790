/* shoal_buf grows as needed, stays NUL-terminated, and fails sticky when memory runs out. */
#include "harness.h"

#include <stdint.h>
#include <string.h>

static void appends_grow_and_terminate(void)
{
    shoal_buf b = SHOAL_BUF_INIT;
    shoal_buf_append_str(&b, "net:");
    shoal_buf_appendf(&b, "%s:%u", "127.0.0.1", 8008u);
    shoal_buf_append_char(&b, '~');
    CHECK_EQ_ERR(shoal_buf_status(&b), SHOAL_OK);
    CHECK_EQ_STR(b.data, "net:127.0.0.1:8008~");
    CHECK_EQ_INT(b.len, strlen("net:127.0.0.1:8008~"));
    for (int i = 0; i < 1000; i++)
        shoal_buf_append(&b, "0123456789", 10);
    CHECK_EQ_INT(b.len, 19 + 10000);
    CHECK_EQ_INT(b.data[b.len], '\0');
    CHECK(b.cap > b.len);
    shoal_buf_free(&b);
    CHECK(b.data == NULL);
    shoal_buf_free(&b);
}

static void empty_appends_change_nothing(void)
{
    shoal_buf b = SHOAL_BUF_INIT;
    shoal_buf_append(&b, "", 0);
    shoal_buf_appendf(&b, "%s", "");
    CHECK(b.data == NULL);
    CHECK_EQ_INT(b.len, 0);
    CHECK_EQ_ERR(shoal_buf_status(&b), SHOAL_OK);
}

static void reset_keeps_memory_and_clears_failure(void)
{
    shoal_buf b = SHOAL_BUF_INIT;
    shoal_buf_append_str(&b, "abc");
    char *mem = b.data;
    shoal_buf_reset(&b);
    CHECK_EQ_INT(b.len, 0);
    CHECK_EQ_STR(b.data, "");
    CHECK(b.data == mem);
    b.status = SHOAL_E_NOMEM;
    shoal_buf_reset(&b);
    CHECK_EQ_ERR(shoal_buf_status(&b), SHOAL_OK);
    shoal_buf_free(&b);
}

static int build_long_text(void *ctx)
{
    (void)ctx;
    shoal_buf b = SHOAL_BUF_INIT;
    for (int i = 0; i < 200; i++)
        shoal_buf_appendf(&b, "line %d\n", i);
    int rc = shoal_buf_status(&b);
    /* After a failure nothing more is written. */
    if (rc != SHOAL_OK) {
        size_t len = b.len;
        shoal_buf_append_str(&b, "more");
        CHECK_EQ_INT(b.len, len);
    }
    shoal_buf_free(&b);
    return rc;
}

static void failure_is_sticky_at_every_allocation(void)
{
    size_t allocs = harness_failmalloc_sweep(build_long_text, NULL);
    CHECK(allocs >= 3);
}

static void extend_hands_out_room_at_the_end(void)
{
    shoal_buf b = SHOAL_BUF_INIT;
    shoal_buf_append_str(&b, "ab");
    char *room = shoal_buf_extend(&b, 3);
    memcpy(room, "cde", 3);
    CHECK_EQ_STR(b.data, "abcde");
    CHECK(shoal_buf_extend(&b, SIZE_MAX) == NULL);
    CHECK_EQ_ERR(shoal_buf_status(&b), SHOAL_E_NOMEM);
    shoal_buf_free(&b);
}

static void an_output_queue_drains_from_the_front_and_reuses_memory(void)
{
    shoal_outq q = SHOAL_OUTQ_INIT;
    size_t len;
    CHECK(shoal_outq_peek(&q, &len) == NULL);
    CHECK_EQ_INT(len, 0);
    for (int round = 0; round < 100; round++) {
        shoal_buf_append(&q.buf, "0123456789", 10);
        shoal_outq_drain(&q, 7);
    }
    /* 300 bytes remain, and the buffer never grew to hold all 1,000 */
    CHECK_EQ_INT(shoal_outq_len(&q), 300);
    CHECK(q.buf.cap < 1000);
    const uint8_t *p = shoal_outq_peek(&q, &len);
    CHECK_EQ_MEM(p, 3, "012", 3); /* byte 700 of the stream */
    shoal_outq_drain(&q, SIZE_MAX);
    CHECK_EQ_INT(shoal_outq_len(&q), 0);
    CHECK_EQ_INT(q.head, 0);
    shoal_buf_free(&q.buf);
}

int main(void)
{
    RUN(appends_grow_and_terminate);
    RUN(empty_appends_change_nothing);
    RUN(reset_keeps_memory_and_clears_failure);
    RUN(failure_is_sticky_at_every_allocation);
    RUN(extend_hands_out_room_at_the_end);
    RUN(an_output_queue_drains_from_the_front_and_reuses_memory);
    return harness_finish();
}

/* libFuzzer target for the feed module: JSON parsing, V8-style serialisation and message
 * validation. The oracle: what shoal writes, read back and written again, is the same bytes
 * (escapes, numbers and key order are stable); validation answers without crashing; and the
 * precheck (which cuts the signed bytes out of the canonical text) agrees with validation (which
 * lays them out anew). */
#include "shoal/feed.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void utf8_of(const shoal_json *v, shoal_buf *out)
{
    shoal_u16buf u = {0};
    shoal_json_stringify(v, NULL, &u);
    shoal_u16_to_utf8(u.data, u.len, out);
    shoal_u16buf_free(&u);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    shoal_json *v;
    if (shoal_json_parse((const char *)data, size, &v) == SHOAL_OK) {
        shoal_buf once = SHOAL_BUF_INIT, twice = SHOAL_BUF_INIT;
        utf8_of(v, &once);
        shoal_json *again;
        /* lone surrogates become U+FFFD in UTF-8, which reads back differently: skip those */
        bool lossy = once.len && memmem(once.data, once.len, "\\ud", 3) != NULL;
        if (!lossy) {
            if (shoal_json_parse(once.data ? once.data : "", once.len, &again) != SHOAL_OK)
                abort();
            utf8_of(again, &twice);
            if (once.len != twice.len || (once.len && memcmp(once.data, twice.data, once.len)))
                abort();
            shoal_json_free(again);
        }
        shoal_buf_free(&once);
        shoal_buf_free(&twice);
        shoal_json_free(v);
    }
    shoal_msg_info info;
    const char *reason;
    shoal_feed_state state = {.known = size & 1, .sequence = 1};
    int rc = shoal_msg_validate((const char *)data, size, &state, NULL, &info, &reason);
    if (rc == SHOAL_E_MSG_INVALID && !reason)
        abort();
    /* a message prechecked ok validates, its canonical text in the state it says it follows;
     * one the precheck refuses does not validate as a feed's first */
    const char *json = (const char *)data;
    shoal_buf text = SHOAL_BUF_INIT;
    shoal_msg_checked c;
    if (shoal_msg_precheck_batch(&json, &size, 1, NULL, 1, &text, &c) == SHOAL_OK) {
        shoal_feed_state follows = {.known = c.ok && c.previous == 1,
                                    .sequence = c.ok ? (int64_t)c.sequence - 1 : 0};
        memcpy(follows.id, c.previous_id, 32);
        shoal_msg_info again;
        if (c.ok &&
            (shoal_msg_validate(text.data, text.len, &follows, NULL, &again, NULL) != SHOAL_OK ||
             memcmp(again.id, c.info.id, 32) != 0))
            abort();
        shoal_feed_state first = {0};
        if (!c.ok && text.len &&
            shoal_msg_validate(text.data, text.len, &first, NULL, &again, NULL) == SHOAL_OK)
            abort();
    }
    shoal_buf_free(&text);
    return 0;
}

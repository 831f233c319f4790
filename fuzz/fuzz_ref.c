/* libFuzzer target for the ref parsers: ids, multiserver addresses (with typed decoding) and hub
 * addresses. Besides "no crash", it checks the round-trip properties the parsers promise. */
#include "shoal/ref.h"

#include <stdlib.h>
#include <string.h>

static void check_multiserver(const char *s, size_t len)
{
    shoal_ms *ms = NULL;
    if (shoal_ms_parse(&ms, s, len, NULL) != SHOAL_OK)
        return;
    shoal_buf b = SHOAL_BUF_INIT;
    shoal_ms_format(ms, &b);
    if (shoal_buf_status(&b) == SHOAL_OK && (b.len != len || memcmp(b.data, s, len) != 0))
        abort(); /* format(parse(x)) must be x */
    for (size_t a = 0; a < ms->naddrs; a++)
        for (size_t p = 0; p < ms->addrs[a].nprotos; p++) {
            shoal_ms_info info;
            (void)shoal_ms_proto_decode(&ms->addrs[a].protos[p], &info, NULL);
        }
    shoal_buf_free(&b);
    shoal_ms_free(ms);
}

static void check_hub(const char *s, size_t len)
{
    shoal_hub_addr hub, again;
    if (shoal_hub_addr_parse(&hub, s, len, NULL) != SHOAL_OK)
        return;
    /* The canonical form and the rtc form both read back as the same hub. */
    shoal_buf b = SHOAL_BUF_INIT;
    shoal_hub_addr_format(&hub, &b);
    if (shoal_hub_addr_parse(&again, b.data, b.len, NULL) != SHOAL_OK ||
        !shoal_hub_addr_equal(&hub, &again))
        abort();
    shoal_buf_reset(&b);
    shoal_hub_addr_format_rtc(&hub, &b);
    if (shoal_hub_addr_parse(&again, b.data, b.len, NULL) != SHOAL_OK ||
        !shoal_hub_addr_equal(&hub, &again))
        abort();
    shoal_buf_free(&b);
}

static void check_id(const char *s, size_t len)
{
    shoal_ref ref;
    char out[SHOAL_REF_STRSIZE];
    if (shoal_ref_parse(&ref, s, len, NULL) != SHOAL_OK)
        return;
    if (shoal_ref_format(&ref, out) != len || memcmp(out, s, len) != 0)
        abort(); /* ids are canonical: one spelling each */
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *s = (const char *)data;
    check_multiserver(s, size);
    check_hub(s, size);
    check_id(s, size);
    return 0;
}

/* libFuzzer target for the hub client's event-stream parser: the first byte picks how the rest
 * is split into reads, so splits inside CRLFs, BOMs and fields all get tried. */
#include "shoal/hub.h"

#include <stdlib.h>

static size_t events;

static void on_event(const char *data, size_t len, const char *type, void *ud)
{
    (void)ud;
    if (len > 4096 || (len > 0 && !data) || !type)
        abort();
    events++;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t step = 1 + data[0] % 17;
    shoal_sse_callbacks cb = {on_event, NULL, NULL};
    shoal_sse_parser *p;
    if (shoal_sse_parser_new(&p, &cb, 4096) != SHOAL_OK)
        return 0;
    for (size_t at = 1; at < size; at += step) {
        size_t n = size - at < step ? size - at : step;
        if (shoal_sse_feed(p, (const char *)data + at, n) != SHOAL_OK)
            break;
    }
    shoal_sse_parser_free(p);
    return 0;
}

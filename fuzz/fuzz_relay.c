/* libFuzzer target for the frames hubs share through Redis: whatever decodes must encode back
 * to the very same bytes (the frame has one spelling), and nothing may crash. */
#include "shoal/hub.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    shoal_hub_relayed m;
    if (shoal_hub_relay_decode((const char *)data, size, &m) != SHOAL_OK)
        return 0;
    shoal_buf again = SHOAL_BUF_INIT;
    shoal_hub_relay_encode(m.origin, &m.app, &m.channel, m.body, m.len, &again);
    if (shoal_buf_status(&again) != SHOAL_OK || again.len != size ||
        memcmp(again.data, data, size) != 0)
        abort();
    shoal_buf_free(&again);
    return 0;
}

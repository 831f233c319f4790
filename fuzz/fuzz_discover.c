/* libFuzzer target for shoal_discover: whatever a feed holds, it ends in one of its kinds with
 * nothing left over, a hub it names formats and parses back to itself, and it never follows or
 * unfollows our own feed. */
#include "shoal/discover.h"

#include <stdlib.h>
#include <string.h>

/* The feed of the seeds' contact messages' author:
 * @AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=.ed25519 */
static const uint8_t self[32] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    shoal_discovery found;
    int rc = shoal_discover((const char *)data, size, self, &found);
    static const shoal_discovery zero = {0};
    if (rc != SHOAL_OK && found.kind != SHOAL_DISCOVER_NOTHING)
        abort();
    switch (found.kind) {
    case SHOAL_DISCOVER_NOTHING:
        if (memcmp(&found, &zero, sizeof found) != 0)
            abort();
        break;
    case SHOAL_DISCOVER_FOLLOW:
    case SHOAL_DISCOVER_UNFOLLOW:
        if (memcmp(found.feed, self, 32) == 0)
            abort();
        break;
    case SHOAL_DISCOVER_HUB: {
        shoal_buf url = SHOAL_BUF_INIT;
        shoal_hub_addr again;
        shoal_hub_addr_format(&found.hub, &url);
        if (shoal_buf_status(&url) == SHOAL_OK &&
            (shoal_hub_addr_parse(&again, url.data, url.len, NULL) != SHOAL_OK ||
             !shoal_hub_addr_equal(&again, &found.hub)))
            abort();
        shoal_buf_free(&url);
        break;
    }
    default:
        abort();
    }
    return 0;
}

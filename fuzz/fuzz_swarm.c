/* libFuzzer target for the swarm's message reader (what hubs bring from anyone): whatever it
 * takes must carry a sender, and a signed announce a feed whose channel is its sender. */
#include "shoal/swarm.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    for (int compat = 0; compat < 2; compat++) {
        shoal_swarm_msg m;
        if (shoal_swarm_parse("shoal-fuzz", (const char *)data, size, 1795774478677, compat, &m) !=
            SHOAL_OK)
            continue;
        if (!m.from[0] || (m.kind == SHOAL_SWARM_SIGNAL) != (m.signal != NULL))
            abort();
        if (m.has_feed) {
            char channel[SHOAL_SWARM_CHANNEL_SIZE];
            shoal_swarm_channel(m.feed, channel);
            if (strcmp(channel, m.from) != 0)
                abort();
        } else if (!compat) {
            abort();
        }
        shoal_swarm_msg_clear(&m);
    }
    return 0;
}

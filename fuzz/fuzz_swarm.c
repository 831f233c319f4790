/* libFuzzer target for the swarm's message readers (what hubs bring from anyone), plain and
 * sealed: whatever they take must carry a sender, a signed announce a feed whose channel is its
 * sender, and a sealed signal must be a signal. The input is also sealed to the fuzzer's own key
 * and opened again, to reach the sealed reader's inner parse. */
#include "shoal/swarm.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* Opens `text` with our keys; checks what a sealed reader promises. */
static void open_one(const shoal_keypair *us, const char *text, size_t len)
{
    shoal_swarm_msg m;
    uint8_t nonce[24];
    bool sealed;
    if (shoal_swarm_open(us, "shoal-fuzz", text, len, 1795774478677, false, &m, nonce, &sealed) !=
        SHOAL_OK)
        return;
    if (!m.from[0] || (sealed && (m.kind != SHOAL_SWARM_SIGNAL || !m.has_feed)) ||
        (!sealed && m.kind == SHOAL_SWARM_SIGNAL && m.has_feed))
        abort();
    shoal_swarm_msg_clear(&m);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static shoal_keypair us;
    static char us_channel[SHOAL_SWARM_CHANNEL_SIZE];
    if (!us_channel[0]) {
        uint8_t seed[32] = {7};
        shoal_keypair_from_seed(&us, seed);
        shoal_swarm_channel(us.pub, us_channel);
    }
    open_one(&us, (const char *)data, size);
    shoal_buf sealed = SHOAL_BUF_INIT;
    if (shoal_swarm_seal(&us, us_channel, 1795774478677, (const char *)data, size, &sealed) ==
        SHOAL_OK)
        open_one(&us, sealed.data, sealed.len);
    shoal_buf_free(&sealed);
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

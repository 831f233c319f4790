/* libFuzzer target for the SDP reader and the DCEP parser. Whatever SDP is read must write out
 * and read back to the same description; a parsed DCEP OPEN must write out byte for byte. */
#include "shoal/sdp.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    shoal_sdp sdp, back;
    if (shoal_sdp_parse((const char *)data, size, &sdp) == SHOAL_OK) {
        shoal_buf text = SHOAL_BUF_INIT;
        shoal_sdp_write(&sdp, 1, &text);
        if (shoal_buf_status(&text) != SHOAL_OK ||
            shoal_sdp_parse(text.data, text.len, &back) != SHOAL_OK)
            abort();
        /* written out, an absent mid becomes "0" and an absent size stays absent */
        if (!sdp.mid[0])
            strcpy(sdp.mid, "0");
        if (memcmp(&sdp, &back, sizeof sdp) != 0)
            abort();
        shoal_buf_free(&text);
    }
    shoal_dcep msg;
    if (shoal_dcep_parse(data, size, &msg) == SHOAL_OK) {
        shoal_buf out = SHOAL_BUF_INIT;
        shoal_dcep_write(&msg, &out);
        if (out.len != size || memcmp(out.data, data, size) != 0)
            abort();
        shoal_buf_free(&out);
    }
    return 0;
}

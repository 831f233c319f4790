/* DCEP, the Data Channel Establishment Protocol (RFC 8832): its two messages (pure). */
#include "shoal/sdp.h"

#include <string.h>

int shoal_dcep_parse(const uint8_t *m, size_t len, shoal_dcep *out)
{
    memset(out, 0, sizeof *out);
    if (len == 1 && m[0] == SHOAL_DCEP_ACK) {
        out->type = SHOAL_DCEP_ACK;
        return SHOAL_OK;
    }
    /* OPEN: type, channel type, priority (2), reliability (4), label and protocol lengths (2
     * each), then the label and the protocol */
    if (len < 12 || m[0] != SHOAL_DCEP_OPEN)
        return SHOAL_E_DCEP;
    uint16_t label_len = (uint16_t)(m[8] << 8 | m[9]), proto_len = (uint16_t)(m[10] << 8 | m[11]);
    if (len != 12u + label_len + proto_len)
        return SHOAL_E_DCEP;
    out->type = SHOAL_DCEP_OPEN;
    out->channel_type = m[1];
    out->priority = (uint16_t)(m[2] << 8 | m[3]);
    out->reliability = (uint32_t)m[4] << 24 | (uint32_t)m[5] << 16 | (uint32_t)m[6] << 8 | m[7];
    out->label = (const char *)m + 12;
    out->label_len = label_len;
    out->protocol = (const char *)m + 12 + label_len;
    out->protocol_len = proto_len;
    return SHOAL_OK;
}

void shoal_dcep_write(const shoal_dcep *msg, shoal_buf *out)
{
    if (msg->type != SHOAL_DCEP_OPEN) {
        shoal_buf_append_char(out, (char)SHOAL_DCEP_ACK);
        return;
    }
    uint8_t h[12] = {SHOAL_DCEP_OPEN,
                     msg->channel_type,
                     (uint8_t)(msg->priority >> 8),
                     (uint8_t)msg->priority,
                     (uint8_t)(msg->reliability >> 24),
                     (uint8_t)(msg->reliability >> 16),
                     (uint8_t)(msg->reliability >> 8),
                     (uint8_t)msg->reliability,
                     (uint8_t)(msg->label_len >> 8),
                     (uint8_t)msg->label_len,
                     (uint8_t)(msg->protocol_len >> 8),
                     (uint8_t)msg->protocol_len};
    shoal_buf_append(out, h, sizeof h);
    shoal_buf_append(out, msg->label, msg->label_len);
    shoal_buf_append(out, msg->protocol, msg->protocol_len);
}

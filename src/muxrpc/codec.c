/* packet-stream-codec: the 9-byte header and the streaming packet decoder. */
#include "shoal/muxrpc.h"

#include <string.h>

enum state { READ_HEADER, READ_BODY, SAID_GOODBYE, FAILED };

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void shoal_rpc_header_encode(const shoal_rpc_packet *p, uint8_t out[SHOAL_RPC_HEADER_SIZE])
{
    out[0] = (uint8_t)((p->stream ? SHOAL_RPC_FLAG_STREAM : 0) | (p->end ? SHOAL_RPC_FLAG_END : 0) |
                       (p->type & 3));
    put_u32(out + 1, p->len);
    put_u32(out + 5, (uint32_t)p->req);
}

void shoal_rpc_decoder_init(shoal_rpc_decoder *dec, uint32_t max_body)
{
    memset(dec, 0, sizeof *dec);
    dec->max_body = max_body;
}

void shoal_rpc_decoder_free(shoal_rpc_decoder *dec)
{
    shoal_free(dec->body);
    dec->body = NULL;
    dec->body_cap = 0;
}

static long fail(shoal_rpc_decoder *dec, int err)
{
    dec->state = FAILED;
    dec->error = err;
    return err;
}

/* Reads the gathered header into dec->packet, and readies the body buffer. */
static int open_header(shoal_rpc_decoder *dec, bool *goodbye)
{
    const uint8_t *h = dec->header;
    shoal_rpc_packet *p = &dec->packet;
    p->len = get_u32(h + 1);
    if (p->len == 0) {
        dec->state = SAID_GOODBYE;
        *goodbye = true;
        return SHOAL_OK;
    }
    if ((h[0] & 3) == 3)
        return SHOAL_E_RPC_TYPE;
    if (p->len > dec->max_body)
        return SHOAL_E_RPC_TOO_LARGE;
    p->stream = h[0] & SHOAL_RPC_FLAG_STREAM;
    p->end = h[0] & SHOAL_RPC_FLAG_END;
    p->type = (shoal_rpc_body_type)(h[0] & 3);
    p->req = (int32_t)get_u32(h + 5);
    if (p->len > dec->body_cap) {
        uint8_t *grown = shoal_realloc(dec->body, p->len);
        if (!grown)
            return SHOAL_E_NOMEM;
        dec->body = grown;
        dec->body_cap = p->len;
    }
    dec->state = READ_BODY;
    return SHOAL_OK;
}

long shoal_rpc_decode(shoal_rpc_decoder *dec, const uint8_t *in, size_t len, shoal_rpc_packet *out,
                      bool *got, bool *goodbye)
{
    *got = false;
    *goodbye = false;
    size_t used = 0;
    if (dec->state == FAILED)
        return dec->error;
    while (used < len) {
        if (dec->state == SAID_GOODBYE)
            return fail(dec, SHOAL_E_RPC_CLOSED);
        if (dec->state == READ_HEADER) {
            used +=
                shoal_gather(dec->header, &dec->have, SHOAL_RPC_HEADER_SIZE, in + used, len - used);
            if (dec->have < SHOAL_RPC_HEADER_SIZE)
                break;
            dec->have = 0;
            int rc = open_header(dec, goodbye);
            if (rc != SHOAL_OK)
                return fail(dec, rc);
            if (*goodbye)
                break;
            continue;
        }
        /* READ_BODY: point into the input when the whole body is there */
        shoal_rpc_packet *p = &dec->packet;
        if (dec->have == 0 && len - used >= p->len) {
            p->body = in + used;
            used += p->len;
        } else {
            used += shoal_gather(dec->body, &dec->have, p->len, in + used, len - used);
            if (dec->have < p->len)
                break;
            p->body = dec->body;
        }
        dec->have = 0;
        dec->state = READ_HEADER;
        *out = *p;
        *got = true;
        break;
    }
    return (long)used;
}

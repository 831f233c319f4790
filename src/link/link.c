/* The link: handshake, then box stream around a muxrpc session. See include/shoal/link.h. */
#include "shoal/link.h"

#include "shoal/boxs.h"

#include <sodium.h>
#include <string.h>

struct shoal_link {
    shoal_shs shs;
    uint8_t hs_in[SHOAL_SHS_MAX_MESSAGE]; /* the handshake message being gathered */
    size_t hs_have;
    bool established;
    bool sent_goodbye;
    bool holding; /* the server's calls wait for the client's first words */
    int error;
    uint8_t remote[32];
    shoal_boxs_encoder enc;
    shoal_boxs_decoder dec;
    shoal_rpc *rpc;
    shoal_outq out;  /* handshake messages, then box-stream frames */
    shoal_buf plain; /* what one input's frames opened, for the session in one go */
    shoal_link_output_fn *on_output;
    void *on_output_ud;
};

shoal_link *shoal_link_new(const shoal_keypair *local, const uint8_t *server_pub,
                           const shoal_link_config *cfg)
{
    shoal_link *link = shoal_calloc(1, sizeof *link);
    if (!link)
        return NULL;
    link->rpc = shoal_rpc_new(cfg ? &cfg->rpc : NULL);
    if (!link->rpc) {
        shoal_free(link);
        return NULL;
    }
    const uint8_t *network = cfg && cfg->network ? cfg->network : shoal_shs_main_network;
    const uint8_t *eph = cfg ? cfg->eph_sec : NULL;
    link->holding = !server_pub;
    if (server_pub)
        shoal_shs_client_init(&link->shs, network, local, server_pub, eph);
    else
        shoal_shs_server_init(&link->shs, network, local, eph);
    if (cfg && cfg->keycache)
        shoal_shs_use_cache(&link->shs, cfg->keycache);
    size_t len;
    uint8_t hello[SHOAL_SHS_MAX_MESSAGE];
    if (shoal_shs_start(&link->shs, hello, &len) != SHOAL_OK)
        link->error = SHOAL_E_INVAL; /* cannot happen on a fresh state */
    shoal_buf_append(&link->out.buf, hello, len);
    if (shoal_buf_status(&link->out.buf) != SHOAL_OK) {
        shoal_link_free(link);
        return NULL;
    }
    return link;
}

void shoal_link_free(shoal_link *link)
{
    if (!link)
        return;
    shoal_rpc_free(link->rpc);
    shoal_buf_free(&link->out.buf);
    shoal_buf_free(&link->plain);
    sodium_memzero(link, sizeof *link);
    shoal_free(link);
}

static long fail(shoal_link *link, int err)
{
    if (link->error == SHOAL_OK)
        link->error = err;
    shoal_shs_wipe(&link->shs);
    shoal_boxs_encoder_wipe(&link->enc);
    shoal_boxs_decoder_wipe(&link->dec);
    return link->error;
}

/* Gathers one handshake message and answers it; on the last, sets up the box stream. */
static long handshake_input(shoal_link *link, const uint8_t *in, size_t len)
{
    size_t want = shoal_shs_expect(&link->shs);
    size_t n = shoal_gather(link->hs_in, &link->hs_have, want, in, len);
    if (link->hs_have < want)
        return (long)n;
    link->hs_have = 0;
    uint8_t reply[SHOAL_SHS_MAX_MESSAGE];
    size_t reply_len;
    int rc = shoal_shs_input(&link->shs, link->hs_in, want, reply, &reply_len);
    if (rc != SHOAL_OK)
        return fail(link, rc);
    shoal_buf_append(&link->out.buf, reply, reply_len);
    if (shoal_shs_expect(&link->shs) == 0) {
        shoal_shs_outcome o;
        rc = shoal_shs_take_outcome(&link->shs, &o);
        if (rc != SHOAL_OK)
            return fail(link, rc);
        shoal_boxs_encoder_init(&link->enc, o.encrypt_key, o.encrypt_nonce);
        shoal_boxs_decoder_init(&link->dec, o.decrypt_key, o.decrypt_nonce);
        memcpy(link->remote, o.remote_pub, 32);
        sodium_memzero(&o, sizeof o);
        link->established = true;
    }
    rc = shoal_buf_status(&link->out.buf);
    return rc == SHOAL_OK ? (long)n : fail(link, rc);
}

/* Gives the session what the frames of one input opened: one dispatch (and one drained hook, where
 * replication appends its batch) per read rather than per 4 KiB frame. */
static int dispatch(shoal_link *link)
{
    int rc = shoal_buf_status(&link->plain);
    if (rc == SHOAL_OK && link->plain.len > 0)
        rc = shoal_rpc_input(link->rpc, (const uint8_t *)link->plain.data, link->plain.len);
    shoal_buf_reset(&link->plain);
    return rc;
}

long shoal_link_input(shoal_link *link, const uint8_t *in, size_t len)
{
    if (link->error != SHOAL_OK)
        return link->error;
    size_t used = 0;
    while (used < len) {
        if (!link->established) {
            long n = handshake_input(link, in + used, len - used);
            if (n < 0)
                return n;
            used += (size_t)n;
            if (link->established)
                return (long)used; /* let the shell see the remote before any RPC */
            continue;
        }
        const uint8_t *chunk;
        size_t chunk_len;
        long n = shoal_boxs_decode(&link->dec, in + used, len - used, &chunk, &chunk_len);
        if (n < 0) {
            int rc = dispatch(link); /* what was authentic before the bad frame */
            return fail(link, rc != SHOAL_OK ? rc : (int)n);
        }
        used += (size_t)n;
        link->holding = false; /* the client has spoken */
        if (chunk_len > 0)
            shoal_buf_append(&link->plain, chunk, chunk_len);
    }
    int rc = dispatch(link);
    return rc == SHOAL_OK ? (long)used : fail(link, rc);
}

int shoal_link_eof(shoal_link *link)
{
    if (link->error != SHOAL_OK)
        return link->error;
    if (!link->established)
        return (int)fail(link, SHOAL_E_SHS_TRUNCATED);
    int rc = shoal_boxs_end(&link->dec);
    return rc == SHOAL_OK ? SHOAL_OK : (int)fail(link, rc);
}

/* Moves what the RPC session has queued into the output, boxed; then the box goodbye once the
 * session has ended. */
static void seal(shoal_link *link)
{
    if (!link->established || link->error != SHOAL_OK || link->sent_goodbye ||
        (link->holding && !shoal_rpc_ended(link->rpc)))
        return;
    size_t len;
    const uint8_t *plain = shoal_rpc_output(link->rpc, &len);
    if (len > 0) {
        uint8_t *room = shoal_buf_extend(&link->out.buf, shoal_boxs_encoded_size(len));
        if (!room) {
            fail(link, SHOAL_E_NOMEM);
            return;
        }
        shoal_boxs_encode(&link->enc, plain, len, room);
        shoal_rpc_drain(link->rpc, len);
    }
    if (shoal_rpc_ended(link->rpc)) {
        uint8_t *room = shoal_buf_extend(&link->out.buf, SHOAL_BOXS_HEADER_SIZE);
        if (!room) {
            fail(link, SHOAL_E_NOMEM);
            return;
        }
        shoal_boxs_goodbye(&link->enc, room);
        link->sent_goodbye = true;
    }
}

static void rpc_output(shoal_rpc *rpc, void *ud)
{
    (void)rpc;
    shoal_link *link = ud;
    link->on_output(link, link->on_output_ud);
}

void shoal_link_on_output(shoal_link *link, shoal_link_output_fn *fn, void *ud)
{
    link->on_output = fn;
    link->on_output_ud = ud;
    shoal_rpc_on_output(link->rpc, fn ? rpc_output : NULL, link);
}

const uint8_t *shoal_link_output(shoal_link *link, size_t *len)
{
    seal(link);
    return shoal_outq_peek(&link->out, len);
}

void shoal_link_drain(shoal_link *link, size_t n)
{
    shoal_outq_drain(&link->out, n);
}

void shoal_link_release(shoal_link *link)
{
    link->holding = false;
}

void shoal_link_close(shoal_link *link)
{
    shoal_rpc_goodbye(link->rpc);
    if (!link->established && link->error == SHOAL_OK)
        fail(link, SHOAL_E_RPC_CLOSED); /* closed before the handshake: nothing more to say */
}

bool shoal_link_established(const shoal_link *link)
{
    return link->established;
}

const uint8_t *shoal_link_remote(const shoal_link *link)
{
    return link->remote;
}

shoal_rpc *shoal_link_rpc(shoal_link *link)
{
    return link->rpc;
}

bool shoal_link_finished(const shoal_link *link)
{
    return link->sent_goodbye && shoal_boxs_said_goodbye(&link->dec);
}

int shoal_link_status(const shoal_link *link)
{
    return link->error;
}

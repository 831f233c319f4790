/* whoami and gossip.ping, which every SSB peer answers (see shoal/link.h). */
#include "shoal/link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A handler's send fails only once the session has ended or run out of memory, which the session
 * reports to its shell itself: the handler has nothing to add. */
static void sent(int rc)
{
    (void)rc;
}

/* Answers with `value` (a new reference, taken; NULL when it could not be built). */
static void reply_json(shoal_rpc *rpc, int32_t id, json_t *value)
{
    char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
    if (text)
        sent(shoal_rpc_reply(
            rpc, id, &(shoal_rpc_body){SHOAL_RPC_JSON, (const uint8_t *)text, strlen(text)}));
    else
        sent(shoal_rpc_error(rpc, id, "Error", "out of memory"));
    free(text);
    json_decref(value);
}

static void whoami(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req, void *ud)
{
    (void)req;
    const shoal_basics *b = ud;
    reply_json(rpc, id, json_pack("{s:s}", "id", b->id));
}

static void manifest(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req, void *ud)
{
    (void)req, (void)ud;
    reply_json(rpc, id, shoal_rpc_manifest(rpc));
}

/* Each timestamp the caller sends is answered with ours; its end, with ours. */
static void volley(shoal_rpc *rpc, int32_t id, shoal_rpc_event ev, const shoal_rpc_body *body,
                   void *ud)
{
    (void)body;
    const shoal_basics *b = ud;
    if (ev == SHOAL_RPC_DATA) {
        char now[24];
        int n = snprintf(now, sizeof now, "%lld", (long long)b->clock(b->clock_ud));
        sent(shoal_rpc_send(rpc, id,
                            &(shoal_rpc_body){SHOAL_RPC_JSON, (const uint8_t *)now, (size_t)n}));
    } else if (ev == SHOAL_RPC_END) {
        sent(shoal_rpc_end(rpc, id));
    }
}

static void ping(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req, void *ud)
{
    (void)req;
    sent(shoal_rpc_listen(rpc, id, volley, ud));
}

int shoal_basics_register(shoal_rpc *rpc, const shoal_basics *basics)
{
    int rc = shoal_rpc_register(rpc, "whoami", SHOAL_RPC_ASYNC, whoami, (void *)basics);
    if (rc == SHOAL_OK)
        rc = shoal_rpc_register(rpc, "gossip.ping", SHOAL_RPC_DUPLEX, ping, (void *)basics);
    if (rc == SHOAL_OK)
        rc = shoal_rpc_register(rpc, "manifest", SHOAL_RPC_ASYNC, manifest, NULL);
    return rc;
}

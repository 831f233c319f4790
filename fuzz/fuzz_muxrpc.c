/* libFuzzer target for the muxrpc decoder and session: the bytes arrive, split as the first
 * byte says, at a session that serves an async method, a source, a sink and a duplex, and has
 * calls of its own open. Whatever comes, it must dispatch or fail cleanly, keep its table of
 * calls within bounds, and free everything. */
#include "shoal/muxrpc.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void listener(shoal_rpc *rpc, int32_t id, shoal_rpc_event ev, const shoal_rpc_body *body,
                     void *ud)
{
    (void)ud;
    if ((ev == SHOAL_RPC_DATA || ev == SHOAL_RPC_ERROR) != (body != NULL))
        abort();
    if (ev == SHOAL_RPC_DATA && id < 0) /* echo what the caller sends, then stop */
        (void)shoal_rpc_send(rpc, id, body);
    if (ev == SHOAL_RPC_END && id < 0)
        (void)shoal_rpc_end(rpc, id);
}

static void handler(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req, void *ud)
{
    (void)ud;
    if (!json_is_array(req->args))
        abort();
    static const shoal_rpc_body item = {SHOAL_RPC_JSON, (const uint8_t *)"{\"ok\":true}", 11};
    switch (req->kind) {
    case SHOAL_RPC_ASYNC:
        (void)(json_array_size(req->args) ? shoal_rpc_reply(rpc, id, &item)
                                          : shoal_rpc_error(rpc, id, "Error", "no args"));
        break;
    case SHOAL_RPC_SOURCE:
        (void)shoal_rpc_send(rpc, id, &item);
        (void)shoal_rpc_end(rpc, id);
        break;
    default:
        (void)shoal_rpc_listen(rpc, id, listener, NULL);
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t step = 1 + data[0] % 67;
    shoal_rpc *rpc = shoal_rpc_new(&(shoal_rpc_config){.max_body = 1 << 16, .max_calls = 64});
    if (!rpc)
        return 0;
    static const char *const names[] = {"whoami", "a.source", "a.sink", "a.duplex"};
    for (int k = 0; k < 4; k++)
        if (shoal_rpc_register(rpc, names[k], (shoal_rpc_kind)k, handler, NULL) != SHOAL_OK)
            abort();
    json_t *args = json_array();
    int32_t id;
    for (int k = 0; k < 4; k++)
        (void)shoal_rpc_call(rpc, (shoal_rpc_kind)k, names[k], args, listener, NULL, &id);
    json_decref(args);
    for (size_t at = 1; at < size; at += step) {
        size_t n = size - at < step ? size - at : step;
        int rc = shoal_rpc_input(rpc, data + at, n);
        size_t pending;
        shoal_rpc_output(rpc, &pending);
        shoal_rpc_drain(rpc, pending);
        if (shoal_rpc_open_calls(rpc) > 64)
            abort();
        if (rc != SHOAL_OK)
            break;
    }
    shoal_rpc_free(rpc);
    return 0;
}

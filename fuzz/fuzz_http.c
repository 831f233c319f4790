/* libFuzzer target for the hub's request path: the head parser, the router, and the chunked
 * decoder over whatever follows the head. Checks that lengths stay inside the input. */
#include "shoal/hub.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *s = (const char *)data;
    shoal_http_request req;
    long head = shoal_http_parse_request(s, size, &req);
    if (head <= 0)
        return 0;
    if ((size_t)head > size || req.target < s || req.target + req.target_len > s + (size_t)head)
        abort();
    shoal_hub_route route;
    if (shoal_hub_route_request(&req, &route) == SHOAL_OK)
        for (size_t i = 0; i < route.nchannels; i++)
            if (route.channels[i].len == 0 || route.channels[i].len > SHOAL_HUB_MAX_NAME)
                abort();
    size_t rest = size - (size_t)head;
    char *body = malloc(rest ? rest : 1);
    memcpy(body, s + head, rest);
    shoal_http_chunked d = SHOAL_HTTP_CHUNKED_INIT;
    size_t n = rest;
    long left = shoal_http_unchunk(&d, body, &n);
    if (n > rest || (left >= 0 && (size_t)left > rest))
        abort();
    free(body);
    return 0;
}

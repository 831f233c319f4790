/* libFuzzer target for what hubs and config files say of ICE servers: a STUN or TURN URL, a hub's
 * answer to GET /v1/ice, and a signed request's Authorization header. A URL read is written back
 * to one that reads the same; an answer read is written back to one that reads the same list;
 * no header but a real signature passes. */
#include "shoal/ice.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void url(const char *text, size_t len)
{
    shoal_ice_server s, back;
    if (shoal_ice_url_parse(&s, text, len) != SHOAL_OK)
        return;
    shoal_buf b = SHOAL_BUF_INIT;
    shoal_ice_url_format(&s, &b);
    if (shoal_buf_status(&b) != SHOAL_OK || shoal_ice_url_parse(&back, b.data, b.len) != SHOAL_OK ||
        !shoal_ice_server_equal(&s, &back))
        abort();
    shoal_buf_free(&b);
}

static void answer(const char *text, size_t len)
{
    shoal_ice_servers l, back;
    uint32_t ttl, ttl_back;
    if (shoal_ice_servers_parse(&l, &ttl, text, len) != SHOAL_OK)
        return;
    if (l.n > SHOAL_ICE_MAX_SERVERS || ttl < 60)
        abort();
    shoal_buf b = SHOAL_BUF_INIT;
    if (shoal_ice_servers_write(&l, ttl, &b) != SHOAL_OK)
        abort();
    if (shoal_ice_servers_parse(&back, &ttl_back, b.data, b.len) != SHOAL_OK || back.n != l.n ||
        ttl_back != ttl)
        abort();
    for (size_t i = 0; i < l.n; i++)
        if (!shoal_ice_server_equal(&l.s[i], &back.s[i]))
            abort();
    shoal_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *text = (const char *)data;
    url(text, size);
    answer(text, size);
    uint8_t feed[32];
    if (shoal_ice_auth_check(text, size, "hub.example", 1765100000, feed) == SHOAL_OK)
        abort(); /* nothing but a signature made with a key passes */
    return 0;
}

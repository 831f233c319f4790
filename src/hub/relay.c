/* The frame a hub's broadcast travels in to the other hubs of its group (see shoal/hub.h). */
#include "shoal/hub.h"

#include <string.h>

#define TAG "shoal-relay-1 "

void shoal_hub_relay_encode(const uint8_t origin[SHOAL_HUB_RELAY_ORIGIN], const shoal_hub_name *app,
                            const shoal_hub_name *channel, const void *body, size_t len,
                            shoal_buf *out)
{
    static const char hex[] = "0123456789abcdef";
    char id[2 * SHOAL_HUB_RELAY_ORIGIN];
    for (size_t i = 0; i < SHOAL_HUB_RELAY_ORIGIN; i++) {
        id[2 * i] = hex[origin[i] >> 4];
        id[2 * i + 1] = hex[origin[i] & 15];
    }
    shoal_buf_append(out, TAG, strlen(TAG));
    shoal_buf_append(out, id, sizeof id);
    shoal_buf_append(out, " ", 1);
    shoal_buf_append(out, app->s, app->len);
    shoal_buf_append(out, "/", 1);
    shoal_buf_append(out, channel->s, channel->len);
    shoal_buf_append(out, "\n", 1);
    shoal_buf_append(out, body, len);
}

static int nibble(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int shoal_hub_relay_decode(const char *frame, size_t len, shoal_hub_relayed *out)
{
    memset(out, 0, sizeof *out);
    size_t tag = strlen(TAG), head = tag + 2 * SHOAL_HUB_RELAY_ORIGIN + 1;
    if (len < head || memcmp(frame, TAG, tag) != 0 || frame[head - 1] != ' ')
        return SHOAL_E_HUB_RELAY;
    for (size_t i = 0; i < SHOAL_HUB_RELAY_ORIGIN; i++) {
        int hi = nibble(frame[tag + 2 * i]), lo = nibble(frame[tag + 2 * i + 1]);
        if (hi < 0 || lo < 0)
            return SHOAL_E_HUB_RELAY;
        out->origin[i] = (uint8_t)(hi << 4 | lo);
    }
    const char *names = frame + head, *end = frame + len;
    const char *newline = memchr(names, '\n', (size_t)(end - names));
    if (!newline)
        return SHOAL_E_HUB_RELAY;
    /* the names, as a POST's target would carry them: the routes judge them */
    char target[4 + 2 * SHOAL_HUB_MAX_NAME + 2];
    size_t nlen = (size_t)(newline - names);
    if (nlen > sizeof target - 4)
        return SHOAL_E_HUB_NAME;
    memcpy(target, "/v1/", 4);
    memcpy(target + 4, names, nlen);
    shoal_http_request req = {.method = SHOAL_HTTP_POST, .target = target, .target_len = 4 + nlen};
    shoal_hub_route route;
    int rc = shoal_hub_route_request(&req, &route);
    if (rc != SHOAL_OK)
        return rc;
    if (route.kind != SHOAL_HUB_BROADCAST || memchr(names, '?', nlen))
        return SHOAL_E_HUB_NAME;
    /* the names point into `target`, which is gone on return: point them into the frame */
    out->app = (shoal_hub_name){names + (route.app.s - target - 4), route.app.len};
    out->channel =
        (shoal_hub_name){names + (route.channels[0].s - target - 4), route.channels[0].len};
    out->body = newline + 1;
    out->len = (size_t)(end - newline - 1);
    return SHOAL_OK;
}

/* signalhub's routes, as its server.js draws them: "/" is the status, "/v1/<app>/<channels>" a
 * subscription (GET) or a broadcast (POST), everything else 404. shoal adds /metrics and checks
 * names, which signalhub takes as they come. */
#include "shoal/hub.h"

#include <string.h>

static bool is_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("-._~!$&'()*+;=:@%", c) != NULL);
}

static int name(const char *s, size_t len, shoal_hub_name *out)
{
    if (len == 0 || len > SHOAL_HUB_MAX_NAME)
        return SHOAL_E_HUB_NAME;
    for (size_t i = 0; i < len; i++)
        if (!is_name_char((unsigned char)s[i]))
            return SHOAL_E_HUB_NAME;
    out->s = s;
    out->len = len;
    return SHOAL_OK;
}

static bool path_is(const char *path, size_t len, const char *literal)
{
    return strlen(literal) == len && memcmp(path, literal, len) == 0;
}

int shoal_hub_route_request(const shoal_http_request *req, shoal_hub_route *out)
{
    memset(out, 0, sizeof *out);
    const char *path = req->target;
    const char *q = memchr(path, '?', req->target_len);
    size_t len = q ? (size_t)(q - path) : req->target_len;
    bool get = req->method == SHOAL_HTTP_GET || req->method == SHOAL_HTTP_HEAD;

    out->kind = SHOAL_HUB_NOT_FOUND;
    if (req->method == SHOAL_HTTP_OPTIONS) {
        out->kind = SHOAL_HUB_PREFLIGHT;
        return SHOAL_OK;
    }
    if (path_is(path, len, "/")) {
        out->kind = get ? SHOAL_HUB_STATUS : SHOAL_HUB_NOT_FOUND;
        return SHOAL_OK;
    }
    if (path_is(path, len, "/metrics")) {
        out->kind = get ? SHOAL_HUB_METRICS : SHOAL_HUB_NOT_FOUND;
        return SHOAL_OK;
    }
    if (path_is(path, len, "/v1/ice")) { /* no app is named so: an app's path has a channel */
        out->kind = get ? SHOAL_HUB_ICE : SHOAL_HUB_NOT_FOUND;
        return SHOAL_OK;
    }
    if (len < 4 || memcmp(path, "/v1/", 4) != 0 ||
        (req->method != SHOAL_HTTP_GET && req->method != SHOAL_HTTP_POST))
        return SHOAL_OK;

    const char *app = path + 4;
    const char *slash = memchr(app, '/', len - 4);
    if (!slash)
        return SHOAL_E_HUB_NAME;
    int rc = name(app, (size_t)(slash - app), &out->app);
    if (rc != SHOAL_OK)
        return rc;
    const char *rest = slash + 1, *end = path + len;
    if (req->method == SHOAL_HTTP_POST) {
        out->nchannels = 1;
        rc = name(rest, (size_t)(end - rest), &out->channels[0]);
        out->kind = SHOAL_HUB_BROADCAST;
        return rc;
    }
    for (const char *s = rest;;) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *stop = comma ? comma : end;
        if (out->nchannels == SHOAL_HUB_MAX_CHANNELS)
            return SHOAL_E_HUB_TOO_MANY_CHANNELS;
        rc = name(s, (size_t)(stop - s), &out->channels[out->nchannels++]);
        if (rc != SHOAL_OK)
            return rc;
        if (!comma)
            break;
        s = comma + 1;
    }
    out->kind = SHOAL_HUB_SUBSCRIBE;
    return SHOAL_OK;
}

/* signalhub's routes: status, subscriptions to several channels, broadcasts, CORS preflight,
 * metrics, 404 for the rest, and names checked. */
#include "harness.h"

#include "shoal/hub.h"

#include <string.h>

static int route(shoal_http_method method, const char *target, shoal_hub_route *r)
{
    shoal_http_request req;
    memset(&req, 0, sizeof req);
    req.method = method;
    req.target = target;
    req.target_len = strlen(target);
    return shoal_hub_route_request(&req, r);
}

static void the_routes_of_signalhub(void)
{
    shoal_hub_route r;
    CHECK_EQ_ERR(route(SHOAL_HTTP_GET, "/", &r), SHOAL_OK);
    CHECK_EQ_INT(r.kind, SHOAL_HUB_STATUS);
    CHECK_EQ_ERR(route(SHOAL_HTTP_GET, "/?x=1", &r), SHOAL_OK);
    CHECK_EQ_INT(r.kind, SHOAL_HUB_STATUS);
    CHECK_EQ_ERR(route(SHOAL_HTTP_GET, "/metrics", &r), SHOAL_OK);
    CHECK_EQ_INT(r.kind, SHOAL_HUB_METRICS);
    CHECK_EQ_ERR(route(SHOAL_HTTP_GET, "/v1/ice", &r), SHOAL_OK);
    CHECK_EQ_INT(r.kind, SHOAL_HUB_ICE);
    CHECK_EQ_ERR(route(SHOAL_HTTP_HEAD, "/v1/ice?x", &r), SHOAL_OK);
    CHECK_EQ_INT(r.kind, SHOAL_HUB_ICE);
    CHECK_EQ_ERR(route(SHOAL_HTTP_OPTIONS, "/v1/app/x", &r), SHOAL_OK);
    CHECK_EQ_INT(r.kind, SHOAL_HUB_PREFLIGHT);

    CHECK_EQ_ERR(route(SHOAL_HTTP_GET, "/v1/shoal-1/all,abc-123?since=0", &r), SHOAL_OK);
    CHECK_EQ_INT(r.kind, SHOAL_HUB_SUBSCRIBE);
    CHECK_EQ_MEM(r.app.s, r.app.len, "shoal-1", 7);
    CHECK_EQ_INT(r.nchannels, 2);
    CHECK_EQ_MEM(r.channels[0].s, r.channels[0].len, "all", 3);
    CHECK_EQ_MEM(r.channels[1].s, r.channels[1].len, "abc-123", 7);

    CHECK_EQ_ERR(route(SHOAL_HTTP_POST, "/v1/app/abc", &r), SHOAL_OK);
    CHECK_EQ_INT(r.kind, SHOAL_HUB_BROADCAST);
    CHECK_EQ_MEM(r.channels[0].s, r.channels[0].len, "abc", 3);
}

static void everything_else_is_not_found(void)
{
    const struct {
        shoal_http_method method;
        const char *target;
    } cases[] = {
        {SHOAL_HTTP_GET, "/index.html"}, {SHOAL_HTTP_GET, "/v2/app/x"},
        {SHOAL_HTTP_PUT, "/v1/app/x"},   {SHOAL_HTTP_DELETE, "/v1/app/x"},
        {SHOAL_HTTP_POST, "/"},          {SHOAL_HTTP_OTHER, "/v1/app/x"},
        {SHOAL_HTTP_GET, "/v1"},         {SHOAL_HTTP_POST, "/metrics"},
        {SHOAL_HTTP_POST, "/v1/ice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        shoal_hub_route r;
        CHECK_EQ_ERR(route(cases[i].method, cases[i].target, &r), SHOAL_OK);
        if (!CHECK_EQ_INT(r.kind, SHOAL_HUB_NOT_FOUND))
            printf("    target: %s\n", cases[i].target);
    }
}

static void names_are_checked(void)
{
    const char *bad[] = {"/v1/app",     "/v1//x",       "/v1/app/",   "/v1/app/a,,b",
                         "/v1/app/a/b", "/v1/app/a\"b", "/v1/app/a,", "/v1/a<b/c"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        shoal_hub_route r;
        if (!CHECK_EQ_ERR(route(SHOAL_HTTP_GET, bad[i], &r), SHOAL_E_HUB_NAME))
            printf("    target: %s\n", bad[i]);
    }
    char target[400] = "/v1/app/";
    memset(target + 8, 'x', 129);
    target[8 + 129] = '\0';
    shoal_hub_route r;
    CHECK_EQ_ERR(route(SHOAL_HTTP_POST, target, &r), SHOAL_E_HUB_NAME);
    target[8 + 128] = '\0';
    CHECK_EQ_ERR(route(SHOAL_HTTP_POST, target, &r), SHOAL_OK);
}

static void too_many_channels_are_refused(void)
{
    shoal_buf t = SHOAL_BUF_INIT;
    shoal_buf_append_str(&t, "/v1/app/c0");
    for (int i = 1; i < SHOAL_HUB_MAX_CHANNELS; i++)
        shoal_buf_appendf(&t, ",c%d", i);
    shoal_hub_route r;
    CHECK_EQ_ERR(route(SHOAL_HTTP_GET, t.data, &r), SHOAL_OK);
    CHECK_EQ_INT(r.nchannels, SHOAL_HUB_MAX_CHANNELS);
    shoal_buf_append_str(&t, ",one-more");
    CHECK_EQ_ERR(route(SHOAL_HTTP_GET, t.data, &r), SHOAL_E_HUB_TOO_MANY_CHANNELS);
    shoal_buf_free(&t);
}

int main(void)
{
    RUN(the_routes_of_signalhub);
    RUN(everything_else_is_not_found);
    RUN(names_are_checked);
    RUN(too_many_channels_are_refused);
    return harness_finish();
}

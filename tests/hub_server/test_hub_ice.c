/* The hub's ICE servers (GET /v1/ice): handed only to a request signed by a feed key for this hub
 * and now, TURN credentials made for that feed as coturn checks them (REST scheme), nothing for
 * the unsigned, the forged, the stale or a hub that has none; counted in /metrics. */
#include "harness.h"
#include "shoal/hub_server.h"

#include <libsoup/soup.h>
#include <string.h>

static GMainLoop *loop;
static const char secret[] = "shared-with-coturn";

typedef struct reply {
    unsigned status;
    char *body, *www_authenticate;
} reply;

static void on_sent(GObject *src, GAsyncResult *res, gpointer data)
{
    reply *r = data;
    SoupMessage *msg = soup_session_get_async_result_message(SOUP_SESSION(src), res);
    GBytes *body = soup_session_send_and_read_finish(SOUP_SESSION(src), res, NULL);
    r->status = soup_message_get_status(msg);
    r->www_authenticate = g_strdup(
        soup_message_headers_get_one(soup_message_get_response_headers(msg), "WWW-Authenticate"));
    r->body = body ? g_strndup(g_bytes_get_data(body, NULL), g_bytes_get_size(body)) : NULL;
    if (body)
        g_bytes_unref(body);
    g_main_loop_quit(loop);
}

/* One request to the hub on `port`; `auth` NULL for none. */
static reply ask(uint16_t port, const char *method, const char *path, const char *auth)
{
    /* direct, as the hub client goes: GIO's default resolver loads libproxy */
    GProxyResolver *direct = g_simple_proxy_resolver_new(NULL, NULL);
    SoupSession *session = soup_session_new_with_options("proxy-resolver", direct, NULL);
    g_object_unref(direct);
    char *url = g_strdup_printf("http://127.0.0.1:%u%s", port, path);
    SoupMessage *msg = soup_message_new(method, url);
    if (auth)
        soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization", auth);
    reply r = {0};
    soup_session_send_and_read_async(session, msg, G_PRIORITY_DEFAULT, NULL, on_sent, &r);
    g_main_loop_run(loop);
    g_object_unref(msg);
    g_object_unref(session);
    g_free(url);
    return r;
}

static void reply_clear(reply *r)
{
    g_free(r->body);
    g_free(r->www_authenticate);
}

static shoal_hub_server *start(const shoal_ice_servers *ice)
{
    shoal_hub_server_config cfg;
    shoal_hub_server_config_default(&cfg);
    cfg.port = 0;
    cfg.ice = ice;
    cfg.turn_secret = (const uint8_t *)secret;
    cfg.turn_secret_len = strlen(secret);
    cfg.ice_ttl_s = 600;
    shoal_hub_server *srv = NULL;
    char *why = NULL;
    CHECK_EQ_ERR(shoal_hub_server_start(&srv, &cfg, &why), SHOAL_OK);
    g_free(why);
    return srv;
}

static shoal_ice_servers servers(void)
{
    static const char *const urls[] = {"stun:10.9.0.2:3478", "turn:10.9.0.2:3478?transport=tcp",
                                       "turns:turn.example:5349"};
    shoal_ice_servers l = {.n = 3};
    for (size_t i = 0; i < 3; i++)
        CHECK_EQ_ERR(shoal_ice_url_parse(&l.s[i], urls[i], strlen(urls[i])), SHOAL_OK);
    return l;
}

static void only_a_signed_request_gets_the_servers(void)
{
    shoal_ice_servers ice = servers();
    shoal_hub_server *srv = start(&ice);
    uint16_t port = shoal_hub_server_port(srv);
    char host[32];
    snprintf(host, sizeof host, "127.0.0.1:%u", port);
    shoal_keypair alice;
    uint8_t seed[32] = {9};
    shoal_keypair_from_seed(&alice, seed);
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;

    reply r = ask(port, "GET", "/v1/ice", NULL);
    CHECK_EQ_INT(r.status, 401);
    CHECK_EQ_STR(r.www_authenticate, "SSB-Ed25519");
    reply_clear(&r);

    char auth[SHOAL_ICE_AUTH_SIZE];
    shoal_ice_auth_sign(&alice, "other-hub.example", now, auth);
    r = ask(port, "GET", "/v1/ice", auth);
    CHECK_EQ_INT(r.status, 401);
    reply_clear(&r);

    shoal_ice_auth_sign(&alice, host, now - 3600, auth);
    r = ask(port, "GET", "/v1/ice", auth);
    CHECK_EQ_INT(r.status, 401);
    CHECK(r.body && strstr(r.body, "check the clock"));
    reply_clear(&r);

    shoal_ice_auth_sign(&alice, host, now, auth);
    r = ask(port, "POST", "/v1/ice", auth);
    CHECK_EQ_INT(r.status, 404);
    reply_clear(&r);

    r = ask(port, "GET", "/v1/ice", auth);
    CHECK_EQ_INT(r.status, 200);
    shoal_ice_servers got;
    uint32_t ttl = 0;
    CHECK_EQ_ERR(
        shoal_ice_servers_parse(&got, &ttl, r.body ? r.body : "", r.body ? strlen(r.body) : 0),
        SHOAL_OK);
    reply_clear(&r);
    CHECK_EQ_INT(ttl, 600);
    CHECK_EQ_INT(got.n, 3);
    CHECK_EQ_STR(got.s[0].username, "");
    /* TURN credentials for alice's feed, expiring in the ttl, as coturn computes them */
    shoal_ref ref = {.kind = SHOAL_REF_FEED};
    memcpy(ref.key, alice.pub, 32);
    char feed[SHOAL_REF_STRSIZE];
    shoal_ref_format(&ref, feed);
    for (size_t i = 1; i < got.n && i < 3; i++) {
        long long expires = strtoll(got.s[i].username, NULL, 10);
        CHECK(expires >= now + 600 && expires <= now + 610);
        const char *colon = strchr(got.s[i].username, ':');
        CHECK(colon && strcmp(colon + 1, feed) == 0);
        shoal_ice_server again = got.s[i];
        shoal_ice_rest_credentials(&again, (const uint8_t *)secret, strlen(secret), feed, expires);
        CHECK_EQ_STR(got.s[i].credential, again.credential);
    }

    r = ask(port, "GET", "/metrics", NULL);
    CHECK(r.body && strstr(r.body, "shoal_hub_ice_answered_total 1\n"));
    CHECK(r.body && strstr(r.body, "shoal_hub_ice_refused_total 3\n"));
    reply_clear(&r);
    shoal_hub_server_free(srv);
}

static void a_hub_without_servers_has_no_such_route(void)
{
    shoal_hub_server *srv = start(NULL);
    uint16_t port = shoal_hub_server_port(srv);
    char host[32], auth[SHOAL_ICE_AUTH_SIZE];
    snprintf(host, sizeof host, "127.0.0.1:%u", port);
    shoal_keypair alice;
    uint8_t seed[32] = {9};
    shoal_keypair_from_seed(&alice, seed);
    shoal_ice_auth_sign(&alice, host, g_get_real_time() / G_USEC_PER_SEC, auth);
    reply r = ask(port, "GET", "/v1/ice", auth);
    CHECK_EQ_INT(r.status, 404);
    reply_clear(&r);
    shoal_hub_server_free(srv);
}

static void turn_servers_need_the_secret(void)
{
    shoal_ice_servers ice = servers();
    shoal_hub_server_config cfg;
    shoal_hub_server_config_default(&cfg);
    cfg.port = 0;
    cfg.ice = &ice;
    shoal_hub_server *srv = NULL;
    char *why = NULL;
    CHECK_EQ_ERR(shoal_hub_server_start(&srv, &cfg, &why), SHOAL_E_INVAL);
    CHECK(why && strstr(why, "secret"));
    g_free(why);
}

int main(void)
{
    loop = g_main_loop_new(NULL, FALSE);
    RUN(only_a_signed_request_gets_the_servers);
    RUN(a_hub_without_servers_has_no_such_route);
    RUN(turn_servers_need_the_secret);
    g_main_loop_unref(loop);
    return harness_finish();
}

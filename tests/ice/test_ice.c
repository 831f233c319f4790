/* STUN and TURN servers: URLs read as RFC 7064/7065 write them and nothing else; a hub's answer
 * read whatever it holds, keeping what shoal can use; coturn's REST credentials as coturn checks
 * them; a signed request good for one hub, one feed and a few minutes. */
#include "harness.h"
#include "shoal/ice.h"

#include <stdlib.h>
#include <string.h>

static int parse(const char *url, shoal_ice_server *out)
{
    char *guarded = harness_guarded(url, strlen(url));
    int rc = shoal_ice_url_parse(out, guarded, strlen(url));
    free(guarded);
    return rc;
}

/* The canonical form of a URL, or the error's name. */
static char *canonical(const char *url)
{
    shoal_ice_server s;
    int rc = parse(url, &s);
    if (rc != SHOAL_OK)
        return strdup(shoal_strerror(rc));
    shoal_buf b = SHOAL_BUF_INIT;
    shoal_ice_url_format(&s, &b);
    return b.data;
}

static void urls_read_as_the_rfcs_write_them(void)
{
    static const char *const cases[][2] = {
        {"stun:stun.example.org", "stun:stun.example.org:3478"},
        {"STUN:Stun.Example.ORG:19302", "stun:stun.example.org:19302"},
        {"turn:10.0.0.1", "turn:10.0.0.1:3478"},
        {"turn:10.0.0.1?transport=udp", "turn:10.0.0.1:3478"},
        {"turn:10.0.0.1:80?transport=tcp", "turn:10.0.0.1:80?transport=tcp"},
        {"turns:turn.example.org", "turns:turn.example.org:5349"},
        {"turns:turn.example.org:443?transport=tcp", "turns:turn.example.org:443"},
        {"turn:[2001:DB8::1]:3478", "turn:[2001:db8::1]:3478"},
        {"stun:[::1]", "stun:[::1]:3478"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = canonical(cases[i][0]);
        CHECK_EQ_STR(got, cases[i][1]);
        free(got);
    }
    shoal_ice_server s;
    CHECK_EQ_ERR(parse("turns:t.example", &s), SHOAL_OK);
    CHECK_EQ_STR(shoal_ice_transport_name(&s), "tls");
    CHECK_EQ_ERR(parse("turn:t.example?transport=tcp", &s), SHOAL_OK);
    CHECK_EQ_STR(shoal_ice_transport_name(&s), "tcp");
    CHECK_EQ_ERR(parse("turn:t.example", &s), SHOAL_OK);
    CHECK_EQ_STR(shoal_ice_transport_name(&s), "udp");
}

static void what_is_not_such_a_url_is_refused(void)
{
    static const struct {
        const char *url;
        int err;
    } bad[] = {
        {"", SHOAL_E_ICE_URL},
        {"stuns:stun.example.org", SHOAL_E_ICE_URL}, /* STUN over TLS: libnice lacks it */
        {"turns:t.example?transport=udp", SHOAL_E_ICE_URL},
        {"stun:s.example?transport=tcp", SHOAL_E_ICE_URL},
        {"turn:t.example?transport=sctp", SHOAL_E_ICE_URL},
        {"turn:t.example?foo=bar", SHOAL_E_ICE_URL},
        {"turn://t.example", SHOAL_E_ICE_URL},
        {"turn:t.example/path", SHOAL_E_ICE_URL},
        {"turn:", SHOAL_E_ICE_URL},
        {"https://t.example", SHOAL_E_ICE_URL},
        {"turn:user@t.example", SHOAL_E_ADDR_USERINFO},
        {"turn:t.example:0", SHOAL_E_ADDR_PORT},
        {"turn:t.example:65536", SHOAL_E_ADDR_PORT},
        {"turn:2001:db8::1", SHOAL_E_ADDR_IPV6},
        {"turn:t..example", SHOAL_E_ADDR_HOST},
        {"stun:s example", SHOAL_E_ADDR_SPACE},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        shoal_ice_server s;
        if (!CHECK_EQ_ERR(parse(bad[i].url, &s), bad[i].err))
            fprintf(stderr, "  for %s\n", bad[i].url);
    }
}

static void local_addresses_are_told_apart(void)
{
    static const char *const local[] = {"stun:127.0.0.1",   "turn:127.8.9.1",
                                        "stun:0.0.0.0",     "turn:169.254.1.1",
                                        "turn:224.0.0.251", "turn:[::1]",
                                        "stun:[::]",        "turn:[fe80::1]",
                                        "turn:[ff02::fb]",  "turn:[::ffff:127.0.0.1]",
                                        "turn:localhost",   "stun:a.localhost"};
    static const char *const remote[] = {"stun:10.0.0.1",     "turn:192.168.1.1",
                                         "turn:8.8.8.8",      "turn:[2001:db8::1]",
                                         "turn:notlocalhost", "turn:[fd00::1]"};
    shoal_ice_server s;
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        if (CHECK_EQ_ERR(parse(local[i], &s), SHOAL_OK) && !CHECK(shoal_ice_server_is_local(&s)))
            fprintf(stderr, "  for %s\n", local[i]);
    for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++)
        if (CHECK_EQ_ERR(parse(remote[i], &s), SHOAL_OK) && !CHECK(!shoal_ice_server_is_local(&s)))
            fprintf(stderr, "  for %s\n", remote[i]);
}

static void a_hubs_answer_keeps_what_shoal_can_use(void)
{
    const char *answer =
        "{\"iceServers\":[{\"urls\":\"stun:10.9.0.2:3478\"},"
        "{\"urls\":[\"turn:10.9.0.2:3478?transport=udp\",\"turn:10.9.0.2:3478?transport=tcp\","
        "\"turns:hub.example:5349\",\"stuns:hub.example\",\"bogus\"],"
        "\"username\":\"1765100000:@x\",\"credential\":\"c2VjcmV0\"},"
        "{\"urls\":\"turn:10.9.0.3\"}," /* TURN without credentials: of no use */
        "{\"urls\":[],\"username\":\"u\"}],\"ttl\":7200,\"extra\":true}";
    shoal_ice_servers l;
    uint32_t ttl = 0;
    CHECK_EQ_ERR(shoal_ice_servers_parse(&l, &ttl, answer, strlen(answer)), SHOAL_OK);
    CHECK_EQ_INT(ttl, 7200);
    CHECK_EQ_INT(l.n, 4);
    CHECK_EQ_INT(l.s[0].scheme, SHOAL_ICE_STUN);
    CHECK_EQ_STR(l.s[0].username, "");
    CHECK_EQ_INT(l.s[1].scheme, SHOAL_ICE_TURN);
    CHECK(!l.s[1].tcp);
    CHECK(l.s[2].tcp);
    CHECK_EQ_INT(l.s[3].scheme, SHOAL_ICE_TURNS);
    CHECK_EQ_STR(l.s[3].username, "1765100000:@x");
    CHECK_EQ_STR(l.s[3].credential, "c2VjcmV0");

    /* written and read back: the same list */
    shoal_buf b = SHOAL_BUF_INIT;
    CHECK_EQ_ERR(shoal_ice_servers_write(&l, 600, &b), SHOAL_OK);
    shoal_ice_servers back;
    CHECK_EQ_ERR(shoal_ice_servers_parse(&back, &ttl, b.data, b.len), SHOAL_OK);
    CHECK_EQ_INT(ttl, 600);
    CHECK_EQ_INT(back.n, l.n);
    for (size_t i = 0; i < l.n && i < back.n; i++)
        CHECK(shoal_ice_server_equal(&l.s[i], &back.s[i]));
    shoal_buf_free(&b);

    /* no ttl: the default; a silly one: bounded */
    const char *no_ttl = "{\"iceServers\":[]}";
    CHECK_EQ_ERR(shoal_ice_servers_parse(&l, &ttl, no_ttl, strlen(no_ttl)), SHOAL_OK);
    CHECK_EQ_INT(ttl, SHOAL_ICE_TTL_DEFAULT);
    CHECK_EQ_INT(l.n, 0);
    const char *short_ttl = "{\"iceServers\":[],\"ttl\":1}";
    CHECK_EQ_ERR(shoal_ice_servers_parse(&l, &ttl, short_ttl, strlen(short_ttl)), SHOAL_OK);
    CHECK_EQ_INT(ttl, 60);
}

static void a_long_answer_is_cut_at_the_bound(void)
{
    shoal_buf b = SHOAL_BUF_INIT;
    shoal_buf_append_str(&b, "{\"iceServers\":[");
    for (int i = 0; i < 40; i++)
        shoal_buf_appendf(&b, "%s{\"urls\":\"stun:10.0.0.%d\"}", i ? "," : "", i + 1);
    shoal_buf_append_str(&b, "]}");
    shoal_ice_servers l;
    uint32_t ttl;
    CHECK_EQ_ERR(shoal_ice_servers_parse(&l, &ttl, b.data, b.len), SHOAL_OK);
    CHECK_EQ_INT(l.n, SHOAL_ICE_MAX_SERVERS);
    CHECK_EQ_STR(l.s[7].host.name, "10.0.0.8");
    shoal_buf_free(&b);

    /* the same server twice counts once */
    const char *twice =
        "{\"iceServers\":[{\"urls\":[\"stun:a.example\",\"STUN:A.example:3478\"]}]}";
    CHECK_EQ_ERR(shoal_ice_servers_parse(&l, &ttl, twice, strlen(twice)), SHOAL_OK);
    CHECK_EQ_INT(l.n, 1);
}

static void a_malformed_answer_is_refused(void)
{
    static const struct {
        const char *text;
        int err;
    } bad[] = {
        {"", SHOAL_E_JSON},
        {"{\"iceServers\":[", SHOAL_E_JSON},
        {"[]", SHOAL_E_ICE_FORMAT},
        {"{}", SHOAL_E_ICE_FORMAT},
        {"{\"iceServers\":{}}", SHOAL_E_ICE_FORMAT},
        {"{\"iceServers\":[1]}", SHOAL_E_ICE_FORMAT},
        {"{\"iceServers\":[{\"url\":\"stun:a\"}]}", SHOAL_E_ICE_FORMAT},
        {"{\"iceServers\":[],\"ttl\":\"1h\"}", SHOAL_E_ICE_FORMAT},
        {"{\"iceServers\":[],\"iceServers\":[]}", SHOAL_E_JSON},
        {"{\"iceServers\":[{\"urls\":\"turn:b\",\"username\":\"a\\u0000b\"}]}", SHOAL_E_JSON},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        shoal_ice_servers l = {.n = 3};
        uint32_t ttl;
        char *guarded = harness_guarded(bad[i].text, strlen(bad[i].text));
        if (!CHECK_EQ_ERR(shoal_ice_servers_parse(&l, &ttl, guarded, strlen(bad[i].text)),
                          bad[i].err))
            fprintf(stderr, "  for %s\n", bad[i].text);
        free(guarded);
        CHECK_EQ_INT(l.n, 0);
    }
    /* a user name too long: that entry is skipped */
    shoal_buf b = SHOAL_BUF_INIT;
    shoal_buf_append_str(&b, "{\"iceServers\":[{\"urls\":\"turn:a.example\",\"username\":\"");
    for (int i = 0; i < SHOAL_ICE_NAME_SIZE; i++)
        shoal_buf_append_char(&b, 'u');
    shoal_buf_append_str(&b, "\",\"credential\":\"c\"}]}");
    shoal_ice_servers l;
    uint32_t ttl;
    CHECK_EQ_ERR(shoal_ice_servers_parse(&l, &ttl, b.data, b.len), SHOAL_OK);
    CHECK_EQ_INT(l.n, 0);
    shoal_buf_free(&b);
}

static void rest_credentials_are_coturns(void)
{
    shoal_ice_server turn;
    CHECK_EQ_ERR(parse("turn:10.0.0.1", &turn), SHOAL_OK);
    shoal_ice_rest_credentials(&turn, (const uint8_t *)"north", 5,
                               "@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25519", 1765100000);
    CHECK_EQ_STR(turn.username, "1765100000:@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25519");
    /* base64(HMAC-SHA1("north", username)), as Python's hmac module computes it */
    CHECK_EQ_STR(turn.credential, "EEvTs8f9Almnfmd7FzCNI0vyALY=");
}

static void a_signed_request_is_good_for_one_hub_one_feed_and_minutes(void)
{
    shoal_keypair alice, bob;
    uint8_t seed[32] = {1};
    shoal_keypair_from_seed(&alice, seed);
    seed[0] = 2;
    shoal_keypair_from_seed(&bob, seed);
    const int64_t now = 1765100000;
    char auth[SHOAL_ICE_AUTH_SIZE];
    shoal_ice_auth_sign(&alice, "hub.example:8443", now, auth);
    CHECK(strncmp(auth, "SSB-Ed25519 @", 13) == 0);
    uint8_t feed[32];
    CHECK_EQ_ERR(shoal_ice_auth_check(auth, strlen(auth), "hub.example:8443", now + 10, feed),
                 SHOAL_OK);
    CHECK_EQ_MEM(feed, 32, alice.pub, 32);
    /* another hub, too late, too early */
    CHECK_EQ_ERR(shoal_ice_auth_check(auth, strlen(auth), "other.example:8443", now, feed),
                 SHOAL_E_ICE_AUTH);
    CHECK_EQ_ERR(shoal_ice_auth_check(auth, strlen(auth), "hub.example:8443",
                                      now + SHOAL_ICE_AUTH_WINDOW + 1, feed),
                 SHOAL_E_SWARM_STALE);
    CHECK_EQ_ERR(shoal_ice_auth_check(auth, strlen(auth), "hub.example:8443",
                                      now - SHOAL_ICE_AUTH_WINDOW - 1, feed),
                 SHOAL_E_SWARM_STALE);
    /* another feed claiming alice's signature */
    char forged[SHOAL_ICE_AUTH_SIZE], bobs[SHOAL_ICE_AUTH_SIZE];
    shoal_ice_auth_sign(&bob, "hub.example:8443", now, bobs);
    const char *alice_sig = strrchr(auth, ' '), *bob_sig = strrchr(bobs, ' ');
    snprintf(forged, sizeof forged, "%.*s%s", (int)(bob_sig - bobs), bobs, alice_sig);
    CHECK_EQ_ERR(shoal_ice_auth_check(forged, strlen(forged), "hub.example:8443", now, feed),
                 SHOAL_E_ICE_AUTH);
    /* shapes that are not one */
    static const char *const bad[] = {
        "",
        "Bearer x",
        "SSB-Ed25519 ",
        "SSB-Ed25519 @x.ed25519 1 AAAA",
        "SSB-Ed25519 @FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25519 1x AAAA",
        "SSB-Ed25519 @FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25519 1 AAAA",
        "SSB-Ed25519 @FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25519  1 AAAA",
        "SSB-Ed25519 @FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25519 1234567890123 AAAA",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *guarded = harness_guarded(bad[i], strlen(bad[i]));
        if (!CHECK_EQ_ERR(shoal_ice_auth_check(guarded, strlen(bad[i]), "h", 1, feed),
                          SHOAL_E_ICE_AUTH))
            fprintf(stderr, "  for %s\n", bad[i]);
        free(guarded);
    }
    /* a trailing byte after the signature */
    size_t n = strlen(auth);
    auth[n] = '=';
    auth[n + 1] = '\0';
    CHECK_EQ_ERR(shoal_ice_auth_check(auth, n + 1, "hub.example:8443", now, feed),
                 SHOAL_E_ICE_AUTH);
}

int main(void)
{
    RUN(urls_read_as_the_rfcs_write_them);
    RUN(what_is_not_such_a_url_is_refused);
    RUN(local_addresses_are_told_apart);
    RUN(a_hubs_answer_keeps_what_shoal_can_use);
    RUN(a_long_answer_is_cut_at_the_bound);
    RUN(a_malformed_answer_is_refused);
    RUN(rest_credentials_are_coturns);
    RUN(a_signed_request_is_good_for_one_hub_one_feed_and_minutes);
    return harness_finish();
}

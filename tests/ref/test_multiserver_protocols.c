/* Typed access to the protocols shoal knows: net, onion, ws/wss, rtc, tunnel and shs; unknown
 * protocols are kept as they are. */
#include "harness.h"

#include "shoal/ref.h"

#include <string.h>

#define KEY  "gYCJpN4eGDjHFnWW2Fcusj8O4QYbVDUW6rNYh7nNEnc="
#define SEED "DxiHEv+ds+zUzA49efDgZk8ssGeqrp/5kgvRVzTM7vU="

static shoal_ms *ms_of(const char *s)
{
    shoal_ms *ms = NULL;
    CHECK_EQ_ERR(shoal_ms_parse(&ms, s, strlen(s), NULL), SHOAL_OK);
    return ms;
}

/* Decodes protocol `p` of the first alternative of `s`. */
static int decode(const char *s, size_t p, shoal_ms_info *info, size_t *field)
{
    shoal_ms *ms = ms_of(s);
    if (!ms)
        return SHOAL_E_INVAL;
    int rc = SHOAL_E_INVAL;
    if (CHECK(p < ms->addrs[0].nprotos))
        rc = shoal_ms_proto_decode(&ms->addrs[0].protos[p], info, field);
    /* The path is borrowed from `ms`: keep a copy that outlives it. */
    static char path[256];
    if (rc == SHOAL_OK && CHECK(info->path_len < sizeof path)) {
        memcpy(path, info->path, info->path_len);
        info->path = path;
    }
    shoal_ms_free(ms);
    return rc;
}

static void host_port(const char *s, shoal_ms_kind kind, shoal_host_kind hk, const char *host,
                      unsigned port)
{
    shoal_ms_info info;
    if (!CHECK_EQ_ERR(decode(s, 0, &info, NULL), SHOAL_OK)) {
        printf("    input: %s\n", s);
        return;
    }
    CHECK_EQ_INT(info.kind, kind);
    CHECK_EQ_INT(info.host.kind, hk);
    CHECK_EQ_STR(info.host.name, host);
    CHECK_EQ_INT(info.port, port);
}

static void rejected(const char *s, size_t p, int code, size_t field)
{
    shoal_ms_info info;
    size_t at = 999;
    if (!CHECK_EQ_ERR(decode(s, p, &info, &at), code))
        printf("    input: %s\n", s);
    CHECK_EQ_INT(at, field);
}

static void net_takes_names_ipv4_and_ipv6(void)
{
    host_port("net:145.12.20.3:8080~shs:" KEY, SHOAL_MS_NET, SHOAL_HOST_IPV4, "145.12.20.3", 8080);
    host_port("net:Host.COM:8008", SHOAL_MS_NET, SHOAL_HOST_NAME, "host.com", 8008);
    host_port("net:localhost:8008", SHOAL_MS_NET, SHOAL_HOST_NAME, "localhost", 8008);
    /* ssb-ref's cjdns and IPv6 examples: the port is the last field. */
    host_port("net:fcbc:6c66:bcd4:d3b5:2a2a:60b3:9b86:498f:8008~shs:" KEY, SHOAL_MS_NET,
              SHOAL_HOST_IPV6, "fcbc:6c66:bcd4:d3b5:2a2a:60b3:9b86:498f", 8008);
    host_port("net:2a03:2267::ba27:ebff:fe8c:5a4d:8080", SHOAL_MS_NET, SHOAL_HOST_IPV6,
              "2a03:2267::ba27:ebff:fe8c:5a4d", 8080);
    host_port("net:::1:8008", SHOAL_MS_NET, SHOAL_HOST_IPV6, "::1", 8008);
    host_port("net:[::1]:8008", SHOAL_MS_NET, SHOAL_HOST_IPV6, "::1", 8008);
}

static void net_rejects_bad_hosts_and_ports(void)
{
    rejected("net:host.com", 0, SHOAL_E_MS_FIELDS, 0);
    rejected("net:host.com:80000", 0, SHOAL_E_ADDR_PORT, 1);
    rejected("net:host.com:0", 0, SHOAL_E_ADDR_PORT, 1);
    rejected("net:host.com:80a", 0, SHOAL_E_ADDR_PORT, 1);
    rejected("net::8008", 0, SHOAL_E_ADDR_NO_HOST, 0);
    rejected("net:host_1.com:8008", 0, SHOAL_E_ADDR_HOST, 0);
    rejected("net:-host.com:8008", 0, SHOAL_E_ADDR_HOST, 0);
    rejected("net:999.1.1.1:8008", 0, SHOAL_E_ADDR_IPV4, 0);
    rejected("net:1.2.3:8008", 0, SHOAL_E_ADDR_IPV4, 0);
    rejected("net:gggg::1:8008", 0, SHOAL_E_ADDR_IPV6, 0);
    rejected("net", 0, SHOAL_E_MS_FIELDS, 0);
}

static void onion_needs_an_onion_host(void)
{
    host_port("onion:xyz.onion:8080~shs:" KEY, SHOAL_MS_ONION, SHOAL_HOST_NAME, "xyz.onion", 8080);
    rejected("onion:xyz.com:8080", 0, SHOAL_E_ADDR_ONION, 0);
    rejected("onion:1.2.3.4:8080", 0, SHOAL_E_ADDR_ONION, 0);
}

static void ws_reads_its_url(void)
{
    shoal_ms_info info;
    host_port("ws://host.com:8008~shs:" KEY, SHOAL_MS_WS, SHOAL_HOST_NAME, "host.com", 8008);
    host_port("wss://host.com~shs:" KEY, SHOAL_MS_WSS, SHOAL_HOST_NAME, "host.com", 443);
    host_port("ws://[::1]:8989~shs:" KEY, SHOAL_MS_WS, SHOAL_HOST_IPV6, "::1", 8989);
    if (CHECK_EQ_ERR(decode("wss://pub.example.org:8443/ssb~shs:" KEY, 0, &info, NULL), SHOAL_OK)) {
        CHECK_EQ_MEM(info.path, info.path_len, "/ssb", 4);
        CHECK(info.tls);
    }
    if (CHECK_EQ_ERR(decode("ws://host.com/a/b", 0, &info, NULL), SHOAL_OK)) {
        CHECK_EQ_INT(info.port, 80);
        CHECK_EQ_MEM(info.path, info.path_len, "/a/b", 4);
    }
    rejected("ws:host.com:80", 0, SHOAL_E_MS_FIELDS, 0);
    rejected("ws://host.com/a:b", 0, SHOAL_E_MS_FIELDS, 0);
    rejected("ws://user@host.com", 0, SHOAL_E_ADDR_USERINFO, 0);
    rejected("ws://host.com:99999", 0, SHOAL_E_ADDR_PORT, 1);
}

static void rtc_names_a_hub(void)
{
    shoal_ms_info info;
    host_port("rtc:hub.example.com:443~shs:" KEY, SHOAL_MS_RTC, SHOAL_HOST_NAME, "hub.example.com",
              443);
    if (CHECK_EQ_ERR(decode("rtc:hub.example.com:443~shs:" KEY, 0, &info, NULL), SHOAL_OK))
        CHECK(info.tls);
    if (CHECK_EQ_ERR(decode("rtc:127.0.0.1:9000:http~shs:" KEY, 0, &info, NULL), SHOAL_OK)) {
        CHECK(!info.tls);
        CHECK_EQ_INT(info.port, 9000);
    }
    if (CHECK_EQ_ERR(decode("rtc:::1:9000:http", 0, &info, NULL), SHOAL_OK)) {
        CHECK_EQ_STR(info.host.name, "::1");
        CHECK(!info.tls);
    }
    /* The original plugin's URL-like form. */
    host_port("rtc://hub.example.com:3483", SHOAL_MS_RTC, SHOAL_HOST_NAME, "hub.example.com", 3483);
    rejected("rtc:hub.example.com", 0, SHOAL_E_MS_FIELDS, 0);
    rejected("rtc:hub.example.com:http", 0, SHOAL_E_MS_FIELDS, 0);
}

static void tunnel_takes_two_feed_ids(void)
{
    shoal_ms_info info;
    const char *s = "tunnel:@" KEY ".ed25519:@jEA8WSl0URsB/g/XYG5zCGBkMOyTeBZfGtbw3RJMIuk=.ed25519"
                    "~shs:jEA8WSl0URsB/g/XYG5zCGBkMOyTeBZfGtbw3RJMIuk=";
    if (CHECK_EQ_ERR(decode(s, 0, &info, NULL), SHOAL_OK)) {
        char id[SHOAL_REF_STRSIZE];
        shoal_ref_format(&info.portal, id);
        CHECK_EQ_STR(id, "@" KEY ".ed25519");
        shoal_ref_format(&info.target, id);
        CHECK_EQ_STR(id, "@jEA8WSl0URsB/g/XYG5zCGBkMOyTeBZfGtbw3RJMIuk=.ed25519");
    }
    rejected("tunnel:@" KEY ".ed25519", 0, SHOAL_E_MS_TUNNEL, 1);
    rejected("tunnel:@" KEY ".ed25519:%" KEY ".sha256", 0, SHOAL_E_MS_TUNNEL, 1);
    rejected("tunnel:x:@" KEY ".ed25519", 0, SHOAL_E_MS_TUNNEL, 0);
}

static void shs_takes_a_key_and_an_optional_seed(void)
{
    shoal_ms_info info;
    uint8_t key[32], seed[32];
    CHECK_EQ_ERR(shoal_key_from_b64(key, KEY, 44), SHOAL_OK);
    CHECK_EQ_ERR(shoal_key_from_b64(seed, SEED, 44), SHOAL_OK);
    if (CHECK_EQ_ERR(decode("net:1.2.3.4:8008~shs:" KEY, 1, &info, NULL), SHOAL_OK)) {
        CHECK_EQ_INT(info.kind, SHOAL_MS_SHS);
        CHECK_EQ_MEM(info.key, 32, key, 32);
        CHECK(!info.has_seed);
    }
    /* ssb-ref's multiserver invite: the seed follows the key. */
    if (CHECK_EQ_ERR(decode("net:145.12.20.3:8080~shs:" KEY ":" SEED, 1, &info, NULL), SHOAL_OK)) {
        CHECK(info.has_seed);
        CHECK_EQ_MEM(info.seed, 32, seed, 32);
    }
    rejected("net:h.com:1~shs:oaercuhroaecuh", 1, SHOAL_E_MS_SHS_KEY, 0);
    rejected("net:h.com:1~shs:" KEY ":abc", 1, SHOAL_E_MS_SHS_KEY, 1);
    rejected("net:h.com:1~shs", 1, SHOAL_E_MS_FIELDS, 0);
    rejected("net:h.com:1~shs:" KEY ":" SEED ":x", 1, SHOAL_E_MS_FIELDS, 2);
    rejected("shs:::", 0, SHOAL_E_MS_FIELDS, 2);
}

static void unknown_protocols_are_kept(void)
{
    shoal_ms_info info;
    CHECK_EQ_INT(shoal_ms_kind_of("gzip"), SHOAL_MS_OTHER);
    CHECK_EQ_INT(shoal_ms_kind_of("net"), SHOAL_MS_NET);
    if (CHECK_EQ_ERR(decode("net:h.com:1~shs:" KEY "~gzip", 2, &info, NULL), SHOAL_OK))
        CHECK_EQ_INT(info.kind, SHOAL_MS_OTHER);
    shoal_ms *ms = ms_of("i2p:abc.b32.i2p:1~shs2:x:y");
    if (ms) {
        CHECK_EQ_STR(ms->addrs[0].protos[0].fields[0], "abc.b32.i2p");
        CHECK_EQ_STR(ms->addrs[0].protos[1].name, "shs2");
        CHECK_EQ_STR(ms->addrs[0].protos[1].fields[1], "y");
    }
    shoal_ms_free(ms);
}

int main(void)
{
    RUN(net_takes_names_ipv4_and_ipv6);
    RUN(net_rejects_bad_hosts_and_ports);
    RUN(onion_needs_an_onion_host);
    RUN(ws_reads_its_url);
    RUN(rtc_names_a_hub);
    RUN(tunnel_takes_two_feed_ids);
    RUN(shs_takes_a_key_and_an_optional_seed);
    RUN(unknown_protocols_are_kept);
    return harness_finish();
}

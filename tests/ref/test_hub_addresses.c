/* Hub addresses: every form a user pastes becomes one canonical origin, from which both the base
 * URL and the rtc: address follow; every rejection has its own error and offset. */
#include "harness.h"

#include "shoal/ref.h"

#include <stdlib.h>
#include <string.h>

static int parse(shoal_hub_addr *hub, const char *s, size_t *at)
{
    size_t len = strlen(s);
    char *g = harness_guarded(s, len);
    int rc = shoal_hub_addr_parse(hub, g, len, at);
    free(g);
    return rc;
}

static void canonical(const char *input, const char *url, const char *rtc)
{
    shoal_hub_addr hub;
    size_t at = 0;
    if (!CHECK_EQ_ERR(parse(&hub, input, &at), SHOAL_OK)) {
        printf("    input: \"%s\" (error at %zu)\n", input, at);
        return;
    }
    shoal_buf b = SHOAL_BUF_INIT;
    shoal_hub_addr_format(&hub, &b);
    CHECK_EQ_STR(b.data, url);
    shoal_buf_reset(&b);
    shoal_hub_addr_format_rtc(&hub, &b);
    CHECK_EQ_STR(b.data, rtc);

    /* Both derived forms read back as the same hub. */
    shoal_hub_addr again;
    CHECK_EQ_ERR(parse(&again, rtc, NULL), SHOAL_OK);
    CHECK(shoal_hub_addr_equal(&hub, &again));
    CHECK_EQ_ERR(parse(&again, url, NULL), SHOAL_OK);
    CHECK(shoal_hub_addr_equal(&hub, &again));
    shoal_buf_free(&b);
}

static void rejected(const char *input, int code, size_t offset)
{
    shoal_hub_addr hub;
    size_t at = 999;
    if (!CHECK_EQ_ERR(parse(&hub, input, &at), code))
        printf("    input: \"%s\"\n", input);
    CHECK_EQ_INT(at, offset);
}

static void the_forms_users_write_are_accepted(void)
{
    canonical("https://hub.example.com", "https://hub.example.com", "rtc:hub.example.com:443");
    canonical("hub.example.com", "https://hub.example.com", "rtc:hub.example.com:443");
    canonical("hub.example.com:443", "https://hub.example.com", "rtc:hub.example.com:443");
    canonical("https://hub.example.com/", "https://hub.example.com", "rtc:hub.example.com:443");
    canonical("http://127.0.0.1:9000/", "http://127.0.0.1:9000", "rtc:127.0.0.1:9000:http");
    canonical("rtc:hub.example.com:443~shs:gYCJpN4eGDjHFnWW2Fcusj8O4QYbVDUW6rNYh7nNEnc=",
              "https://hub.example.com", "rtc:hub.example.com:443");
    canonical("rtc://hub.example.com:3483", "https://hub.example.com:3483",
              "rtc:hub.example.com:3483");
}

static void canonical_form_is_normalised(void)
{
    canonical("  HTTPS://Hub.Example.COM:443/  \n", "https://hub.example.com",
              "rtc:hub.example.com:443");
    canonical("hub.example.com.", "https://hub.example.com", "rtc:hub.example.com:443");
    canonical("http://hub.example.com:80", "http://hub.example.com", "rtc:hub.example.com:80:http");
    canonical("https://hub.example.com:80", "https://hub.example.com:80", "rtc:hub.example.com:80");
    canonical("http://localhost:9000", "http://localhost:9000", "rtc:localhost:9000:http");
    canonical("https://hub.example.com:", "https://hub.example.com", "rtc:hub.example.com:443");
    canonical("https://hub.example.com:00443", "https://hub.example.com",
              "rtc:hub.example.com:443");
    canonical("https://[2001:DB8:0::1]:8443", "https://[2001:db8::1]:8443", "rtc:2001:db8::1:8443");
    canonical("[::1]:9000", "https://[::1]:9000", "rtc:::1:9000");
    canonical("http://[::1]:9000", "http://[::1]:9000", "rtc:::1:9000:http");
    canonical("xn--bcher-kva.example", "https://xn--bcher-kva.example",
              "rtc:xn--bcher-kva.example:443");
}

static void rtc_addresses_name_their_hub(void)
{
    /* The first alternative whose transport is rtc. */
    canonical("net:1.2.3.4:8008~shs:gYCJpN4eGDjHFnWW2Fcusj8O4QYbVDUW6rNYh7nNEnc=;rtc:h.io:443~shs:"
              "gYCJpN4eGDjHFnWW2Fcusj8O4QYbVDUW6rNYh7nNEnc=",
              "https://h.io", "rtc:h.io:443");
    rejected("rtc:hub.example.com:443~", SHOAL_E_MS_EMPTY, 24);
    rejected("rtc:hub.example.com:99999", SHOAL_E_ADDR_PORT, 20);
    rejected("rtc:hub.example.com", SHOAL_E_MS_FIELDS, 19);
    rejected("rtc:hub!!x.com:443", SHOAL_E_ADDR_HOST, 7);
}

static void other_schemes_are_rejected(void)
{
    rejected("ftp://hub.example.com", SHOAL_E_ADDR_SCHEME, 0);
    rejected("wss://hub.example.com", SHOAL_E_ADDR_SCHEME, 0);
    rejected("  ws://hub.example.com", SHOAL_E_ADDR_SCHEME, 2);
    rejected(
        "net:1.2.3.4:8008~shs:gYCJpN4eGDjHFnWW2Fcusj8O4QYbVDUW6rNYh7nNEnc=", SHOAL_E_MS_NOT_RTC, 0);
}

static void user_info_paths_and_queries_are_rejected(void)
{
    rejected("https://alice:pw@hub.example.com", SHOAL_E_ADDR_USERINFO, 8);
    rejected("https://hub.example.com/v1/app", SHOAL_E_ADDR_PATH, 23);
    rejected("hub.example.com/path", SHOAL_E_ADDR_PATH, 15);
    rejected("https://hub.example.com?x=1", SHOAL_E_ADDR_QUERY, 23);
    rejected("https://hub.example.com?", SHOAL_E_ADDR_QUERY, 23);
    rejected("https://hub.example.com/#top", SHOAL_E_ADDR_QUERY, 24);
}

static void bad_hosts_are_rejected(void)
{
    rejected("https://bücher.example", SHOAL_E_ADDR_NONASCII, 9);
    rejected("https://b%C3%BCcher.example", SHOAL_E_ADDR_HOST, 9);
    rejected("https://hub_1.example.com", SHOAL_E_ADDR_HOST, 11);
    rejected("https://-hub.example.com", SHOAL_E_ADDR_HOST, 8);
    rejected("https://hub-.example.com", SHOAL_E_ADDR_HOST, 11);
    rejected("https://hub..example.com", SHOAL_E_ADDR_HOST, 12);
    rejected("https://256.1.1.1", SHOAL_E_ADDR_IPV4, 8);
    rejected("https://01.1.1.1", SHOAL_E_ADDR_IPV4, 8);
    rejected("https://1.2.3", SHOAL_E_ADDR_IPV4, 8);
    rejected("https://[::g]:9000", SHOAL_E_ADDR_IPV6, 9);
    rejected("https://[::1:9000", SHOAL_E_ADDR_IPV6, 17);
    rejected("https://::1:9000", SHOAL_E_ADDR_IPV6, 8);
    rejected("https://[::1]x", SHOAL_E_ADDR_PORT, 13);
    rejected("https://", SHOAL_E_ADDR_NO_HOST, 8);
    rejected("https://:443", SHOAL_E_ADDR_NO_HOST, 8);
    rejected("   ", SHOAL_E_ADDR_NO_HOST, 0);
    rejected("", SHOAL_E_ADDR_NO_HOST, 0);
    char label[80];
    memset(label, 'a', 64);
    strcpy(label + 64, ".example");
    rejected(label, SHOAL_E_ADDR_HOST, 0);
}

static void ports_out_of_range_are_rejected(void)
{
    rejected("hub.example.com:0", SHOAL_E_ADDR_PORT, 16);
    rejected("hub.example.com:65536", SHOAL_E_ADDR_PORT, 16);
    rejected("hub.example.com:99999999999999999999", SHOAL_E_ADDR_PORT, 16);
    rejected("hub.example.com:-1", SHOAL_E_ADDR_PORT, 16);
    rejected("hub.example.com:44a", SHOAL_E_ADDR_PORT, 18);
    canonical("hub.example.com:65535", "https://hub.example.com:65535",
              "rtc:hub.example.com:65535");
}

static void spaces_controls_and_length_are_rejected(void)
{
    rejected("hub.example .com", SHOAL_E_ADDR_SPACE, 11);
    rejected("hub.example\x01.com", SHOAL_E_ADDR_SPACE, 11);
    size_t len = SHOAL_HUB_ADDR_MAXLEN + 1;
    char *s = malloc(len + 1);
    memset(s, 'a', len);
    s[len] = '\0';
    rejected(s, SHOAL_E_TOOLONG, SHOAL_HUB_ADDR_MAXLEN);
    free(s);
}

static void every_prefix_is_handled(void)
{
    const char *inputs[] = {
        "https://[2001:db8::1]:8443/", "http://127.0.0.1:9000/",
        "rtc:hub.example.com:443~shs:gYCJpN4eGDjHFnWW2Fcusj8O4QYbVDUW6rNYh7nNEnc="};
    for (size_t k = 0; k < 3; k++) {
        size_t len = strlen(inputs[k]);
        for (size_t n = 0; n <= len; n++) {
            char *g = harness_guarded(inputs[k], n);
            shoal_hub_addr hub;
            size_t at = 999;
            int rc = shoal_hub_addr_parse(&hub, g, n, &at);
            free(g);
            if (rc != SHOAL_OK)
                CHECK(at <= n);
        }
    }
}

int main(void)
{
    RUN(the_forms_users_write_are_accepted);
    RUN(canonical_form_is_normalised);
    RUN(rtc_addresses_name_their_hub);
    RUN(other_schemes_are_rejected);
    RUN(user_info_paths_and_queries_are_rejected);
    RUN(bad_hosts_are_rejected);
    RUN(ports_out_of_range_are_rejected);
    RUN(spaces_controls_and_length_are_rejected);
    RUN(every_prefix_is_handled);
    return harness_finish();
}

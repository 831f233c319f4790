/* shoal_discover: our own contact messages follow and unfollow, anyone's rtc-hub message names a
 * hub, and nothing else does, whatever a feed holds. Every input sits in a guarded buffer, so a
 * read past its length trips AddressSanitizer. */
#include "harness.h"

#include "shoal/discover.h"
#include "shoal/feed.h"
#include "shoal/identity.h"

#include <stdlib.h>
#include <string.h>

static shoal_keypair self_keys, other_keys;
static char self_id[SHOAL_REF_STRSIZE], other_id[SHOAL_REF_STRSIZE];

static void make_keys(void)
{
    uint8_t seed[32];
    memset(seed, 1, sizeof seed);
    shoal_keypair_from_seed(&self_keys, seed);
    memset(seed, 2, sizeof seed);
    shoal_keypair_from_seed(&other_keys, seed);
    shoal_identity_feed_id(self_keys.pub, self_id);
    shoal_identity_feed_id(other_keys.pub, other_id);
}

/* shoal_discover over a guarded copy of `text`; its result code in *rc. */
static shoal_discovery discover_rc(const char *text, int *rc)
{
    size_t len = strlen(text);
    char *guarded = harness_guarded(text, len);
    shoal_discovery found;
    memset(&found, 0xAA, sizeof found); /* whatever was there before must not show through */
    *rc = shoal_discover(guarded, len, self_keys.pub, &found);
    free(guarded);
    return found;
}

static shoal_discovery discover(const char *text)
{
    int rc;
    shoal_discovery found = discover_rc(text, &rc);
    CHECK_EQ_ERR(rc, SHOAL_OK);
    return found;
}

/* A message by `author` with `content` (JSON text), shaped as the store keeps it. */
static char *message(const char *author, const char *content)
{
    const char *fmt = "{\"previous\":null,\"author\":%s,\"sequence\":1,\"timestamp\":1,"
                      "\"hash\":\"sha256\",\"content\":%s,\"signature\":\"x.sig.ed25519\"}";
    size_t n = strlen(fmt) + strlen(author) + strlen(content) + 1;
    char *text = malloc(n);
    snprintf(text, n, fmt, author, content);
    return text;
}

static char *quoted(const char *id)
{
    size_t n = strlen(id) + 3;
    char *q = malloc(n);
    snprintf(q, n, "\"%s\"", id);
    return q;
}

/* The kind discovered in a message by `author` (an id) with `content`. */
static shoal_discovery_kind kind_of(const char *author, const char *content)
{
    char *a = quoted(author);
    char *text = message(a, content);
    shoal_discovery found = discover(text);
    static const shoal_discovery zero = {0};
    if (found.kind == SHOAL_DISCOVER_NOTHING)
        CHECK_EQ_MEM(&found, sizeof found, &zero, sizeof zero);
    free(text);
    free(a);
    return found.kind;
}

/* {"type":"contact","contact":<contact JSON>,"following":<following JSON>} */
static char *contact_content(const char *contact, const char *following)
{
    size_t n = strlen(contact) + strlen(following) + 64;
    char *c = malloc(n);
    snprintf(c, n, "{\"type\":\"contact\",\"contact\":%s,\"following\":%s}", contact, following);
    return c;
}

static shoal_discovery_kind contact_kind(const char *author, const char *contact,
                                         const char *following)
{
    char *content = contact_content(contact, following);
    shoal_discovery_kind k = kind_of(author, content);
    free(content);
    return k;
}

static void our_contact_message_follows_and_unfollows(void)
{
    char *other = quoted(other_id), *self = quoted(self_id);
    char *content = contact_content(other, "true");
    char *text = message(self, content);
    shoal_discovery found = discover(text);
    CHECK_EQ_INT(found.kind, SHOAL_DISCOVER_FOLLOW);
    CHECK_EQ_MEM(found.feed, 32, other_keys.pub, 32);
    free(text);
    free(content);
    content = contact_content(other, "false");
    text = message(self, content);
    found = discover(text);
    CHECK_EQ_INT(found.kind, SHOAL_DISCOVER_UNFOLLOW);
    CHECK_EQ_MEM(found.feed, 32, other_keys.pub, 32);
    free(text);
    free(content);
    free(other);
    free(self);
}

/* A real message, signed by shoal_msg_create as the daemon publishes it, in the store's text. */
static void a_published_contact_message_follows(void)
{
    char content[128];
    snprintf(content, sizeof content,
             "{\"type\":\"contact\",\"contact\":\"%s\",\"following\":true}", other_id);
    shoal_feed_state state = {0};
    shoal_buf text = SHOAL_BUF_INIT;
    shoal_msg_info info;
    const char *why = NULL;
    CHECK_EQ_ERR(shoal_msg_create(&self_keys, &state, 1700000000000.0, content, strlen(content),
                                  NULL, &text, &info, &why),
                 SHOAL_OK);
    char *guarded = harness_guarded(text.data, text.len);
    shoal_discovery found;
    CHECK_EQ_ERR(shoal_discover(guarded, text.len, self_keys.pub, &found), SHOAL_OK);
    CHECK_EQ_INT(found.kind, SHOAL_DISCOVER_FOLLOW);
    CHECK_EQ_MEM(found.feed, 32, other_keys.pub, 32);
    free(guarded);
    shoal_buf_free(&text);
}

static void anothers_contact_message_is_nothing(void)
{
    char *self = quoted(self_id);
    CHECK_EQ_INT(contact_kind(other_id, self, "true"), SHOAL_DISCOVER_NOTHING);
    free(self);
}

static void following_must_be_a_boolean(void)
{
    char *other = quoted(other_id);
    const char *bad[] = {"\"true\"", "1", "0", "null", "[]", "{}", "\"false\""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_EQ_INT(contact_kind(self_id, other, bad[i]), SHOAL_DISCOVER_NOTHING);
    char content[160];
    snprintf(content, sizeof content, "{\"type\":\"contact\",\"contact\":%s}", other);
    CHECK_EQ_INT(kind_of(self_id, content), SHOAL_DISCOVER_NOTHING); /* left out */
    free(other);
}

static void the_contact_must_be_a_feed_id(void)
{
    const char *bad[] = {
        "42",
        "null",
        "{}",
        "[\"@AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=.ed25519\"]",
        "\"\"",
        "\"@\"",
        "\"%AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=.sha256\"",  /* a message */
        "\"&AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=.sha256\"",  /* a blob */
        "\"@AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQF=.ed25519\"", /* non-canonical */
        "\"@AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"",         /* no suffix */
        "\"@AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=.ed25519 \"",
        "\" @AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=.ed25519\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_EQ_INT(contact_kind(self_id, bad[i], "true"), SHOAL_DISCOVER_NOTHING);
}

static void a_contact_naming_ourselves_is_nothing(void)
{
    char *self = quoted(self_id);
    CHECK_EQ_INT(contact_kind(self_id, self, "true"), SHOAL_DISCOVER_NOTHING);
    CHECK_EQ_INT(contact_kind(self_id, self, "false"), SHOAL_DISCOVER_NOTHING);
    free(self);
}

/* The hub `address` (JSON) named in a message by `author`. */
static shoal_discovery hub_message(const char *author, const char *address)
{
    char content[4300];
    snprintf(content, sizeof content, "{\"type\":\"rtc-hub\",\"address\":%s}", address);
    char *a = quoted(author);
    char *text = message(a, content);
    shoal_discovery found = discover(text);
    free(text);
    free(a);
    return found;
}

static void a_hub_message_names_its_hub_and_author(void)
{
    struct {
        const char *address, *canonical;
    } cases[] = {
        {"\"http://127.0.0.1:9000\"", "http://127.0.0.1:9000"},
        {"\"http://127.0.0.1:9000/\"", "http://127.0.0.1:9000"},
        {"\"hub.example.com\"", "https://hub.example.com"},
        {"\"rtc:hub.example.com:443~shs:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"",
         "https://hub.example.com"},
        {"\"https://[2001:db8::1]:8443\"", "https://[2001:db8::1]:8443"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        for (int by_us = 0; by_us < 2; by_us++) { /* anyone's feed names hubs, ours too */
            shoal_discovery found = hub_message(by_us ? self_id : other_id, cases[i].address);
            CHECK_EQ_INT(found.kind, SHOAL_DISCOVER_HUB);
            CHECK_EQ_MEM(found.feed, 32, by_us ? self_keys.pub : other_keys.pub, 32);
            shoal_hub_addr want;
            CHECK_EQ_ERR(
                shoal_hub_addr_parse(&want, cases[i].canonical, strlen(cases[i].canonical), NULL),
                SHOAL_OK);
            CHECK(shoal_hub_addr_equal(&found.hub, &want));
        }
    }
}

static void a_bad_hub_address_is_nothing(void)
{
    const char *bad[] = {
        "\"ftp://hub.example.com\"",
        "\"https://user@hub.example.com\"",
        "\"https://hub.example.com/path\"",
        "\"https://hub.example.com/?q=1\"",
        "\"https://hub.example.com/#f\"",
        "\"https://h\\u00fcb.example.com\"",
        "\"https://hub.example.com:0\"",
        "\"https://hub.example.com:65536\"",
        "\"https://hub example.com\"",
        "\"https://::1\"",
        "\"\"",
        "\"   \"",
        "42",
        "null",
        "true",
        "[\"https://hub.example.com\"]",
        "{\"url\":\"https://hub.example.com\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        shoal_discovery found = hub_message(other_id, bad[i]);
        CHECK_EQ_INT(found.kind, SHOAL_DISCOVER_NOTHING);
    }
    char longest[SHOAL_HUB_ADDR_MAXLEN + 64] = "\"https://";
    size_t n = strlen(longest);
    while (n < SHOAL_HUB_ADDR_MAXLEN + 8)
        memcpy(longest + n, "aaaaaaa.", 8), n += 8;
    memcpy(longest + n, "com\"", 5);
    CHECK_EQ_INT(hub_message(other_id, longest).kind, SHOAL_DISCOVER_NOTHING); /* too long */
    char content[64] = "{\"type\":\"rtc-hub\"}";
    CHECK_EQ_INT(kind_of(other_id, content), SHOAL_DISCOVER_NOTHING); /* no address */
}

static void the_author_must_be_a_feed_id(void)
{
    const char *content = "{\"type\":\"rtc-hub\",\"address\":\"https://hub.example.com\"}";
    const char *bad[] = {"42",
                         "null",
                         "\"\"",
                         "\"@me\"",
                         "\"%AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=.sha256\"",
                         "[\"@AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=.ed25519\"]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *text = message(bad[i], content);
        CHECK_EQ_INT(discover(text).kind, SHOAL_DISCOVER_NOTHING);
        free(text);
    }
    char text[200];
    snprintf(text, sizeof text, "{\"content\":%s}", content); /* no author */
    CHECK_EQ_INT(discover(text).kind, SHOAL_DISCOVER_NOTHING);
}

static void other_types_and_contents_are_nothing(void)
{
    char *other = quoted(other_id);
    char content[200];
    const char *types[] = {"\"post\"", "\"Contact\"", "\"contact \"",  "\"rtc-hubs\"",
                           "42",       "null",        "[\"contact\"]", "{\"type\":\"contact\"}"};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        snprintf(content, sizeof content, "{\"type\":%s,\"contact\":%s,\"following\":true}",
                 types[i], other);
        CHECK_EQ_INT(kind_of(self_id, content), SHOAL_DISCOVER_NOTHING);
    }
    snprintf(content, sizeof content, "{\"contact\":%s,\"following\":true}", other);
    CHECK_EQ_INT(kind_of(self_id, content), SHOAL_DISCOVER_NOTHING); /* no type */
    /* a private message's content is a string; and contents that are no object at all */
    const char *odd[] = {"\"c2VjcmV0.box\"", "null", "42", "[]", "true"};
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++)
        CHECK_EQ_INT(kind_of(self_id, odd[i]), SHOAL_DISCOVER_NOTHING);
    char *self = quoted(self_id);
    char text[200];
    snprintf(text, sizeof text, "{\"author\":%s}", self); /* no content */
    CHECK_EQ_INT(discover(text).kind, SHOAL_DISCOVER_NOTHING);
    free(self);
    free(other);
}

/* A repeated key counts with its last value, as JavaScript's JSON.parse has it. */
static void a_repeated_key_counts_with_its_last_value(void)
{
    char *other = quoted(other_id);
    char content[200];
    snprintf(content, sizeof content,
             "{\"type\":\"post\",\"contact\":%s,\"following\":false,\"type\":\"contact\","
             "\"following\":true}",
             other);
    CHECK_EQ_INT(kind_of(self_id, content), SHOAL_DISCOVER_FOLLOW);
    free(other);
}

/* A keyed message, as createHistoryStream sends it, is not the store's text. */
static void a_keyed_message_is_nothing(void)
{
    char text[300];
    snprintf(text, sizeof text,
             "{\"key\":\"%%x.sha256\",\"value\":{\"author\":\"%s\",\"content\":{\"type\":"
             "\"rtc-hub\",\"address\":\"https://hub.example.com\"}}}",
             other_id);
    CHECK_EQ_INT(discover(text).kind, SHOAL_DISCOVER_NOTHING);
}

static void what_is_no_json_object_is_an_error(void)
{
    const char *bad[] = {"",
                         " ",
                         "{",
                         "}",
                         "[]",
                         "[1]",
                         "\"text\"",
                         "null",
                         "42",
                         "true",
                         "{\"author\":}",
                         "{} {}",
                         "{\"a\":1,}",
                         "\xff\xfe",
                         "{\"a\":\"\xc3\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc;
        shoal_discovery found = discover_rc(bad[i], &rc);
        CHECK_EQ_ERR(rc, SHOAL_E_JSON);
        CHECK_EQ_INT(found.kind, SHOAL_DISCOVER_NOTHING);
    }
}

/* Every proper prefix of a hub message is not JSON, and never a hub. */
static void every_prefix_of_a_message_is_an_error(void)
{
    char *a = quoted(other_id);
    char *text = message(a, "{\"type\":\"rtc-hub\",\"address\":\"https://hub.example.com\"}");
    size_t len = strlen(text);
    for (size_t n = 0; n < len; n++) {
        char *guarded = harness_guarded(text, n);
        shoal_discovery found;
        CHECK_EQ_ERR(shoal_discover(guarded, n, self_keys.pub, &found), SHOAL_E_JSON);
        CHECK_EQ_INT(found.kind, SHOAL_DISCOVER_NOTHING);
        free(guarded);
    }
    CHECK_EQ_INT(discover(text).kind, SHOAL_DISCOVER_HUB);
    free(text);
    free(a);
}

/* "\u0000" cannot hide the end of an address from a C string, and deep nesting is refused. */
static void nul_escapes_and_deep_nesting_are_refused(void)
{
    char *a = quoted(other_id);
    char *text = message(a, "{\"type\":\"rtc-hub\",\"address\":\"https://hub.example.com"
                            "\\u0000/evil\"}");
    int rc;
    CHECK_EQ_INT(discover_rc(text, &rc).kind, SHOAL_DISCOVER_NOTHING);
    CHECK_EQ_ERR(rc, SHOAL_E_JSON);
    free(text);
    enum { DEPTH = 100000 };
    char *deep = malloc(2 * DEPTH + 1);
    memset(deep, '[', DEPTH);
    memset(deep + DEPTH, ']', DEPTH);
    deep[2 * DEPTH] = '\0';
    text = message(a, deep);
    CHECK_EQ_INT(discover_rc(text, &rc).kind, SHOAL_DISCOVER_NOTHING);
    CHECK_EQ_ERR(rc, SHOAL_E_JSON);
    free(text);
    free(deep);
    free(a);
}

int main(void)
{
    make_keys();
    RUN(our_contact_message_follows_and_unfollows);
    RUN(a_published_contact_message_follows);
    RUN(anothers_contact_message_is_nothing);
    RUN(following_must_be_a_boolean);
    RUN(the_contact_must_be_a_feed_id);
    RUN(a_contact_naming_ourselves_is_nothing);
    RUN(a_hub_message_names_its_hub_and_author);
    RUN(a_bad_hub_address_is_nothing);
    RUN(the_author_must_be_a_feed_id);
    RUN(other_types_and_contents_are_nothing);
    RUN(a_repeated_key_counts_with_its_last_value);
    RUN(a_keyed_message_is_nothing);
    RUN(what_is_no_json_object_is_an_error);
    RUN(every_prefix_of_a_message_is_an_error);
    RUN(nul_escapes_and_deep_nesting_are_refused);
    return harness_finish();
}

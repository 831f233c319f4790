/* What a message tells the daemon to do (see shoal/discover.h). */
#include "shoal/discover.h"

#include <jansson.h>
#include <string.h>

/* The string `key` of `obj` as a feed id; false when it is missing, not a string, or not one. */
static bool feed_member(const json_t *obj, const char *key, uint8_t feed[32])
{
    const json_t *s = json_object_get(obj, key);
    shoal_ref ref;
    if (!json_is_string(s) ||
        shoal_ref_parse(&ref, json_string_value(s), json_string_length(s), NULL) != SHOAL_OK ||
        ref.kind != SHOAL_REF_FEED)
        return false;
    memcpy(feed, ref.key, 32);
    return true;
}

static bool type_is(const json_t *content, const char *type)
{
    const char *t = json_string_value(json_object_get(content, "type"));
    return t && strcmp(t, type) == 0;
}

/* {"type":"contact","contact":ID,"following":bool} of our own about another feed. */
static void contact(const json_t *content, const uint8_t author[32], const uint8_t self[32],
                    shoal_discovery *out)
{
    const json_t *following = json_object_get(content, "following");
    if (memcmp(author, self, 32) != 0 || !json_is_boolean(following) ||
        !feed_member(content, "contact", out->feed) || memcmp(out->feed, self, 32) == 0)
        return;
    out->kind = json_is_true(following) ? SHOAL_DISCOVER_FOLLOW : SHOAL_DISCOVER_UNFOLLOW;
}

/* {"type":"rtc-hub","address":URL} of anyone's. */
static void hub(const json_t *content, const uint8_t author[32], shoal_discovery *out)
{
    const json_t *address = json_object_get(content, "address");
    if (!json_is_string(address) ||
        shoal_hub_addr_parse(&out->hub, json_string_value(address), json_string_length(address),
                             NULL) != SHOAL_OK)
        return;
    memcpy(out->feed, author, 32);
    out->kind = SHOAL_DISCOVER_HUB;
}

int shoal_discover(const char *text, size_t len, const uint8_t self[32], shoal_discovery *out)
{
    memset(out, 0, sizeof *out);
    out->kind = SHOAL_DISCOVER_NOTHING;
    json_error_t err;
    json_t *msg = json_loadb(text, len, 0, &err);
    if (!msg)
        return json_error_code(&err) == json_error_out_of_memory ? SHOAL_E_NOMEM : SHOAL_E_JSON;
    int rc = json_is_object(msg) ? SHOAL_OK : SHOAL_E_JSON;
    const json_t *content = json_object_get(msg, "content");
    uint8_t author[32];
    if (json_is_object(content) && feed_member(msg, "author", author)) {
        if (type_is(content, SHOAL_CONTACT_MESSAGE_TYPE))
            contact(content, author, self, out);
        else if (type_is(content, SHOAL_HUB_MESSAGE_TYPE))
            hub(content, author, out);
    }
    if (out->kind == SHOAL_DISCOVER_NOTHING) /* what a check that failed half way left behind */
        memset(out, 0, sizeof *out);
    json_decref(msg);
    return rc;
}

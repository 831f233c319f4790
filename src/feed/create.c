/* Publishing: a new message, built and signed as ssb-validate's create and ssb-keys do. */
#include "feed_internal.h"

#include "shoal/identity.h"

#include <sodium.h>
#include <string.h>

static shoal_json *leaf(shoal_json_kind kind)
{
    shoal_json *v = shoal_calloc(1, sizeof *v);
    if (v)
        v->kind = kind;
    return v;
}

static shoal_json *ascii_string(const char *s)
{
    shoal_json *v = leaf(SHOAL_JSON_STRING);
    size_t n = strlen(s);
    if (v && n && !(v->str = shoal_malloc(n * sizeof *v->str))) {
        shoal_free(v);
        return NULL;
    }
    for (size_t i = 0; v && i < n; i++)
        v->str[i] = (uint8_t)s[i];
    if (v)
        v->slen = n;
    return v;
}

static shoal_json *number(double x)
{
    shoal_json *v = leaf(SHOAL_JSON_NUMBER);
    if (v)
        v->num = x;
    return v;
}

/* Appends key: value to an object (both taken; freed on failure). */
static bool add(shoal_json *obj, const char *key, shoal_json *value)
{
    shoal_json *k = ascii_string(key);
    bool ok = value && k;
    if (ok && obj->n == obj->cap) {
        size_t cap = obj->cap ? 2 * obj->cap : 8;
        shoal_json **items = shoal_realloc(obj->items, cap * sizeof *items);
        if (items)
            obj->items = items;
        uint16_t **keys = items ? shoal_realloc(obj->keys, cap * sizeof *keys) : NULL;
        if (keys)
            obj->keys = keys;
        size_t *klens = keys ? shoal_realloc(obj->klens, cap * sizeof *klens) : NULL;
        if (klens) {
            obj->klens = klens;
            obj->cap = cap;
        }
        ok = klens != NULL;
    }
    if (!ok) {
        shoal_json_free(value);
        shoal_json_free(k);
        return false;
    }
    obj->items[obj->n] = value;
    obj->keys[obj->n] = k->str; /* the key's text moves into the object */
    obj->klens[obj->n] = k->slen;
    obj->n++;
    k->str = NULL;
    shoal_json_free(k);
    return true;
}

int shoal_msg_create(const shoal_keypair *keys, const shoal_feed_state *state, double timestamp,
                     const char *content, size_t content_len, const char *hmac_key, shoal_buf *out,
                     shoal_msg_info *info, const char **reason)
{
    shoal_json *body;
    int rc = shoal_json_parse(content, content_len, &body);
    if (rc != SHOAL_OK)
        return rc;
    bool known = state && state->known;
    char author[SHOAL_REF_STRSIZE], previous[64] = "%";
    shoal_identity_feed_id(keys->pub, author);
    if (known) {
        sodium_bin2base64(previous + 1, sizeof previous - 1, state->id, 32,
                          sodium_base64_VARIANT_ORIGINAL);
        strcat(previous, ".sha256");
    }
    shoal_json *msg = leaf(SHOAL_JSON_OBJECT);
    bool ok = msg && add(msg, "previous", known ? ascii_string(previous) : leaf(SHOAL_JSON_NULL)) &&
              add(msg, "sequence", number(known ? (double)state->sequence + 1 : 1)) &&
              add(msg, "author", ascii_string(author)) &&
              add(msg, "timestamp", number(timestamp)) &&
              add(msg, "hash", ascii_string("sha256")) && add(msg, "content", body);
    if (!msg)
        shoal_json_free(body);
    if (!ok) {
        shoal_json_free(msg);
        return SHOAL_E_NOMEM;
    }
    /* sign the serialisation (or its HMAC), then add the signature */
    shoal_u16buf u = {0};
    shoal_buf bytes = SHOAL_BUF_INIT;
    shoal_json_stringify(msg, NULL, &u);
    shoal_u16_to_utf8(u.data, u.len, &bytes);
    rc = u.status ? u.status : shoal_buf_status(&bytes);
    uint8_t sig[64], mac[crypto_auth_BYTES], hmac[32];
    size_t got = 0;
    if (rc == SHOAL_OK && hmac_key &&
        (sodium_base642bin(hmac, sizeof hmac, hmac_key, strlen(hmac_key), NULL, &got, NULL,
                           sodium_base64_VARIANT_ORIGINAL) != 0 ||
         got != 32))
        rc = SHOAL_E_INVAL;
    if (rc == SHOAL_OK) {
        const uint8_t *signed_bytes = (const uint8_t *)bytes.data;
        size_t signed_len = bytes.len;
        if (hmac_key) {
            crypto_auth(mac, signed_bytes, signed_len, hmac);
            signed_bytes = mac;
            signed_len = sizeof mac;
        }
        crypto_sign_detached(sig, NULL, signed_bytes, signed_len, keys->sec);
        char text[128];
        sodium_bin2base64(text, sizeof text, sig, 64, sodium_base64_VARIANT_ORIGINAL);
        strcat(text, ".sig.ed25519");
        if (!add(msg, "signature", ascii_string(text)))
            rc = SHOAL_E_NOMEM;
    }
    shoal_u16buf_free(&u);
    shoal_buf_free(&bytes);
    if (rc == SHOAL_OK) {
        shoal_json_stringify(msg, NULL, &u);
        size_t start = out->len;
        shoal_u16_to_utf8(u.data, u.len, out);
        rc = u.status ? u.status : shoal_buf_status(out);
        /* what we publish must pass what we accept: the content's rules, size and all */
        if (rc == SHOAL_OK) {
            rc = shoal_msg_validate(out->data + start, out->len - start, state, hmac_key, info,
                                    reason);
            if (rc != SHOAL_OK)
                out->len = start;
        }
        shoal_u16buf_free(&u);
    }
    shoal_json_free(msg);
    return rc;
}

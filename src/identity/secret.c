/* The secret file's format: parsing and writing (pure). */
#include "shoal/identity.h"

#include <jansson.h>
#include <sodium.h>
#include <string.h>

static const char suffix[] = ".ed25519";

/* Canonical base64 of exactly `size` bytes followed by ".ed25519". */
static int key_field(const json_t *obj, const char *name, uint8_t *out, size_t size)
{
    const char *s = json_string_value(json_object_get(obj, name));
    if (!s)
        return SHOAL_E_IDENTITY_FORMAT;
    size_t len = strlen(s),
           b64_len = sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL) - 1;
    if (len != b64_len + strlen(suffix) || strcmp(s + b64_len, suffix) != 0)
        return SHOAL_E_IDENTITY_FORMAT;
    /* libsodium 1.0.18 takes bytes >= 0x80 for base64 characters: check the alphabet here */
    for (size_t i = 0; i < b64_len; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '/' || (c == '=' && i >= b64_len - 2);
        if (!ok)
            return SHOAL_E_IDENTITY_FORMAT;
    }
    size_t got = 0;
    if (sodium_base642bin(out, size, s, b64_len, NULL, &got, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        got != size)
        return SHOAL_E_IDENTITY_FORMAT;
    return SHOAL_OK;
}

int shoal_identity_parse(const char *text, size_t len, shoal_keypair *out)
{
    /* comment lines become blank lines, so JSON error positions still match the file */
    char *json = shoal_malloc(len + 1);
    if (!json)
        return SHOAL_E_NOMEM;
    memcpy(json, text, len);
    json[len] = '\0';
    for (size_t i = 0; i < len;) {
        size_t end = i;
        while (end < len && json[end] != '\n')
            end++;
        size_t first = i;
        while (first < end && (json[first] == ' ' || json[first] == '\t'))
            first++;
        if (first < end && json[first] == '#')
            memset(json + first, ' ', end - first);
        i = end + 1;
    }
    json_t *root = json_loadb(json, len, 0, NULL);
    sodium_memzero(json, len);
    shoal_free(json);
    shoal_keypair keys;
    uint8_t pub[32];
    shoal_ref id;
    const char *curve = json_string_value(json_object_get(root, "curve"));
    const char *id_text = json_string_value(json_object_get(root, "id"));
    int rc = SHOAL_OK;
    if (!curve || strcmp(curve, "ed25519") != 0 || !id_text)
        rc = SHOAL_E_IDENTITY_FORMAT;
    if (rc == SHOAL_OK)
        rc = key_field(root, "private", keys.sec, 64);
    if (rc == SHOAL_OK)
        rc = key_field(root, "public", pub, 32);
    if (rc == SHOAL_OK && (shoal_ref_parse(&id, id_text, strlen(id_text), NULL) != SHOAL_OK ||
                           id.kind != SHOAL_REF_FEED))
        rc = SHOAL_E_IDENTITY_FORMAT;
    if (rc == SHOAL_OK) {
        /* the secret key's seed must yield its own public half, and all three must agree */
        uint8_t derived_pub[32], derived_sec[64];
        crypto_sign_seed_keypair(derived_pub, derived_sec, keys.sec);
        if (sodium_memcmp(derived_sec, keys.sec, 64) != 0 || memcmp(derived_pub, pub, 32) != 0 ||
            memcmp(id.key, pub, 32) != 0)
            rc = SHOAL_E_IDENTITY_MISMATCH;
        sodium_memzero(derived_sec, sizeof derived_sec);
    }
    if (rc == SHOAL_OK) {
        memcpy(keys.pub, pub, 32);
        *out = keys;
    }
    sodium_memzero(&keys, sizeof keys);
    json_decref(root);
    return rc;
}

void shoal_identity_feed_id(const uint8_t pub[32], char out[SHOAL_REF_STRSIZE])
{
    shoal_ref ref = {.kind = SHOAL_REF_FEED};
    memcpy(ref.key, pub, 32);
    shoal_ref_format(&ref, out);
}

void shoal_identity_format(const shoal_keypair *keys, shoal_buf *out)
{
    char pub[SHOAL_KEY_B64SIZE], id[SHOAL_REF_STRSIZE];
    char sec[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL)];
    shoal_key_to_b64(keys->pub, pub);
    sodium_bin2base64(sec, sizeof sec, keys->sec, 64, sodium_base64_VARIANT_ORIGINAL);
    shoal_identity_feed_id(keys->pub, id);
    shoal_buf_appendf(out,
                      "# This is your SSB secret: whoever holds it can post as you.\n"
                      "# Never share it. Share your public id instead:\n"
                      "# %s\n"
                      "\n"
                      "{\n"
                      "  \"curve\": \"ed25519\",\n"
                      "  \"public\": \"%s.ed25519\",\n"
                      "  \"private\": \"%s.ed25519\",\n"
                      "  \"id\": \"%s\"\n"
                      "}\n",
                      id, pub, sec, id);
    sodium_memzero(sec, sizeof sec);
}

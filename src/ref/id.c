/* SSB identifiers and 32-byte keys in canonical base64.
 *
 * libsodium's decoder insists on '=' padding and refuses non-zero unused low bits, so each key
 * has one spelling. Its 1.0.18 decoder (Debian 12's) also takes bytes >= 0x80 as alphabet
 * characters (the fuzzer found it: 0xff reads as '/'), so the alphabet is checked here first. */
#include "shoal/ref.h"

#include <sodium.h>
#include <string.h>

#define KEY_B64_LEN 44

static const struct {
    char sigil;
    const char *suffix;
    const char *name;
} kinds[] = {
    [SHOAL_REF_FEED] = {'@', ".ed25519", "feed"},
    [SHOAL_REF_MSG] = {'%', ".sha256", "msg"},
    [SHOAL_REF_BLOB] = {'&', ".sha256", "blob"},
};

static bool in_alphabet(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

int shoal_key_from_b64(uint8_t key[32], const char *s, size_t len)
{
    size_t out_len = 0;
    if (len != KEY_B64_LEN)
        return SHOAL_E_ID_KEY;
    for (size_t i = 0; i < KEY_B64_LEN - 1; i++)
        if (!in_alphabet((unsigned char)s[i]))
            return SHOAL_E_ID_KEY;
    if (sodium_base642bin(key, 32, s, len, NULL, &out_len, NULL, sodium_base64_VARIANT_ORIGINAL) !=
            0 ||
        out_len != 32)
        return SHOAL_E_ID_KEY;
    return SHOAL_OK;
}

void shoal_key_to_b64(const uint8_t key[32], char out[SHOAL_KEY_B64SIZE])
{
    sodium_bin2base64(out, SHOAL_KEY_B64SIZE, key, 32, sodium_base64_VARIANT_ORIGINAL);
}

int shoal_ref_parse(shoal_ref *out, const char *s, size_t len, size_t *err_at)
{
    size_t at = 0;
    int rc = SHOAL_E_ID_SIGIL;
    shoal_ref_kind kind = SHOAL_REF_FEED;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (len > 0 && s[0] == kinds[i].sigil) {
            kind = (shoal_ref_kind)i;
            rc = SHOAL_OK;
        }
    }
    if (rc != SHOAL_OK)
        goto fail;

    at = 1;
    const char *suffix = kinds[kind].suffix;
    size_t suffix_len = strlen(suffix);
    rc = shoal_key_from_b64(out->key, s + 1, len - 1 < KEY_B64_LEN ? len - 1 : KEY_B64_LEN);
    if (rc != SHOAL_OK)
        goto fail;

    at = 1 + KEY_B64_LEN;
    if (len - at != suffix_len || memcmp(s + at, suffix, suffix_len) != 0) {
        rc = SHOAL_E_ID_SUFFIX;
        goto fail;
    }
    out->kind = kind;
    return SHOAL_OK;

fail:
    if (err_at)
        *err_at = at;
    return rc;
}

size_t shoal_ref_format(const shoal_ref *ref, char out[SHOAL_REF_STRSIZE])
{
    out[0] = kinds[ref->kind].sigil;
    shoal_key_to_b64(ref->key, out + 1);
    strcpy(out + 1 + KEY_B64_LEN, kinds[ref->kind].suffix);
    return 1 + KEY_B64_LEN + strlen(kinds[ref->kind].suffix);
}

const char *shoal_ref_kind_name(shoal_ref_kind kind)
{
    return kinds[kind].name;
}

/* SSB ids: the cases of ssb-ref 2.16's test suite, plus canonical-base64 strictness. */
#include "harness.h"

#include "shoal/ref.h"

#include <stdlib.h>
#include <string.h>

static int parse(shoal_ref *r, const char *s, size_t *at)
{
    size_t len = strlen(s);
    char *g = harness_guarded(s, len);
    int rc = shoal_ref_parse(r, g, len, at);
    free(g);
    return rc;
}

static void roundtrip(const char *s, shoal_ref_kind kind)
{
    shoal_ref r;
    char out[SHOAL_REF_STRSIZE];
    if (!CHECK_EQ_ERR(parse(&r, s, NULL), SHOAL_OK))
        return;
    CHECK_EQ_INT(r.kind, kind);
    CHECK_EQ_INT(shoal_ref_format(&r, out), strlen(s));
    CHECK_EQ_STR(out, s);
}

static void rejects(const char *s, int code, size_t offset)
{
    shoal_ref r;
    size_t at = 999;
    CHECK_EQ_ERR(parse(&r, s, &at), code);
    CHECK_EQ_INT(at, offset);
}

static void ssb_ref_valid_ids_round_trip(void)
{
    roundtrip("@jEA8WSl0URsB/g/XYG5zCGBkMOyTeBZfGtbw3RJMIuk=.ed25519", SHOAL_REF_FEED);
    roundtrip("%pGzeEydYdHjKW1iIchR0Yumydsr3QSp8+FuYcwVwi8Q=.sha256", SHOAL_REF_MSG);
    roundtrip("%09abcdefghyq9KH6dYMc/g17L04jDbl1py8arGQmL1I=.sha256", SHOAL_REF_MSG);
    roundtrip("&abcdefg6bIh5dmyss7QH7uMrQxz3LKvgjer68we30aQ=.sha256", SHOAL_REF_BLOB);
    roundtrip("&51ZXxNYIvTDCoNTE9R94NiEg3JAZAxWtKn4h4SmBwyY=.sha256", SHOAL_REF_BLOB);
    roundtrip("@gYCJpN4eGDjHFnWW2Fcusj8O4QYbVDUW6rNYh7nNEnc=.ed25519", SHOAL_REF_FEED);
}

static void ssb_ref_invalid_ids_are_rejected(void)
{
    /* Future feed formats and non-classic hashes. */
    rejects("@dGhlIHF1aWNrIGJyb3duIGZveCBqdW1wZWQh.bamboo-2", SHOAL_E_ID_KEY, 1);
    rejects("%dGhlIHF1aWNrIGJyb3duIGZveCBqdW1wZWQh.gabster-v2", SHOAL_E_ID_KEY, 1);
    rejects("&abcdefg6bIh5dmyss7QH7uMrQxz3LKvgjer68we30aQ=.someHash4", SHOAL_E_ID_SUFFIX, 45);
    rejects("%zoYYzPzPqekTHlErnLC29mrkofpPDuQbUh+DgQYD6H4=.cloaked", SHOAL_E_ID_SUFFIX, 45);
    /* Only prefixed, or not base64. */
    rejects("@cat", SHOAL_E_ID_KEY, 1);
    rejects("%cat=.sha256", SHOAL_E_ID_KEY, 1);
    /* A link with a query is a link, not an id. */
    rejects("&abcdefg6bIh5dmyss7QH7uMrQxz3LKvgjer68we30aQ=.sha256?unbox=abc", SHOAL_E_ID_SUFFIX,
            45);
    rejects("http://example.com", SHOAL_E_ID_SIGIL, 0);
    rejects("", SHOAL_E_ID_SIGIL, 0);
}

static void suffixes_are_strict(void)
{
    /* ssb-ref lets a feed end in .sha256; shoal follows the protocol: feeds are ed25519 keys. */
    rejects("@jEA8WSl0URsB/g/XYG5zCGBkMOyTeBZfGtbw3RJMIuk=.sha256", SHOAL_E_ID_SUFFIX, 45);
    rejects("%pGzeEydYdHjKW1iIchR0Yumydsr3QSp8+FuYcwVwi8Q=.ed25519", SHOAL_E_ID_SUFFIX, 45);
    rejects("%pGzeEydYdHjKW1iIchR0Yumydsr3QSp8+FuYcwVwi8Q=xsha256", SHOAL_E_ID_SUFFIX, 45);
    rejects("@jEA8WSl0URsB/g/XYG5zCGBkMOyTeBZfGtbw3RJMIuk=.ed25519 ", SHOAL_E_ID_SUFFIX, 45);
    rejects("@jEA8WSl0URsB/g/XYG5zCGBkMOyTeBZfGtbw3RJMIuk=.ED25519", SHOAL_E_ID_SUFFIX, 45);
}

static void base64_must_be_canonical(void)
{
    /* 'k' ends in the bits 100100: the last 2 are unused and must be zero ('k' is fine, 'l' not).
     */
    rejects("@jEA8WSl0URsB/g/XYG5zCGBkMOyTeBZfGtbw3RJMIul=.ed25519", SHOAL_E_ID_KEY, 1);
    /* Padding required; URL-safe alphabet refused; inner whitespace refused. */
    rejects("@jEA8WSl0URsB/g/XYG5zCGBkMOyTeBZfGtbw3RJMIuk.ed25519", SHOAL_E_ID_KEY, 1);
    rejects("@jEA8WSl0URsB_g_XYG5zCGBkMOyTeBZfGtbw3RJMIuk=.ed25519", SHOAL_E_ID_KEY, 1);
    rejects("@jEA8WSl0URsB/g/XYG5zCGBkMOyTeBZfGtbw3RJM uk=.ed25519", SHOAL_E_ID_KEY, 1);
    /* Found by fuzz_ref: libsodium 1.0.18 reads bytes >= 0x80 as alphabet characters. */
    rejects("%pGzeEydYdHbKW1iIRhR0Yumyds\3773QSp8+FuYcwVwi8Q=.sha256", SHOAL_E_ID_KEY, 1);
    rejects("%pGzeEydYdHbKW1iIRhR0Yumyds\2003QSp8+FuYcwVwi8Q=.sha256", SHOAL_E_ID_KEY, 1);
    uint8_t key[32];
    CHECK_EQ_ERR(shoal_key_from_b64(key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 44),
                 SHOAL_OK);
    CHECK_EQ_ERR(shoal_key_from_b64(key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", 44),
                 SHOAL_E_ID_KEY);
    CHECK_EQ_ERR(shoal_key_from_b64(key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", 44),
                 SHOAL_E_ID_KEY);
}

static void every_prefix_of_an_id_is_rejected_cleanly(void)
{
    const char *ids[] = {"@jEA8WSl0URsB/g/XYG5zCGBkMOyTeBZfGtbw3RJMIuk=.ed25519",
                         "%pGzeEydYdHjKW1iIchR0Yumydsr3QSp8+FuYcwVwi8Q=.sha256"};
    for (size_t k = 0; k < 2; k++) {
        size_t len = strlen(ids[k]);
        for (size_t n = 0; n < len; n++) {
            char *g = harness_guarded(ids[k], n);
            shoal_ref r;
            size_t at = 999;
            int rc = shoal_ref_parse(&r, g, n, &at);
            free(g);
            CHECK(rc != SHOAL_OK);
            CHECK(at <= n);
        }
    }
}

static void keys_format_as_44_characters(void)
{
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(i * 7);
    char b64[SHOAL_KEY_B64SIZE];
    shoal_key_to_b64(key, b64);
    CHECK_EQ_INT(strlen(b64), 44);
    uint8_t back[32];
    CHECK_EQ_ERR(shoal_key_from_b64(back, b64, 44), SHOAL_OK);
    CHECK_EQ_MEM(back, 32, key, 32);
    CHECK_EQ_STR(shoal_ref_kind_name(SHOAL_REF_BLOB), "blob");
}

int main(void)
{
    RUN(ssb_ref_valid_ids_round_trip);
    RUN(ssb_ref_invalid_ids_are_rejected);
    RUN(suffixes_are_strict);
    RUN(base64_must_be_canonical);
    RUN(every_prefix_of_an_id_is_rejected_cleanly);
    RUN(keys_format_as_44_characters);
    return harness_finish();
}

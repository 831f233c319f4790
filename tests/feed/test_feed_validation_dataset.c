/* Every case of the public validation dataset (ssb-validation-dataset 1.2.1, fetched at test
 * time): each valid message is accepted with the dataset's id, each invalid one refused with
 * ssb-validate's own reason. Usage: test_feed_validation_dataset DATA_JSON */
#include "harness.h"
#include "shoal/feed.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static json_t *cases;

static void every_case_of_the_dataset_is_judged_as_ssb_validate_judges_it(void)
{
    size_t i, valid = 0, invalid = 0, skipped = 0;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        json_t *hmac = json_object_get(c, "hmacKey");
        if (!json_is_null(hmac) && !json_is_string(hmac)) {
            /* a key that is not a string cannot be given to a C function taking one */
            CHECK_EQ_STR(json_string_value(json_object_get(c, "error")),
                         "HMAC key must be a string");
            skipped++;
            continue;
        }
        char *text = json_dumps(json_object_get(c, "message"),
                                JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        shoal_feed_state state = {0};
        json_t *st = json_object_get(c, "state");
        if (json_is_object(st)) {
            const char *id = json_string_value(json_object_get(st, "id"));
            size_t got = 0;
            state.known = id && sodium_base642bin(state.id, 32, id + 1, 44, NULL, &got, NULL,
                                                  sodium_base64_VARIANT_ORIGINAL) == 0;
            state.sequence = (int64_t)json_number_value(json_object_get(st, "sequence"));
        }
        shoal_msg_info info;
        const char *reason = NULL;
        int rc =
            shoal_msg_validate(text, strlen(text), &state, json_string_value(hmac), &info, &reason);
        bool ok;
        if (json_is_true(json_object_get(c, "valid"))) {
            char id[64] = "%";
            sodium_bin2base64(id + 1, sizeof id - 1, info.id, 32, sodium_base64_VARIANT_ORIGINAL);
            strcat(id, ".sha256");
            if (rc != SHOAL_OK)
                fprintf(stderr, "  refused: %s\n", reason ? reason : "?");
            ok = CHECK_EQ_ERR(rc, SHOAL_OK) &&
                 CHECK_EQ_STR(id, json_string_value(json_object_get(c, "id")));
            valid++;
        } else {
            ok = CHECK_EQ_ERR(rc, SHOAL_E_MSG_INVALID) &&
                 CHECK_EQ_STR(reason ? reason : "(none)",
                              json_string_value(json_object_get(c, "error")));
            invalid++;
        }
        if (!ok)
            fprintf(stderr, "  case %zu: %.300s\n", i, text);
        free(text);
    }
    CHECK_EQ_INT(valid, 27);
    CHECK_EQ_INT(invalid + skipped, 99);
}

int main(int argc, char **argv)
{
    json_error_t err;
    /* numbers as JavaScript reads them: doubles (some exceed what an integer holds) */
    cases = argc > 1 ? json_load_file(argv[1], JSON_DECODE_INT_AS_REAL, &err) : NULL;
    if (!cases) {
        fprintf(stderr, "cannot read the dataset (scripts/fetch-test-data fetches it)\n");
        return 1;
    }
    RUN(every_case_of_the_dataset_is_judged_as_ssb_validate_judges_it);
    json_decref(cases);
    return harness_finish();
}

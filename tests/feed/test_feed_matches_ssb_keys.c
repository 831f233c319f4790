/* Messages published by the reference's own code (ssb-validate 4 create, ssb-keys 7 signObj;
 * npm, at test time: tests/feed/ssb_keys_messages.js) and by shoal from the same seed, contents
 * and timestamps come out byte for byte the same, with the same ids; and shoal validates the
 * reference's chain. Usage: test_feed_matches_ssb_keys NODE_MODULES SCRIPT */
#include "harness.h"
#include "shoal/feed.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *modules, *script;

static void shoal_publishes_what_the_reference_publishes(void)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "node '%s' '%s'", script, modules);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    shoal_keypair keys;
    uint8_t seed[32];
    memset(seed, 7, sizeof seed);
    shoal_keypair_from_seed(&keys, seed);
    shoal_feed_state ours = {0}, theirs = {0};
    char line[1 << 16];
    int count = 0;
    while (p && fgets(line, sizeof line, p)) {
        json_t *m = json_loads(line, 0, NULL);
        const char *content = json_string_value(json_object_get(m, "content"));
        const char *text = json_string_value(json_object_get(m, "text"));
        const char *id = json_string_value(json_object_get(m, "id"));
        const char *hmac = json_string_value(json_object_get(m, "hmac"));
        double timestamp = json_number_value(json_object_get(m, "timestamp"));
        shoal_buf out = SHOAL_BUF_INIT;
        shoal_msg_info info, theirs_info;
        const char *reason = NULL;
        CHECK_EQ_ERR(shoal_msg_create(&keys, &ours, timestamp, content, strlen(content), hmac, &out,
                                      &info, &reason),
                     SHOAL_OK);
        if (!CHECK_EQ_STR(out.data ? out.data : "", text))
            fprintf(stderr, "  content %s (%s)\n", content, reason ? reason : "");
        char our_id[64] = "%";
        sodium_bin2base64(our_id + 1, sizeof our_id - 1, info.id, 32,
                          sodium_base64_VARIANT_ORIGINAL);
        strcat(our_id, ".sha256");
        CHECK_EQ_STR(our_id, id);
        /* and the reference's message passes shoal's validation, chained */
        CHECK_EQ_ERR(shoal_msg_validate(text, strlen(text), &theirs, hmac, &theirs_info, &reason),
                     SHOAL_OK);
        ours = (shoal_feed_state){.known = true, .sequence = info.sequence};
        memcpy(ours.id, info.id, 32);
        theirs = (shoal_feed_state){.known = true, .sequence = theirs_info.sequence};
        memcpy(theirs.id, theirs_info.id, 32);
        shoal_buf_free(&out);
        json_decref(m);
        count++;
    }
    CHECK(p && pclose(p) == 0);
    CHECK_EQ_INT(count, 8);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    modules = argv[1];
    script = argv[2];
    RUN(shoal_publishes_what_the_reference_publishes);
    return harness_finish();
}

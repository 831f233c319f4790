/* Writes feeds into a feed store, for the crash tests: `feed-writer DB N` publishes, for three
 * identities from fixed seeds, messages until each feed has N, appending 50 at a time, and
 * prints each feed's head after every batch; it resumes from whatever the store holds.
 * `feed-writer --check DB` reads every feed back and checks that it is a valid prefix of itself
 * (sequence 1 to its head, each message valid after the one before); it prints
 * {"feeds":[heads...],"ids":[feed ids...],"ok":true} and exits 0, or says what is wrong and
 * exits 1. `--feeds K` first: K identities instead of three (the first three the same).
 * `--pad N` first: each message's text longer by N spaces (N up to 7000), so the store's log
 * fills sooner. */
#include "shoal/feed.h"
#include "shoal/ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 50

static int feeds = 3;
static int pad; /* spaces added to each text */

static void keys_of(int i, shoal_keypair *k)
{
    uint8_t seed[32];
    memset(seed, 0x40 + (i < 3 ? i : 0), sizeof seed);
    if (i >= 3) { /* past the first three: the index in the seed */
        seed[0] = (uint8_t)i;
        seed[1] = (uint8_t)(i >> 8);
        seed[2] = (uint8_t)(i >> 16);
        seed[3] = 0xEB;
    }
    shoal_keypair_from_seed(k, seed);
}

typedef struct chain {
    shoal_feed_state state;
    int64_t count;
    bool ok;
} chain;

static bool check_one(const char *text, size_t len, int64_t sequence, const uint8_t id[32],
                      int64_t received, void *ud)
{
    (void)id, (void)received;
    chain *c = ud;
    shoal_msg_info info;
    const char *reason = NULL;
    if (sequence != c->count + 1 ||
        shoal_msg_validate(text, len, &c->state, NULL, &info, &reason) != SHOAL_OK) {
        fprintf(stderr, "sequence %lld: %s\n", (long long)sequence, reason ? reason : "a gap");
        c->ok = false;
        return false;
    }
    c->state = (shoal_feed_state){.known = true, .sequence = info.sequence};
    memcpy(c->state.id, info.id, 32);
    c->count++;
    return true;
}

static int check(shoal_feed_store *st)
{
    printf("{\"feeds\":[");
    bool ok = true;
    for (int i = 0; i < feeds; i++) {
        shoal_keypair k;
        keys_of(i, &k);
        chain c = {.ok = true};
        shoal_feed_state head;
        ok &= shoal_feed_store_history(st, k.pub, 1, 0, check_one, &c) == SHOAL_OK && c.ok &&
              shoal_feed_store_head(st, k.pub, &head) == SHOAL_OK && head.sequence == c.count &&
              (c.count == 0 || memcmp(head.id, c.state.id, 32) == 0);
        printf("%s%lld", i ? "," : "", (long long)c.count);
    }
    printf("],\"ids\":[");
    for (int i = 0; i < feeds; i++) {
        shoal_keypair k;
        keys_of(i, &k);
        shoal_ref ref = {.kind = SHOAL_REF_FEED};
        memcpy(ref.key, k.pub, 32);
        char id[SHOAL_REF_STRSIZE];
        shoal_ref_format(&ref, id);
        printf("%s\"%s\"", i ? "," : "", id);
    }
    printf("],\"ok\":%s}\n", ok ? "true" : "false");
    return ok ? 0 : 1;
}

static int write_feeds(shoal_feed_store *st, int64_t n)
{
    for (bool more = true; more;) {
        more = false;
        for (int i = 0; i < feeds; i++) {
            shoal_keypair k;
            keys_of(i, &k);
            shoal_feed_state state;
            if (shoal_feed_store_head(st, k.pub, &state) != SHOAL_OK)
                return 3;
            shoal_buf texts[BATCH];
            const char *ptrs[BATCH];
            size_t lens[BATCH];
            int b = 0;
            for (; b < BATCH && state.sequence < n; b++) {
                char content[7200];
                int len = snprintf(content, sizeof content,
                                   "{\"type\":\"post\",\"text\":\"message %lld%*s\"}",
                                   (long long)state.sequence + 1, pad, "");
                shoal_msg_info info;
                texts[b] = (shoal_buf)SHOAL_BUF_INIT;
                if (shoal_msg_create(&k, &state, 1700000000000.0 + (double)state.sequence, content,
                                     (size_t)len, NULL, &texts[b], &info, NULL) != SHOAL_OK)
                    return 3;
                ptrs[b] = texts[b].data;
                lens[b] = texts[b].len;
                state = (shoal_feed_state){.known = true, .sequence = info.sequence};
                memcpy(state.id, info.id, 32);
            }
            size_t appended;
            const char *reason = NULL;
            int rc = b ? shoal_feed_store_append(st, ptrs, lens, NULL, (size_t)b, NULL, 0,
                                                 &appended, &reason)
                       : SHOAL_OK;
            for (int j = 0; j < b; j++)
                shoal_buf_free(&texts[j]);
            if (rc != SHOAL_OK) {
                fprintf(stderr, "append: %s %s\n", shoal_strerror(rc), reason ? reason : "");
                return 3;
            }
            more |= state.sequence < n;
            printf("%d %lld\n", i, (long long)state.sequence);
            fflush(stdout);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    for (; argc >= 3 && strncmp(argv[1], "--", 2) == 0 && strcmp(argv[1], "--check") != 0;
         argc -= 2, argv += 2) {
        char *end;
        long v = strtol(argv[2], &end, 10);
        if (end == argv[2] || *end)
            return 2;
        if (strcmp(argv[1], "--feeds") == 0 && v >= 1 && v <= 1000000)
            feeds = (int)v;
        else if (strcmp(argv[1], "--pad") == 0 && v >= 0 && v <= 7000)
            pad = (int)v;
        else
            return 2;
    }
    bool checking = argc == 3 && strcmp(argv[1], "--check") == 0;
    if (argc != 3)
        return 2;
    shoal_feed_store *st;
    if (shoal_feed_store_open(checking ? argv[2] : argv[1], &st) != SHOAL_OK)
        return 3;
    int rc = checking ? check(st) : write_feeds(st, atoll(argv[2]));
    shoal_feed_store_close(st);
    return rc;
}

/* What a durable publish costs (issue 16): our own messages appended one at a time, as
 * `shoal publish` appends them, to a feed store on disk (/tmp), first at the store's default
 * (synchronous = NORMAL: the write-ahead log synced at checkpoints only), then as the daemon does
 * it (synchronous = FULL set around the append, so that the log is synced before the publish is
 * answered). Prints the mean time of one append each way and the difference.
 * Usage: bench_publish [--quick] */
#include "shoal/feed.h"
#include "shoal/shs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Appends n messages of `keys` one at a time; durable: FULL around each. Mean seconds each, or
 * a negative number when an append fails. */
static double publish(shoal_feed_store *st, const shoal_keypair *keys, int n, bool durable)
{
    double began = seconds();
    for (int i = 0; i < n; i++) {
        shoal_feed_state state;
        if (shoal_feed_store_head(st, keys->pub, &state) != SHOAL_OK)
            return -1;
        char content[64];
        int len = snprintf(content, sizeof content, "{\"type\":\"post\",\"text\":\"n%d\"}", i);
        shoal_buf text = SHOAL_BUF_INIT;
        shoal_msg_info info;
        size_t appended;
        int rc = shoal_msg_create(keys, &state, 1700000000000.0 + i, content, (size_t)len, NULL,
                                  &text, &info, NULL);
        if (rc == SHOAL_OK && durable)
            rc = shoal_feed_store_set_durable(st, true);
        const char *ptr = text.data;
        if (rc == SHOAL_OK)
            rc = shoal_feed_store_append(st, &ptr, &text.len, NULL, 1, NULL, 0, &appended, NULL);
        if (rc == SHOAL_OK && durable)
            rc = shoal_feed_store_set_durable(st, false);
        shoal_buf_free(&text);
        if (rc != SHOAL_OK)
            return -1;
    }
    return (seconds() - began) / n;
}

int main(int argc, char **argv)
{
    int n = argc > 1 && strcmp(argv[1], "--quick") == 0 ? 20 : 500;
    char dir[] = "/tmp/shoal-bench-publish-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[64];
    snprintf(path, sizeof path, "%s/feeds.db", dir);
    shoal_feed_store *st;
    if (shoal_feed_store_open(path, &st) != SHOAL_OK)
        return 1;
    shoal_keypair keys;
    shoal_keypair_generate(&keys);
    double normal = publish(st, &keys, n, false);
    double full = publish(st, &keys, n, true);
    shoal_feed_store_close(st);
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[80];
        snprintf(p, sizeof p, "%s%s", path, suffix[i]);
        unlink(p);
    }
    rmdir(dir);
    if (normal < 0 || full < 0) {
        fprintf(stderr, "bench_publish: an append failed\n");
        return 1;
    }
    printf("one publish's append, %d each: synchronous NORMAL %.3f ms, durable (FULL around it) "
           "%.3f ms: %.3f ms more per publish\n",
           n, normal * 1e3, full * 1e3, (full - normal) * 1e3);
    return 0;
}

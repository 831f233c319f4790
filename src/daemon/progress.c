/* Replication's progress on standard error: once a second while messages are stored, on a
 * terminal one line kept up to date (a bar once the peers said how much there is), otherwise a
 * plain line each time; and a closing line with the count and the time once a second passes
 * with nothing new. */
#include "daemon_internal.h"

#include <string.h>
#include <unistd.h>

#define BAR_WIDTH 30

void daemon_progress_init(shoal_daemon *d)
{
    d->progress.feeds =
        g_hash_table_new_full(g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref, NULL);
    d->progress.tty = isatty(STDERR_FILENO);
}

/* What the peers said is left of this run's feeds (-1: none said). */
static int64_t sync_left(shoal_daemon *d)
{
    int64_t left = -1;
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, d->progress.feeds);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        int64_t one = daemon_feeds_left(d, g_bytes_get_data(key, NULL));
        if (one >= 0)
            left = (left < 0 ? 0 : left) + one;
    }
    return left;
}

/* The closing line of a run of sync activity. */
static void finish(daemon_progress *p, double secs)
{
    guint feeds = g_hash_table_size(p->feeds);
    fprintf(stderr, "%sshoal: synced %lld messages from %u feed%s in %.1f s\n",
            p->tty ? "\r\033[K" : "", (long long)p->synced, feeds, feeds == 1 ? "" : "s", secs);
    p->synced = p->told = 0;
    p->began = 0;
    g_hash_table_remove_all(p->feeds);
    p->tick = 0;
}

static gboolean tell(gpointer ud)
{
    shoal_daemon *d = ud;
    daemon_progress *p = &d->progress;
    double secs = (double)(g_get_monotonic_time() - p->began) / 1e6;
    if (p->synced <= p->told) {
        finish(p, secs - 1); /* the last second brought nothing */
        return G_SOURCE_REMOVE;
    }
    guint feeds = g_hash_table_size(p->feeds);
    int64_t left = sync_left(d);
    long long done = p->synced, total = left < 0 ? 0 : done + left;
    const char *s = feeds == 1 ? "" : "s";
    double rate = secs > 0 ? (double)done / secs : 0;
    if (p->tty && total > 0) {
        char bar[BAR_WIDTH + 1];
        int filled = (int)(BAR_WIDTH * done / total);
        memset(bar, '#', (size_t)filled);
        memset(bar + filled, '-', (size_t)(BAR_WIDTH - filled));
        bar[BAR_WIDTH] = '\0';
        fprintf(stderr, "\r\033[Ksyncing [%s] %lld/%lld messages from %u feed%s, %.0f/s", bar, done,
                total, feeds, s, rate);
    } else if (p->tty) {
        fprintf(stderr, "\r\033[Ksyncing: %lld messages from %u feed%s, %.0f/s", done, feeds, s,
                rate);
    } else if (total > 0) {
        fprintf(stderr, "shoal: syncing: %lld of %lld messages from %u feed%s so far, %.0f/s\n",
                done, total, feeds, s, rate);
    } else {
        fprintf(stderr, "shoal: syncing: %lld messages from %u feed%s so far, %.0f/s\n", done,
                feeds, s, rate);
    }
    p->told = p->synced;
    return G_SOURCE_CONTINUE;
}

void daemon_progress_add(shoal_daemon *d, const uint8_t feed[32], int64_t n)
{
    daemon_progress *p = &d->progress;
    g_hash_table_add(p->feeds, g_bytes_new(feed, 32));
    p->synced += n;
    if (!p->tick) {
        p->began = g_get_monotonic_time();
        p->tick = g_timeout_add_seconds(1, tell, d);
    }
}

void daemon_progress_finish(shoal_daemon *d)
{
    daemon_progress *p = &d->progress;
    if (p->tick) {
        g_source_remove(p->tick);
        finish(p, (double)(g_get_monotonic_time() - p->began) / 1e6);
    }
}

void daemon_progress_free(shoal_daemon *d)
{
    if (!d->progress.feeds)
        return;
    daemon_progress_finish(d);
    g_hash_table_destroy(d->progress.feeds);
}

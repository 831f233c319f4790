/* Checkpoints on a thread of their own (see checkpointer.h).
 *
 * In WAL mode SQLite copies the log back into the database (a checkpoint) on the connection whose
 * commit took the log past its bound, and fsyncs the log and the database on the way. During an
 * initial sync that blocked the loop's thread about 30 ms every 16 MB of log, an eighth of the
 * sync's time, while the precheck threads ran out of batches. Here the copy is a PASSIVE
 * checkpoint on a connection of the thread's own: SQLite lets it copy what was committed before
 * it began while the writer commits more, and the thread goes round again while commits came in
 * during its round, chasing the log's tail. The log starts over when a write transaction begins
 * with every frame copied (and no other reader holds an older snapshot), so staying near the
 * bound is best effort: past four times the bound the writer waits for the round under way and
 * copies the rest itself. A process that forks must not use the store in its child (SQLite asks
 * the same of its connections). */
#include "checkpointer.h"

#include "shoal/core.h"

#include <pthread.h>
#include <stdbool.h>

struct store_checkpointer {
    sqlite3 *writer;
    int pages;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* a round is due, or the thread stops */
    pthread_cond_t idle; /* a round is over */
    pthread_t thread;
    bool started, failed; /* the thread runs; it could not be started (the writer copies) */
    bool due, running, stop;
    sqlite3 *db; /* the thread's connection */
};

static void *run(void *arg)
{
    store_checkpointer *c = arg;
    bool knows_log = false;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->due && !c->stop)
            pthread_cond_wait(&c->wake, &c->lock);
        if (c->stop)
            break;
        c->due = false;
        c->running = true;
        pthread_mutex_unlock(&c->lock);
        /* a connection learns that the database is in WAL mode when it first reads it: until
         * then a checkpoint finds no log (-1 frames) and copies nothing */
        if (!knows_log)
            (void)sqlite3_exec(c->db, "PRAGMA journal_mode", NULL, NULL, NULL);
        int frames = -1;
        /* a failure leaves the log as it was: the next commit past the bound asks again */
        (void)sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, NULL);
        knows_log = frames >= 0;
        pthread_mutex_lock(&c->lock);
        c->running = false;
        pthread_cond_broadcast(&c->idle);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* The thread, started the first time it is needed; false when it cannot be (lock held). */
static bool start(store_checkpointer *c)
{
    if (c->started || c->failed)
        return c->started;
    const char *path = sqlite3_db_filename(c->writer, "main");
    c->failed = !path || !*path || /* a database in memory has no log to copy */
                sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
                sqlite3_busy_timeout(c->db, 5000) != SQLITE_OK ||
                pthread_create(&c->thread, NULL, run, c) != 0;
    if (c->failed) {
        sqlite3_close(c->db);
        c->db = NULL;
    }
    c->started = !c->failed;
    return c->started;
}

/* SQLite's wal hook: called after each commit of the writer, its locks released, with the
 * number of pages in the log. */
static int on_commit(void *ud, sqlite3 *db, const char *name, int pages)
{
    store_checkpointer *c = ud;
    if (pages < c->pages)
        return SQLITE_OK;
    pthread_mutex_lock(&c->lock);
    bool writer_copies = pages >= 4 * c->pages || !start(c);
    if (writer_copies) {
        while (c->running)
            pthread_cond_wait(&c->idle, &c->lock);
        c->due = false;
    } else {
        c->due = true; /* a round under way goes round again when it ends */
        if (!c->running)
            pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->lock);
    if (writer_copies) /* no round under way: every frame is copied, unless a reader holds an
                        * older snapshot; the next write transaction then starts the log over */
        (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

store_checkpointer *store_checkpointer_attach(sqlite3 *db, int pages)
{
    store_checkpointer *c = shoal_calloc(1, sizeof *c);
    bool locked = c && pthread_mutex_init(&c->lock, NULL) == 0;
    bool woken = locked && pthread_cond_init(&c->wake, NULL) == 0;
    if (!woken || pthread_cond_init(&c->idle, NULL) != 0) {
        if (woken)
            pthread_cond_destroy(&c->wake);
        if (locked)
            pthread_mutex_destroy(&c->lock);
        shoal_free(c);
        sqlite3_wal_autocheckpoint(db, pages);
        return NULL;
    }
    c->writer = db;
    c->pages = pages;
    sqlite3_wal_hook(db, on_commit, c);
    return c;
}

void store_checkpointer_detach(store_checkpointer *c)
{
    if (!c)
        return;
    sqlite3_wal_autocheckpoint(c->writer, c->pages); /* SQLite's own again, until the close */
    if (c->started) {
        pthread_mutex_lock(&c->lock);
        c->stop = true;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->thread, NULL);
    }
    sqlite3_close(c->db); /* not the last connection: the writer's close copies what is left */
    pthread_cond_destroy(&c->idle);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    shoal_free(c);
}

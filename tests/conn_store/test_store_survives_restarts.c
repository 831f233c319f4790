/* The SQLite store: hubs and peers saved from the manager's events come back as actions after a
 * restart; a crash loses at most the batch not yet flushed; a damaged file is set aside and never
 * wiped; a newer shoal's file is left alone; a backoff outlives a restart; the first version's
 * file is upgraded. */
#include "script.h"

#include "shoal/conn_store.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir;

static char *db_path(const char *name)
{
    return g_build_filename(dir, name, NULL);
}

static void note_all(shoal_conn_store *st, const script *s)
{
    for (size_t i = 0; i < s->nfx; i++)
        CHECK_EQ_ERR(shoal_conn_store_note(st, &s->fx[i]), SHOAL_OK);
}

/* Runs a step and hands its events to the store. */
static void step(script *s, shoal_conn_store *st, shoal_time now, shoal_conn_action a)
{
    script_step(s, now, a);
    note_all(st, s);
}

static int restore_into(const shoal_conn_action *a, void *ud)
{
    script *s = ud;
    script_step(s, 0, *a);
    return strncmp(s->out, "ERROR", 5) == 0 ? SHOAL_E_INVAL : SHOAL_OK;
}

static void hubs_and_peers_come_back_after_a_restart(void)
{
    char *path = db_path("restart.db");
    shoal_conn_store *st;
    CHECK_EQ_ERR(shoal_conn_store_open(&st, path, NULL), SHOAL_OK);
    script s;
    script_init(&s, NULL);
    step(&s, st, 0, act_add_hub(0));
    step(&s, st, 0, act_hub(SHOAL_ACT_HUB_CONNECTION_SUCCEEDED, 0));
    step(&s, st, 0, act_add_hub(1));
    step(&s, st, 10, ANNOUNCE('B', 0));
    step(&s, st, 20, PEER_ACT(REMOTE_PEER_CONNECTION_SUCCEEDED, 'B'));
    step(&s, st, 5020, PEER_ACT(REMOTE_PEER_DID_DISCONNECT, 'B'));
    step(&s, st, 5030, PEER_ACT(PEER_PROTECT, 'C'));
    CHECK(shoal_conn_store_pending(st) >= 4);
    CHECK_EQ_ERR(shoal_conn_store_flush(st), SHOAL_OK);
    CHECK_EQ_INT(shoal_conn_store_pending(st), 0);
    shoal_conn_store_close(st);
    script_free(&s);

    /* A new run. */
    CHECK_EQ_ERR(shoal_conn_store_open(&st, path, NULL), SHOAL_OK);
    script_init(&s, NULL);
    CHECK_EQ_ERR(shoal_conn_store_load(st, restore_into, &s), SHOAL_OK);
    const shoal_conn_hub *h0 = shoal_conn_hub_find(s.c, act_add_hub(0).addr);
    const shoal_conn_hub *h1 = shoal_conn_hub_find(s.c, act_add_hub(1).addr);
    if (CHECK(h0 && h1)) {
        CHECK_EQ_INT(h0->successes, 1);
        CHECK(h0->score > 500);
        CHECK_EQ_INT(h0->state, SHOAL_HUB_CONNECTING); /* dialled at once */
        CHECK_EQ_INT(h1->successes, 0);
    }
    const shoal_conn_peer *b = peer_of(&s, 'B'), *c = peer_of(&s, 'C');
    if (CHECK(b && c)) {
        CHECK_EQ_INT(b->successes, 1);
        CHECK_EQ_INT(b->connected_total, 5000);
        CHECK(!b->protected);
        CHECK(c->protected);
        CHECK_EQ_INT(b->nroutes, 0);
    }
    shoal_conn_store_close(st);
    script_free(&s);
    g_free(path);
}

static void forgotten_peers_and_removed_hubs_are_deleted(void)
{
    char *path = db_path("delete.db");
    shoal_conn_store *st;
    CHECK_EQ_ERR(shoal_conn_store_open(&st, path, NULL), SHOAL_OK);
    script s;
    script_init(&s, NULL);
    step(&s, st, 0, act_add_hub(0));
    step(&s, st, 0, act_add_hub(1));
    step(&s, st, 0, act_hub(SHOAL_ACT_HUB_CONNECTION_SUCCEEDED, 0));
    step(&s, st, 10, ANNOUNCE('B', 0));
    CHECK_EQ_ERR(shoal_conn_store_flush(st), SHOAL_OK);
    step(&s, st, 20, act_hub(SHOAL_ACT_HUB_ADDRESS_REMOVED, 1));
    step(&s, st, 30, PEER_ACT(REMOTE_PEER_CONNECTION_FAILED, 'B'));
    step(&s, st, 40, act_peer(SHOAL_ACT_REMOTE_PEER_DID_LEAVE, 'B', 0));
    CHECK(peer_of(&s, 'B') == NULL);
    shoal_conn_store_close(st); /* closing flushes */
    script_free(&s);

    CHECK_EQ_ERR(shoal_conn_store_open(&st, path, NULL), SHOAL_OK);
    script_init(&s, NULL);
    CHECK_EQ_ERR(shoal_conn_store_load(st, restore_into, &s), SHOAL_OK);
    CHECK(shoal_conn_hub_find(s.c, act_add_hub(0).addr) != NULL);
    CHECK(shoal_conn_hub_find(s.c, act_add_hub(1).addr) == NULL);
    CHECK_EQ_INT(shoal_conn_peer_count(s.c), 0);
    shoal_conn_store_close(st);
    script_free(&s);
    g_free(path);
}

static void a_batch_writes_each_record_once(void)
{
    char *path = db_path("batch.db");
    shoal_conn_store *st;
    CHECK_EQ_ERR(shoal_conn_store_open(&st, path, NULL), SHOAL_OK);
    script s;
    script_init(&s, NULL);
    step(&s, st, 0, act_add_hub(0));
    step(&s, st, 0, act_hub(SHOAL_ACT_HUB_CONNECTION_SUCCEEDED, 0));
    for (int i = 0; i < 50; i++)
        step(&s, st, 10 + i * 1000, ANNOUNCE('B', 0));
    CHECK_EQ_INT(shoal_conn_store_pending(st), 2);
    shoal_conn_store_close(st);
    script_free(&s);
    g_free(path);
}

/* In a child: saves batch 1 (peers with successes 1) and flushes it, queues batch 2 and dies. */
static void crash_after_one_batch(const char *path)
{
    shoal_conn_store *st;
    if (shoal_conn_store_open(&st, path, NULL) != SHOAL_OK)
        _exit(2);
    for (int batch = 1; batch <= 2; batch++) {
        for (int i = 0; i < 20; i++) {
            shoal_conn_peer p;
            memset(&p, 0, sizeof p);
            feed_of('a' + i, p.feed);
            p.successes = (uint32_t)batch;
            shoal_conn_fx fx = {.type = SHOAL_FX_PEER_CHANGED, .peer_record = &p};
            if (shoal_conn_store_note(st, &fx) != SHOAL_OK)
                _exit(3);
        }
        if (batch == 1 && shoal_conn_store_flush(st) != SHOAL_OK)
            _exit(4);
    }
    _exit(0); /* no close, no flush: a crash */
}

static int count_successes(const shoal_conn_action *a, void *ud)
{
    uint32_t *seen = ud;
    seen[a->peer_record->successes < 8 ? a->peer_record->successes : 7]++;
    return SHOAL_OK;
}

static void a_crash_loses_only_the_unflushed_batch(void)
{
    char *path = db_path("crash.db");
    pid_t pid = fork();
    if (pid == 0)
        crash_after_one_batch(path);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    shoal_conn_store *st;
    CHECK_EQ_ERR(shoal_conn_store_open(&st, path, NULL), SHOAL_OK);
    uint32_t seen[8] = {0};
    CHECK_EQ_ERR(shoal_conn_store_load(st, count_successes, seen), SHOAL_OK);
    CHECK_EQ_INT(seen[1], 20);
    CHECK_EQ_INT(seen[2], 0);
    shoal_conn_store_close(st);
    g_free(path);
}

static void killing_during_flushes_leaves_whole_batches(void)
{
    char *path = db_path("kill.db");
    for (int round = 0; round < 5; round++) {
        pid_t pid = fork();
        if (pid == 0) {
            shoal_conn_store *st;
            if (shoal_conn_store_open(&st, path, NULL) != SHOAL_OK)
                _exit(2);
            for (uint32_t batch = 1;; batch++) {
                for (int i = 0; i < 500; i++) {
                    shoal_conn_peer p;
                    memset(&p, 0, sizeof p);
                    memcpy(p.feed, &i, sizeof i);
                    p.successes = batch;
                    shoal_conn_fx fx = {.type = SHOAL_FX_PEER_CHANGED, .peer_record = &p};
                    if (shoal_conn_store_note(st, &fx) != SHOAL_OK)
                        _exit(3);
                }
                if (shoal_conn_store_flush(st) != SHOAL_OK)
                    _exit(4);
            }
        }
        g_usleep(30000 + 20000 * (gulong)round);
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status));
        /* Every peer carries the same batch number: no batch was half written. */
        shoal_conn_store *st;
        shoal_buf aside = SHOAL_BUF_INIT;
        CHECK_EQ_ERR(shoal_conn_store_open(&st, path, &aside), SHOAL_OK);
        CHECK_EQ_INT(aside.len, 0);
        uint32_t seen[8] = {0};
        CHECK_EQ_ERR(shoal_conn_store_load(st, count_successes, seen), SHOAL_OK);
        uint32_t total = 0, distinct = 0;
        for (int i = 0; i < 8; i++) {
            total += seen[i];
            distinct += seen[i] > 0;
        }
        CHECK(total == 0 || total == 500);
        CHECK(distinct <= 1 || seen[7] == total);
        shoal_conn_store_close(st);
        shoal_buf_free(&aside);
    }
    g_free(path);
}

static void a_damaged_file_is_set_aside_not_wiped(void)
{
    char *path = db_path("damaged.db");
    const char garbage[] = "this is not a database, but it is somebody's data";
    CHECK(g_file_set_contents(path, garbage, sizeof garbage, NULL));
    shoal_conn_store *st;
    shoal_buf aside = SHOAL_BUF_INIT;
    CHECK_EQ_ERR(shoal_conn_store_open(&st, path, &aside), SHOAL_OK);
    char *expected = g_strconcat(path, ".corrupt-1", NULL);
    CHECK_EQ_STR(aside.data, expected);
    gchar *kept = NULL;
    gsize len = 0;
    CHECK(g_file_get_contents(expected, &kept, &len, NULL));
    CHECK_EQ_MEM(kept, len, garbage, sizeof garbage);
    /* The fresh database works. */
    script s;
    script_init(&s, NULL);
    step(&s, st, 0, act_add_hub(0));
    CHECK_EQ_ERR(shoal_conn_store_flush(st), SHOAL_OK);
    shoal_conn_store_close(st);
    script_free(&s);
    g_free(kept);
    g_free(expected);
    shoal_buf_free(&aside);
    g_free(path);
}

static void a_newer_shoals_file_is_left_untouched(void)
{
    char *path = db_path("newer.db");
    sqlite3 *db;
    CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_EQ_INT(
        sqlite3_exec(db, "CREATE TABLE future (x); PRAGMA user_version = 99;", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    shoal_conn_store *st = NULL;
    CHECK_EQ_ERR(shoal_conn_store_open(&st, path, NULL), SHOAL_E_STORE_VERSION);
    char *aside = g_strconcat(path, ".corrupt-1", NULL);
    CHECK(!g_file_test(aside, G_FILE_TEST_EXISTS));
    g_free(aside);
    g_free(path);
}

static void an_unwritable_place_is_an_io_error(void)
{
    shoal_conn_store *st = NULL;
    CHECK_EQ_ERR(shoal_conn_store_open(&st, "/nonexistent-dir/shoal.db", NULL), SHOAL_E_STORE_IO);
}

/* Run 1 fails to reach B and saves its backoff; run 2, whose monotonic clock began elsewhere,
 * keeps B backed off to the same wall-clock moment, and the hub's retry too. */
static void a_backoff_survives_a_restart(void)
{
    char *path = db_path("backoff.db");
    shoal_conn_store *st;
    CHECK_EQ_ERR(shoal_conn_store_open(&st, path, NULL), SHOAL_OK);
    shoal_conn_store_set_clock(st, 1000000); /* run 1's monotonic 0 is wall-clock 1,000,000 */
    script s;
    script_init(&s, NULL);
    step(&s, st, 0, act_add_hub(0));
    step(&s, st, 0, act_hub(SHOAL_ACT_HUB_CONNECTION_SUCCEEDED, 0));
    step(&s, st, 0, act_add_hub(1));
    step(&s, st, 0, act_hub(SHOAL_ACT_HUB_CONNECTION_FAILED, 1));
    step(&s, st, 10, ANNOUNCE('B', 0));
    step(&s, st, 30, PEER_ACT(REMOTE_PEER_CONNECTION_FAILED, 'B'));
    const shoal_conn_peer *b = peer_of(&s, 'B');
    const shoal_conn_hub *h1 = shoal_conn_hub_find(s.c, act_add_hub(1).addr);
    if (!CHECK(b && h1 && b->backoff_until > 30 && h1->next_attempt > 0))
        return;
    shoal_time until = b->backoff_until, retry = h1->next_attempt;
    shoal_conn_store_close(st);
    script_free(&s);

    /* Two seconds later, a new run whose monotonic 0 is wall-clock 1,002,030. */
    CHECK_EQ_ERR(shoal_conn_store_open(&st, path, NULL), SHOAL_OK);
    shoal_conn_store_set_clock(st, 1002030);
    script_init(&s, NULL);
    CHECK_EQ_ERR(shoal_conn_store_load(st, restore_into, &s), SHOAL_OK);
    b = peer_of(&s, 'B');
    h1 = shoal_conn_hub_find(s.c, act_add_hub(1).addr);
    if (CHECK(b && h1)) {
        CHECK_EQ_INT(b->failures, 1);
        CHECK_EQ_INT(b->backoff_until, until - 2030);
        CHECK_EQ_INT(h1->failures, 1);
        CHECK_EQ_INT(h1->next_attempt, retry > 2030 ? retry - 2030 : 0);
    }
    /* announced again, it is not dialled before its backoff ends */
    CHECK(strstr(script_step(&s, 100, ANNOUNCE('B', 0)), "DIAL_PEER B") == NULL);
    shoal_conn_store_close(st);
    script_free(&s);
    g_free(path);
}

/* A file of the first version (no failures in a row, no times) is upgraded in place. */
static void a_first_version_file_is_upgraded(void)
{
    char *path = db_path("v1.db");
    sqlite3 *db;
    CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_EQ_INT(
        sqlite3_exec(db,
                     "CREATE TABLE hubs (address TEXT PRIMARY KEY NOT NULL, failures INTEGER NOT "
                     "NULL, score INTEGER NOT NULL, successes INTEGER NOT NULL, total_failures "
                     "INTEGER NOT NULL);"
                     "CREATE TABLE peers (feed BLOB PRIMARY KEY NOT NULL CHECK (length(feed) = "
                     "32), protected INTEGER NOT NULL, successes INTEGER NOT NULL, total_failures "
                     "INTEGER NOT NULL, connected_ms INTEGER NOT NULL);"
                     "INSERT INTO hubs VALUES ('http://127.0.0.1:9000', 0, 750, 3, 1);"
                     "INSERT INTO peers VALUES (zeroblob(32), 1, 2, 0, 5000);"
                     "PRAGMA user_version = 1;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    shoal_conn_store *st;
    CHECK_EQ_ERR(shoal_conn_store_open(&st, path, NULL), SHOAL_OK);
    script s;
    script_init(&s, NULL);
    CHECK_EQ_ERR(shoal_conn_store_load(st, restore_into, &s), SHOAL_OK);
    shoal_hub_addr addr;
    CHECK_EQ_ERR(shoal_hub_addr_parse(&addr, "http://127.0.0.1:9000", 21, NULL), SHOAL_OK);
    const shoal_conn_hub *h = shoal_conn_hub_find(s.c, &addr);
    if (CHECK(h))
        CHECK_EQ_INT(h->successes, 3);
    if (CHECK_EQ_INT(shoal_conn_peer_count(s.c), 1)) {
        const shoal_conn_peer *p = shoal_conn_peer_at(s.c, 0);
        CHECK(p->protected);
        CHECK_EQ_INT(p->failures, 0);
        CHECK_EQ_INT(p->backoff_until, 0);
    }
    shoal_conn_store_close(st);
    script_free(&s);
    g_free(path);
}

int main(void)
{
    dir = g_dir_make_tmp("shoal-store-XXXXXX", NULL);
    RUN(hubs_and_peers_come_back_after_a_restart);
    RUN(forgotten_peers_and_removed_hubs_are_deleted);
    RUN(a_backoff_survives_a_restart);
    RUN(a_first_version_file_is_upgraded);
    RUN(a_batch_writes_each_record_once);
    RUN(a_crash_loses_only_the_unflushed_batch);
    RUN(killing_during_flushes_leaves_whole_batches);
    RUN(a_damaged_file_is_set_aside_not_wiped);
    RUN(a_newer_shoals_file_is_left_untouched);
    RUN(an_unwritable_place_is_an_io_error);
    char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    int rc = system(cmd);
    (void)rc;
    g_free(cmd);
    return harness_finish();
}

/* The SQLite store of hubs and peers (see shoal/conn_store.h).
 *
 * Pending writes wait in two hash tables (hubs by canonical address, peers by feed id), so a
 * batch writes each hub and peer once however many events it saw; a NULL value is a deletion. */
#include "shoal/conn_store.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#define SCHEMA_VERSION 2

/* Times are saved as wall-clock milliseconds (0: none), since a monotonic clock's readings mean
 * nothing to the next run. */
static const char schema[] = "CREATE TABLE IF NOT EXISTS hubs ("
                             "  address TEXT PRIMARY KEY NOT NULL,"
                             "  failures INTEGER NOT NULL, score INTEGER NOT NULL,"
                             "  successes INTEGER NOT NULL, total_failures INTEGER NOT NULL,"
                             "  next_attempt INTEGER NOT NULL DEFAULT 0);"
                             "CREATE TABLE IF NOT EXISTS peers ("
                             "  feed BLOB PRIMARY KEY NOT NULL CHECK (length(feed) = 32),"
                             "  protected INTEGER NOT NULL, successes INTEGER NOT NULL,"
                             "  total_failures INTEGER NOT NULL, connected_ms INTEGER NOT NULL,"
                             "  failures INTEGER NOT NULL DEFAULT 0,"
                             "  backoff_until INTEGER NOT NULL DEFAULT 0);"
                             "PRAGMA user_version = 2;";

/* Version 1 saved no failures in a row and no times. */
static const char upgrade_1[] =
    "ALTER TABLE hubs ADD COLUMN next_attempt INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE peers ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE peers ADD COLUMN backoff_until INTEGER NOT NULL "
    "DEFAULT 0;";

struct shoal_conn_store {
    sqlite3 *db;
    sqlite3_stmt *put_hub, *del_hub, *put_peer, *del_peer;
    GHashTable *hubs;    /* canonical address (owned) -> shoal_conn_hub copy (owned) or NULL */
    GHashTable *peers;   /* feed (owned, 32 bytes) -> shoal_conn_peer copy (owned) or NULL */
    int64_t wall_offset; /* wall-clock ms minus the caller's monotonic ms */
};

static guint feed_hash(gconstpointer key)
{
    guint h;
    memcpy(&h, key, sizeof h);
    return h;
}

static gboolean feed_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, 32) == 0;
}

static bool exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
}

/* SHOAL_OK, or SHOAL_E_STORE_IO when the file is not a sound database we can use,
 * SHOAL_E_STORE_VERSION when it is a newer shoal's. */
static int prepare(shoal_conn_store *st)
{
    sqlite3 *db = st->db;
    sqlite3_stmt *check = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &check, NULL);
    bool sound = rc == SQLITE_OK && sqlite3_step(check) == SQLITE_ROW &&
                 strcmp((const char *)sqlite3_column_text(check, 0), "ok") == 0;
    sqlite3_finalize(check);
    if (!sound)
        return SHOAL_E_STORE_IO;

    sqlite3_stmt *version = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &version, NULL) == SQLITE_OK &&
        sqlite3_step(version) == SQLITE_ROW)
        v = sqlite3_column_int(version, 0);
    sqlite3_finalize(version);
    if (v > SCHEMA_VERSION)
        return SHOAL_E_STORE_VERSION;
    if (v < 0 || !exec(db, "PRAGMA journal_mode = WAL") || !exec(db, "PRAGMA synchronous = NORMAL"))
        return SHOAL_E_STORE_IO;
    if (v == 1 && !exec(db, "BEGIN IMMEDIATE"))
        return SHOAL_E_STORE_IO;
    if (v == 1 && (!exec(db, upgrade_1) || !exec(db, schema) || !exec(db, "COMMIT"))) {
        exec(db, "ROLLBACK");
        return SHOAL_E_STORE_IO;
    }
    if (!exec(db, schema))
        return SHOAL_E_STORE_IO;

    static const char *const sql[] = {
        "INSERT OR REPLACE INTO hubs VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        "DELETE FROM hubs WHERE address = ?1",
        "INSERT OR REPLACE INTO peers VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        "DELETE FROM peers WHERE feed = ?1",
    };
    sqlite3_stmt **stmts[] = {&st->put_hub, &st->del_hub, &st->put_peer, &st->del_peer};
    for (size_t i = 0; i < 4; i++)
        if (sqlite3_prepare_v2(db, sql[i], -1, stmts[i], NULL) != SQLITE_OK)
            return SHOAL_E_STORE_IO; /* the tables exist but are not ours */
    return SHOAL_OK;
}

static void close_db(shoal_conn_store *st)
{
    sqlite3_finalize(st->put_hub);
    sqlite3_finalize(st->del_hub);
    sqlite3_finalize(st->put_peer);
    sqlite3_finalize(st->del_peer);
    st->put_hub = st->del_hub = st->put_peer = st->del_peer = NULL;
    sqlite3_close(st->db);
    st->db = NULL;
}

static int open_db(shoal_conn_store *st, const char *path)
{
    int rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        close_db(st);
        return rc == SQLITE_NOMEM ? SHOAL_E_NOMEM : SHOAL_E_STORE_IO;
    }
    sqlite3_busy_timeout(st->db, 5000);
    rc = prepare(st);
    if (rc != SHOAL_OK)
        close_db(st);
    return rc;
}

/* Renames path (and its -wal and -shm files) to the first free "<path>.corrupt-<n>". */
static int set_aside_file(const char *path, shoal_buf *note)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (int n = 1; n < 1000; n++) {
        char *dest = g_strdup_printf("%s.corrupt-%d", path, n);
        if (g_file_test(dest, G_FILE_TEST_EXISTS)) {
            g_free(dest);
            continue;
        }
        int rc = SHOAL_OK;
        for (size_t i = 0; i < G_N_ELEMENTS(suffixes) && rc == SHOAL_OK; i++) {
            char *from = g_strconcat(path, suffixes[i], NULL);
            char *to = g_strconcat(dest, suffixes[i], NULL);
            if ((i == 0 || g_file_test(from, G_FILE_TEST_EXISTS)) && g_rename(from, to) != 0)
                rc = SHOAL_E_STORE_IO;
            g_free(from);
            g_free(to);
        }
        if (rc == SHOAL_OK && note)
            shoal_buf_append_str(note, dest);
        g_free(dest);
        return rc;
    }
    return SHOAL_E_STORE_IO;
}

int shoal_conn_store_open(shoal_conn_store **out, const char *path, shoal_buf *set_aside)
{
    shoal_conn_store *st = g_new0(shoal_conn_store, 1);
    st->hubs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    st->peers = g_hash_table_new_full(feed_hash, feed_equal, g_free, g_free);
    int rc = open_db(st, path);
    if (rc == SHOAL_E_STORE_IO && g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        rc = set_aside_file(path, set_aside);
        if (rc == SHOAL_OK)
            rc = open_db(st, path);
    }
    if (rc != SHOAL_OK) {
        shoal_conn_store_close(st);
        return rc;
    }
    *out = st;
    return SHOAL_OK;
}

void shoal_conn_store_close(shoal_conn_store *st)
{
    if (!st)
        return;
    if (st->db && shoal_conn_store_flush(st) != SHOAL_OK)
        shoal_log(SHOAL_LOG_WARN, "store", "the last batch could not be written; it is lost");
    close_db(st);
    g_hash_table_destroy(st->hubs);
    g_hash_table_destroy(st->peers);
    g_free(st);
}

int shoal_conn_store_note(shoal_conn_store *st, const shoal_conn_fx *fx)
{
    switch (fx->type) {
    case SHOAL_FX_HUB_CHANGED:
    case SHOAL_FX_HUB_REMOVED: {
        shoal_buf key = SHOAL_BUF_INIT;
        shoal_hub_addr_format(&fx->hub_record->addr, &key);
        if (shoal_buf_status(&key) != SHOAL_OK) {
            shoal_buf_free(&key);
            return SHOAL_E_NOMEM;
        }
        g_hash_table_insert(st->hubs, g_strdup(key.data),
                            fx->type == SHOAL_FX_HUB_REMOVED
                                ? NULL
                                : g_memdup2(fx->hub_record, sizeof *fx->hub_record));
        shoal_buf_free(&key);
        return SHOAL_OK;
    }
    case SHOAL_FX_PEER_CHANGED:
    case SHOAL_FX_PEER_FORGOTTEN:
        g_hash_table_insert(st->peers, g_memdup2(fx->peer_record->feed, 32),
                            fx->type == SHOAL_FX_PEER_FORGOTTEN
                                ? NULL
                                : g_memdup2(fx->peer_record, sizeof *fx->peer_record));
        return SHOAL_OK;
    default:
        return SHOAL_OK;
    }
}

void shoal_conn_store_set_clock(shoal_conn_store *st, int64_t wall_offset)
{
    st->wall_offset = wall_offset;
}

/* A time of the caller's clock as saved (0 stays 0), and back (a time past stays in the past). */
static int64_t to_wall(const shoal_conn_store *st, shoal_time t)
{
    return t > 0 ? t + st->wall_offset : 0;
}

static shoal_time from_wall(const shoal_conn_store *st, int64_t wall)
{
    return wall > st->wall_offset ? wall - st->wall_offset : 0;
}

size_t shoal_conn_store_pending(const shoal_conn_store *st)
{
    return g_hash_table_size(st->hubs) + g_hash_table_size(st->peers);
}

static bool step(sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc == SQLITE_DONE;
}

static bool write_hub(shoal_conn_store *st, const char *address, const shoal_conn_hub *h)
{
    if (!h) {
        sqlite3_bind_text(st->del_hub, 1, address, -1, SQLITE_STATIC);
        return step(st->del_hub);
    }
    sqlite3_bind_text(st->put_hub, 1, address, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st->put_hub, 2, h->failures);
    sqlite3_bind_int64(st->put_hub, 3, h->score);
    sqlite3_bind_int64(st->put_hub, 4, h->successes);
    sqlite3_bind_int64(st->put_hub, 5, h->total_failures);
    sqlite3_bind_int64(st->put_hub, 6,
                       h->state == SHOAL_HUB_DISCONNECTED ? to_wall(st, h->next_attempt) : 0);
    return step(st->put_hub);
}

static bool write_peer(shoal_conn_store *st, const uint8_t *feed, const shoal_conn_peer *p)
{
    if (!p) {
        sqlite3_bind_blob(st->del_peer, 1, feed, 32, SQLITE_STATIC);
        return step(st->del_peer);
    }
    sqlite3_bind_blob(st->put_peer, 1, feed, 32, SQLITE_STATIC);
    sqlite3_bind_int(st->put_peer, 2, p->protected);
    sqlite3_bind_int64(st->put_peer, 3, p->successes);
    sqlite3_bind_int64(st->put_peer, 4, p->total_failures);
    sqlite3_bind_int64(st->put_peer, 5, p->connected_total);
    sqlite3_bind_int64(st->put_peer, 6, p->failures);
    sqlite3_bind_int64(st->put_peer, 7, to_wall(st, p->backoff_until));
    return step(st->put_peer);
}

int shoal_conn_store_flush(shoal_conn_store *st)
{
    if (shoal_conn_store_pending(st) == 0)
        return SHOAL_OK;
    if (!exec(st->db, "BEGIN IMMEDIATE"))
        return SHOAL_E_STORE_IO;
    bool ok = true;
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, st->hubs);
    while (ok && g_hash_table_iter_next(&it, &key, &value))
        ok = write_hub(st, key, value);
    g_hash_table_iter_init(&it, st->peers);
    while (ok && g_hash_table_iter_next(&it, &key, &value))
        ok = write_peer(st, key, value);
    if (!ok || !exec(st->db, "COMMIT")) {
        exec(st->db, "ROLLBACK");
        return SHOAL_E_STORE_IO;
    }
    g_hash_table_remove_all(st->hubs);
    g_hash_table_remove_all(st->peers);
    return SHOAL_OK;
}

static int load_hubs(shoal_conn_store *st, shoal_conn_store_fn *fn, void *ud)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(
            st->db,
            "SELECT address, failures, score, successes, total_failures, next_attempt "
            "FROM hubs ORDER BY rowid",
            -1, &q, NULL) != SQLITE_OK)
        return SHOAL_E_STORE_IO;
    int rc = SHOAL_OK, step_rc = SQLITE_DONE;
    while (rc == SHOAL_OK && (step_rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *address = (const char *)sqlite3_column_text(q, 0);
        shoal_conn_hub saved;
        memset(&saved, 0, sizeof saved);
        /* An address that no longer parses (a rule tightened since) is skipped, not fatal. */
        if (!address ||
            shoal_hub_addr_parse(&saved.addr, address, strlen(address), NULL) != SHOAL_OK)
            continue;
        saved.failures = (uint32_t)sqlite3_column_int64(q, 1);
        saved.score = (int32_t)sqlite3_column_int64(q, 2);
        saved.successes = (uint32_t)sqlite3_column_int64(q, 3);
        saved.total_failures = (uint32_t)sqlite3_column_int64(q, 4);
        saved.next_attempt = from_wall(st, sqlite3_column_int64(q, 5));
        shoal_conn_action a;
        memset(&a, 0, sizeof a);
        a.type = SHOAL_ACT_HUB_RESTORED;
        a.hub_record = &saved;
        rc = fn(&a, ud);
    }
    if (rc == SHOAL_OK && step_rc != SQLITE_DONE)
        rc = SHOAL_E_STORE_IO;
    sqlite3_finalize(q);
    return rc;
}

static int load_peers(shoal_conn_store *st, shoal_conn_store_fn *fn, void *ud)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT feed, protected, successes, total_failures, connected_ms, "
                           "failures, backoff_until FROM peers ORDER BY rowid",
                           -1, &q, NULL) != SQLITE_OK)
        return SHOAL_E_STORE_IO;
    int rc = SHOAL_OK, step_rc = SQLITE_DONE;
    while (rc == SHOAL_OK && (step_rc = sqlite3_step(q)) == SQLITE_ROW) {
        shoal_conn_peer saved;
        memset(&saved, 0, sizeof saved);
        if (sqlite3_column_bytes(q, 0) != 32)
            continue;
        memcpy(saved.feed, sqlite3_column_blob(q, 0), 32);
        saved.protected = sqlite3_column_int(q, 1) != 0;
        saved.successes = (uint32_t)sqlite3_column_int64(q, 2);
        saved.total_failures = (uint32_t)sqlite3_column_int64(q, 3);
        saved.connected_total = sqlite3_column_int64(q, 4);
        saved.failures = (uint32_t)sqlite3_column_int64(q, 5);
        saved.backoff_until = from_wall(st, sqlite3_column_int64(q, 6));
        shoal_conn_action a;
        memset(&a, 0, sizeof a);
        a.type = SHOAL_ACT_PEER_RESTORED;
        a.peer_record = &saved;
        rc = fn(&a, ud);
    }
    if (rc == SHOAL_OK && step_rc != SQLITE_DONE)
        rc = SHOAL_E_STORE_IO;
    sqlite3_finalize(q);
    return rc;
}

int shoal_conn_store_load(shoal_conn_store *st, shoal_conn_store_fn *fn, void *ud)
{
    int rc = load_hubs(st, fn, ud);
    return rc == SHOAL_OK ? load_peers(st, fn, ud) : rc;
}

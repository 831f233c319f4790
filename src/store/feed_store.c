/* The feed store on SQLite (see shoal/feed.h): the feed module's I/O. */
#include "../feed/feed_internal.h"
#include "checkpointer.h"

#include <sodium.h>
#include <sqlite3.h>
#include <string.h>

#define SCHEMA_VERSION 3

static const char pragmas[] =
    "PRAGMA journal_mode = WAL;"
    "PRAGMA synchronous = NORMAL;"
    /* when the log starts over its file is cut back to 20 MB, a little more than the bound (see
     * CHECKPOINT_PAGES: 4096 frames of a page and a header each) */
    "PRAGMA journal_size_limit = 20971520;";

/* Version 3: messages are found by author and sequence only. Versions 1 and 2 also kept an index
 * of ids, which nothing read: its keys come in no order, so each message written dirtied a page
 * of it of its own, and the log grew by a page a message (appends cost 2.5 times the CPU). */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS messages ("
    "  id BLOB NOT NULL CHECK (length(id) = 32),"
    "  author BLOB NOT NULL CHECK (length(author) = 32),"
    "  sequence INTEGER NOT NULL, timestamp REAL NOT NULL, received INTEGER NOT NULL,"
    "  text TEXT NOT NULL, UNIQUE (author, sequence));"
    "CREATE TABLE IF NOT EXISTS feeds ("
    "  author BLOB PRIMARY KEY NOT NULL, sequence INTEGER NOT NULL, id BLOB NOT NULL);"
    /* version 2: how far each EBT peer held each feed when its last session ended */
    "CREATE TABLE IF NOT EXISTS clocks ("
    "  peer BLOB NOT NULL CHECK (length(peer) = 32), author BLOB NOT NULL,"
    "  sequence INTEGER NOT NULL, PRIMARY KEY (peer, author)) WITHOUT ROWID;"
    /* ... and when each peer's was kept last (a counter): the oldest go past the bound */
    "CREATE TABLE IF NOT EXISTS clock_peers ("
    "  peer BLOB PRIMARY KEY NOT NULL, saved INTEGER NOT NULL) WITHOUT ROWID;"
    "PRAGMA user_version = 3;";

/* Versions 1 and 2 to 3, in one transaction: their messages table set aside, the schema's made,
 * the messages copied into it in the order they came (their rowids kept). */
static const char set_aside[] = "BEGIN IMMEDIATE; ALTER TABLE messages RENAME TO messages_v2;";
static const char copy_back[] =
    "INSERT INTO messages (rowid, id, author, sequence, timestamp, received, text)"
    "  SELECT rowid, id, author, sequence, timestamp, received, text FROM messages_v2;"
    "DROP TABLE messages_v2; COMMIT;";

/* A checkpoint every 16 MB of log, not SQLite's 4: a page written many times between two (a
 * feed's last pages, an index's) is copied back once (appends cost a sixth less CPU when the store
 * still had its index of ids). On a thread of its own (checkpointer.c): appends do not wait for it
 * until the log reaches 64 MB. */
#define CHECKPOINT_PAGES 4096

struct shoal_feed_store {
    sqlite3 *db;
    store_checkpointer *checkpointer;
    sqlite3_stmt *head, *insert, *set_head, *history, *id_at, *feeds, *clock, *clock_drop,
        *clock_set, *clock_saved, *clock_evict, *clock_evict_peers;
};

static int prepare(shoal_feed_store *st)
{
    sqlite3_stmt *v = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &v, NULL) == SQLITE_OK &&
        sqlite3_step(v) == SQLITE_ROW)
        version = sqlite3_column_int(v, 0);
    sqlite3_finalize(v);
    if (version > SCHEMA_VERSION)
        return SHOAL_E_STORE_VERSION;
    if (version < 0 || sqlite3_exec(st->db, pragmas, NULL, NULL, NULL) != SQLITE_OK)
        return SHOAL_E_STORE_IO;
    if (version == 1 || version == 2) {
        if (sqlite3_exec(st->db, set_aside, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(st->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(st->db, copy_back, NULL, NULL, NULL) != SQLITE_OK) {
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return SHOAL_E_STORE_IO;
        }
    } else if (sqlite3_exec(st->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        return SHOAL_E_STORE_IO;
    }
    static const char *const sql[] = {
        "SELECT sequence, id FROM feeds WHERE author = ?1",
        "INSERT INTO messages (id, author, sequence, timestamp, received, text) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        "INSERT INTO feeds (author, sequence, id) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (author) DO UPDATE SET sequence = ?2, id = ?3",
        "SELECT text, sequence, id, received FROM messages WHERE author = ?1 AND sequence >= ?2 "
        "ORDER BY sequence LIMIT ?3",
        "SELECT id FROM messages WHERE author = ?1 AND sequence = ?2",
        "SELECT author, sequence FROM feeds",
        "SELECT author, sequence FROM clocks WHERE peer = ?1",
        "DELETE FROM clocks WHERE peer = ?1",
        "INSERT INTO clocks (peer, author, sequence) VALUES (?1, ?2, ?3)",
        "INSERT INTO clock_peers (peer, saved) "
        "VALUES (?1, (SELECT coalesce(max(saved), 0) + 1 FROM clock_peers)) "
        "ON CONFLICT (peer) DO UPDATE SET saved = excluded.saved",
        "DELETE FROM clocks WHERE peer IN "
        "(SELECT peer FROM clock_peers ORDER BY saved DESC LIMIT -1 OFFSET ?1)",
        "DELETE FROM clock_peers WHERE peer IN "
        "(SELECT peer FROM clock_peers ORDER BY saved DESC LIMIT -1 OFFSET ?1)"};
    sqlite3_stmt **stmts[] = {&st->head,        &st->insert,      &st->set_head,
                              &st->history,     &st->id_at,       &st->feeds,
                              &st->clock,       &st->clock_drop,  &st->clock_set,
                              &st->clock_saved, &st->clock_evict, &st->clock_evict_peers};
    for (size_t i = 0; i < sizeof stmts / sizeof *stmts; i++)
        if (sqlite3_prepare_v3(st->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, stmts[i], NULL) !=
            SQLITE_OK)
            return SHOAL_E_STORE_IO;
    return SHOAL_OK;
}

void shoal_feed_store_close(shoal_feed_store *st)
{
    if (!st)
        return;
    store_checkpointer_detach(st->checkpointer);
    sqlite3_finalize(st->head);
    sqlite3_finalize(st->insert);
    sqlite3_finalize(st->set_head);
    sqlite3_finalize(st->history);
    sqlite3_finalize(st->id_at);
    sqlite3_finalize(st->feeds);
    sqlite3_finalize(st->clock);
    sqlite3_finalize(st->clock_drop);
    sqlite3_finalize(st->clock_set);
    sqlite3_finalize(st->clock_saved);
    sqlite3_finalize(st->clock_evict);
    sqlite3_finalize(st->clock_evict_peers);
    sqlite3_close(st->db);
    shoal_free(st);
}

int shoal_feed_store_open(const char *path, shoal_feed_store **out)
{
    shoal_feed_store *st = shoal_calloc(1, sizeof *st);
    if (!st)
        return SHOAL_E_NOMEM;
    int rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) ==
                     SQLITE_OK
                 ? prepare(st)
                 : SHOAL_E_STORE_IO;
    if (rc != SHOAL_OK) {
        shoal_feed_store_close(st);
        return rc;
    }
    sqlite3_busy_timeout(st->db, 5000);
    st->checkpointer = store_checkpointer_attach(st->db, CHECKPOINT_PAGES);
    *out = st;
    return SHOAL_OK;
}

static int head(shoal_feed_store *st, const uint8_t author[32], shoal_feed_state *state)
{
    *state = (shoal_feed_state){0};
    sqlite3_reset(st->head);
    sqlite3_bind_blob(st->head, 1, author, 32, SQLITE_STATIC);
    int rc = sqlite3_step(st->head);
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st->head, 1) == 32) {
        state->known = true;
        state->sequence = sqlite3_column_int64(st->head, 0);
        memcpy(state->id, sqlite3_column_blob(st->head, 1), 32);
    }
    sqlite3_reset(st->head);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SHOAL_OK : SHOAL_E_STORE_IO;
}

int shoal_feed_store_head(shoal_feed_store *st, const uint8_t author[32], shoal_feed_state *state)
{
    return head(st, author, state);
}

/* The author of a message text, to find its feed's head before validating it. */
static bool author_of(const char *text, size_t len, uint8_t author[32])
{
    static const char key[] = "\"author\": \"@";
    const char *at = memmem(text, len, key, sizeof key - 1);
    if (!at || (size_t)(text + len - at) < sizeof key - 1 + 44)
        return false;
    size_t got = 0;
    return sodium_base642bin(author, 32, at + sizeof key - 1, 44, NULL, &got, NULL,
                             sodium_base64_VARIANT_ORIGINAL) == 0 &&
           got == 32;
}

static int insert(shoal_feed_store *st, const char *text, size_t len, const shoal_msg_info *info,
                  int64_t received)
{
    sqlite3_stmt *s = st->insert;
    sqlite3_reset(s);
    sqlite3_bind_blob(s, 1, info->id, 32, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, info->author, 32, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, info->sequence);
    sqlite3_bind_double(s, 4, info->timestamp);
    sqlite3_bind_int64(s, 5, received);
    sqlite3_bind_text(s, 6, text, (int)len, SQLITE_STATIC);
    bool ok = sqlite3_step(s) == SQLITE_DONE;
    sqlite3_reset(s);
    return ok ? SHOAL_OK : SHOAL_E_STORE_IO;
}

static int set_head(shoal_feed_store *st, const uint8_t author[32], const shoal_feed_state *state)
{
    sqlite3_stmt *s = st->set_head;
    sqlite3_bind_blob(s, 1, author, 32, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, state->sequence);
    sqlite3_bind_blob(s, 3, state->id, 32, SQLITE_STATIC);
    bool ok = sqlite3_step(s) == SQLITE_DONE;
    sqlite3_reset(s);
    return ok ? SHOAL_OK : SHOAL_E_STORE_IO;
}

int shoal_feed_store_append(shoal_feed_store *st, const char *const *texts, const size_t *lens,
                            const shoal_msg_checked *checked, size_t n, const char *hmac_key,
                            int64_t received_ms, size_t *appended, const char **reason)
{
    *appended = 0;
    if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return SHOAL_E_STORE_IO;
    int rc = SHOAL_OK;
    /* a run of one feed's messages: its head is read before the first, kept in step, and
     * written after the last (all inside the transaction) */
    uint8_t run_author[32];
    shoal_feed_state run = {0};
    bool in_run = false;
    for (size_t i = 0; i < n && rc == SHOAL_OK; i++) {
        uint8_t author[32];
        shoal_feed_state state = {0};
        shoal_msg_info info;
        bool ok = checked && checked[i].ok;
        bool known = ok || author_of(texts[i], lens[i], author);
        if (ok)
            memcpy(author, checked[i].info.author, 32);
        if (known && in_run && memcmp(author, run_author, 32) == 0) {
            state = run;
        } else {
            if (in_run)
                rc = set_head(st, run_author, &run);
            in_run = false;
            if (known && rc == SHOAL_OK)
                rc = head(st, author, &state);
        }
        if (rc == SHOAL_OK && ok) { /* only the chain is left to check */
            const char *why = shoal__msg_chain(&checked[i], &state);
            info = checked[i].info;
            if (why && reason)
                *reason = why;
            rc = why ? SHOAL_E_MSG_INVALID : SHOAL_OK;
        } else if (rc == SHOAL_OK) {
            rc = shoal_msg_validate(texts[i], lens[i], &state, hmac_key, &info, reason);
        }
        if (rc == SHOAL_OK)
            rc = insert(st, texts[i], lens[i], &info, received_ms);
        if (rc == SHOAL_OK) {
            (*appended)++;
            in_run = true;
            memcpy(run_author, info.author, 32);
            run = (shoal_feed_state){.known = true, .sequence = info.sequence};
            memcpy(run.id, info.id, 32);
        }
    }
    if (in_run && rc != SHOAL_E_STORE_IO) {
        int hrc = set_head(st, run_author, &run);
        rc = hrc != SHOAL_OK ? hrc : rc;
    }
    /* what validated stays; an I/O failure keeps nothing of this call */
    if (rc == SHOAL_E_STORE_IO) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        *appended = 0;
        return rc;
    }
    if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        *appended = 0;
        return SHOAL_E_STORE_IO;
    }
    return rc;
}

int shoal_feed_store_set_durable(shoal_feed_store *st, bool durable)
{
    const char *sql = durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL";
    return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? SHOAL_OK : SHOAL_E_STORE_IO;
}

int shoal_feed_store_history(shoal_feed_store *st, const uint8_t author[32], int64_t from,
                             int64_t limit, shoal_feed_store_fn *fn, void *ud)
{
    sqlite3_stmt *s = st->history;
    sqlite3_reset(s);
    sqlite3_bind_blob(s, 1, author, 32, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, from);
    sqlite3_bind_int64(s, 3, limit > 0 ? limit : -1);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (!fn((const char *)sqlite3_column_text(s, 0), (size_t)sqlite3_column_bytes(s, 0),
                sqlite3_column_int64(s, 1), sqlite3_column_blob(s, 2), sqlite3_column_int64(s, 3),
                ud))
            break;
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SHOAL_OK : SHOAL_E_STORE_IO;
}

int shoal_feed_store_id_at(shoal_feed_store *st, const uint8_t author[32], int64_t sequence,
                           uint8_t id[32])
{
    sqlite3_stmt *s = st->id_at;
    sqlite3_reset(s);
    sqlite3_bind_blob(s, 1, author, 32, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, sequence);
    int rc = sqlite3_step(s);
    bool found = rc == SQLITE_ROW && sqlite3_column_bytes(s, 0) == 32;
    if (found)
        memcpy(id, sqlite3_column_blob(s, 0), 32);
    sqlite3_reset(s);
    return found                                   ? SHOAL_OK
           : rc == SQLITE_ROW || rc == SQLITE_DONE ? SHOAL_E_STORE_MISSING
                                                   : SHOAL_E_STORE_IO;
}

/* Calls fn with each (author, sequence) row of `s`, its parameters bound, until it says stop. */
static int each_head(sqlite3_stmt *s, shoal_feed_store_head_fn *fn, void *ud)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (sqlite3_column_bytes(s, 0) == 32 &&
            !fn(sqlite3_column_blob(s, 0), sqlite3_column_int64(s, 1), ud))
            break;
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SHOAL_OK : SHOAL_E_STORE_IO;
}

int shoal_feed_store_feeds(shoal_feed_store *st, shoal_feed_store_head_fn *fn, void *ud)
{
    sqlite3_reset(st->feeds);
    return each_head(st->feeds, fn, ud);
}

int shoal_feed_store_clock(shoal_feed_store *st, const uint8_t peer[32],
                           shoal_feed_store_head_fn *fn, void *ud)
{
    sqlite3_reset(st->clock);
    sqlite3_bind_blob(st->clock, 1, peer, 32, SQLITE_STATIC);
    return each_head(st->clock, fn, ud);
}

int shoal_feed_store_set_clock(shoal_feed_store *st, const uint8_t peer[32],
                               const uint8_t (*feeds)[32], const int64_t *seqs, size_t n)
{
    if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return SHOAL_E_STORE_IO;
    sqlite3_stmt *s = st->clock_drop;
    sqlite3_bind_blob(s, 1, peer, 32, SQLITE_STATIC);
    bool ok = sqlite3_step(s) == SQLITE_DONE;
    sqlite3_reset(s);
    s = st->clock_set;
    for (size_t i = 0; ok && i < n; i++) {
        sqlite3_bind_blob(s, 1, peer, 32, SQLITE_STATIC);
        sqlite3_bind_blob(s, 2, feeds[i], 32, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, seqs[i]);
        ok = sqlite3_step(s) == SQLITE_DONE;
        sqlite3_reset(s);
    }
    /* the newest SHOAL_FEED_STORE_MAX_CLOCKS peers' clocks stay: strangers cost no more */
    sqlite3_stmt *after[] = {st->clock_saved, st->clock_evict, st->clock_evict_peers};
    for (size_t i = 0; ok && i < 3; i++) {
        if (i == 0)
            sqlite3_bind_blob(after[i], 1, peer, 32, SQLITE_STATIC);
        else
            sqlite3_bind_int(after[i], 1, SHOAL_FEED_STORE_MAX_CLOCKS);
        ok = sqlite3_step(after[i]) == SQLITE_DONE;
        sqlite3_reset(after[i]);
    }
    if (ok && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return SHOAL_OK;
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return SHOAL_E_STORE_IO;
}

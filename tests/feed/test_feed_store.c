/* The feed store: appends validate against each feed's head (a fork, a repeat, a gap refused
 * with the reason, what came before kept), heads and history survive reopening, a message's id is
 * found by its feed and sequence, an older store is brought up to date with its messages, and a
 * newer store is left alone. */
#include "harness.h"
#include "shoal/feed.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static shoal_keypair alice;
static char path[64];

/* The n-th message of alice after `state` (which it advances). */
static char *publish(shoal_feed_state *state, const char *text)
{
    char content[256];
    int len = snprintf(content, sizeof content, "{\"type\":\"post\",\"text\":\"%s\"}", text);
    shoal_buf out = SHOAL_BUF_INIT;
    shoal_msg_info info;
    CHECK_EQ_ERR(shoal_msg_create(&alice, state, 1700000000000, content, (size_t)len, NULL, &out,
                                  &info, NULL),
                 SHOAL_OK);
    *state = (shoal_feed_state){.known = true, .sequence = info.sequence};
    memcpy(state->id, info.id, 32);
    return out.data;
}

static int append(shoal_feed_store *st, char **texts, size_t n, size_t *appended,
                  const char **reason)
{
    size_t lens[16];
    for (size_t i = 0; i < n; i++)
        lens[i] = strlen(texts[i]);
    return shoal_feed_store_append(st, (const char *const *)texts, lens, NULL, n, NULL, 1, appended,
                                   reason);
}

static bool count_one(const char *text, size_t len, int64_t seq, const uint8_t id[32],
                      int64_t received, void *ud)
{
    (void)text, (void)len, (void)seq, (void)id, (void)received;
    ++*(int *)ud;
    return true;
}

static void appends_follow_the_head_and_survive_reopening(void)
{
    shoal_feed_store *st;
    CHECK_EQ_ERR(shoal_feed_store_open(path, &st), SHOAL_OK);
    shoal_feed_state s = {0}, fork_state;
    char *m[5];
    m[0] = publish(&s, "one");
    fork_state = s;
    m[1] = publish(&s, "two");
    m[2] = publish(&s, "three");
    m[3] = publish(&fork_state, "another two"); /* a fork of message 2 */
    m[4] = publish(&s, "four");
    size_t appended;
    const char *reason = NULL;
    CHECK_EQ_ERR(append(st, m, 2, &appended, &reason), SHOAL_OK);
    CHECK_EQ_INT(appended, 2);
    /* a batch whose last message forks the feed: the two before it stay */
    char *batch[] = {m[2], m[4], m[3]};
    CHECK_EQ_ERR(append(st, batch, 3, &appended, &reason), SHOAL_E_MSG_INVALID);
    CHECK_EQ_INT(appended, 2); /* three and four went in ... */
    CHECK_EQ_STR(reason, "Message previous must be the previous message ID"); /* ... the fork not */
    CHECK_EQ_ERR(append(st, &m[0], 1, &appended, &reason), SHOAL_E_MSG_INVALID); /* a repeat */
    CHECK_EQ_INT(appended, 0);
    shoal_feed_store_close(st);

    CHECK_EQ_ERR(shoal_feed_store_open(path, &st), SHOAL_OK);
    shoal_feed_state head;
    CHECK_EQ_ERR(shoal_feed_store_head(st, alice.pub, &head), SHOAL_OK);
    CHECK(head.known);
    CHECK_EQ_INT(head.sequence, 4);
    CHECK_EQ_MEM(head.id, 32, s.id, 32);
    int n = 0;
    CHECK_EQ_ERR(shoal_feed_store_history(st, alice.pub, 2, 2, count_one, &n), SHOAL_OK);
    CHECK_EQ_INT(n, 2); /* from 2, at most 2 */
    uint8_t id[32];
    CHECK_EQ_ERR(shoal_feed_store_id_at(st, alice.pub, 4, id), SHOAL_OK);
    CHECK_EQ_MEM(id, 32, s.id, 32);
    CHECK_EQ_ERR(shoal_feed_store_id_at(st, alice.pub, 5, id), SHOAL_E_STORE_MISSING);
    uint8_t none[32] = {0};
    CHECK_EQ_ERR(shoal_feed_store_id_at(st, none, 1, id), SHOAL_E_STORE_MISSING);
    CHECK_EQ_ERR(shoal_feed_store_head(st, none, &head), SHOAL_OK);
    CHECK(!head.known);
    shoal_feed_store_close(st);
    for (int i = 0; i < 5; i++)
        free(m[i]);
}

/* Appends texts[0..n) to a fresh store, as they are, or prechecked from the items as they came;
 * returns how many went in and why not the next. */
static size_t append_fresh(char **texts, char **items, size_t n, bool prechecked,
                           const char **reason)
{
    const char **jsons = calloc(n, sizeof *jsons);
    size_t *lens = calloc(n, sizeof *lens);
    shoal_buf *canonical = calloc(n, sizeof *canonical);
    shoal_msg_checked *checked = calloc(n, sizeof *checked);
    for (size_t i = 0; i < n; i++) {
        jsons[i] = prechecked ? items[i] : texts[i];
        lens[i] = strlen(jsons[i]);
    }
    if (prechecked) {
        CHECK_EQ_ERR(shoal_msg_precheck_batch(jsons, lens, n, NULL, 4, canonical, checked),
                     SHOAL_OK);
        for (size_t i = 0; i < n; i++) {
            jsons[i] = canonical[i].data ? canonical[i].data : "";
            lens[i] = canonical[i].len;
        }
    }
    unlink(path);
    shoal_feed_store *st;
    CHECK_EQ_ERR(shoal_feed_store_open(path, &st), SHOAL_OK);
    size_t appended = 0;
    *reason = NULL;
    (void)!shoal_feed_store_append(st, jsons, lens, prechecked ? checked : NULL, n, NULL, 1,
                                   &appended, reason);
    shoal_feed_store_close(st);
    for (size_t i = 0; i < n; i++)
        shoal_buf_free(&canonical[i]);
    free(canonical);
    free(checked);
    free(jsons);
    free(lens);
    return appended;
}

/* Checked beforehand on several threads: every genuine message is found ok and written out
 * canonically (a keyed one too), a forged signature or a non-message is not; and appending with
 * those findings keeps and refuses exactly what appending without them does, for the same
 * reasons, whatever breaks the chain. */
static void prechecking_in_parallel_changes_nothing_but_the_time(void)
{
    enum { N = 200 };
    shoal_feed_state s = {0}, fork_state = {0};
    char *texts[N], *items[N];
    size_t lens[N];
    for (int i = 0; i < N; i++) {
        char text[16];
        snprintf(text, sizeof text, "%d", i);
        if (i == 100)
            fork_state = s;
        items[i] = texts[i] = publish(&s, text);
        if (i == 60) { /* keyed, as createHistoryStream sends it */
            items[i] = malloc(strlen(texts[i]) + 64);
            sprintf(items[i], "{\"key\":\"%%x\",\"value\":%s,\"timestamp\":1}", texts[i]);
        }
        lens[i] = strlen(items[i]);
    }
    char *sig = strstr(texts[150], "\"signature\": \"") + 14;
    sig[1] = sig[1] == 'B' ? 'C' : 'B'; /* still canonical base64, no longer alice's signature */
    shoal_buf canonical[N] = {0};
    shoal_msg_checked checked[N];
    CHECK_EQ_ERR(
        shoal_msg_precheck_batch((const char *const *)items, lens, N, NULL, 4, canonical, checked),
        SHOAL_OK);
    for (int i = 0; i < N; i++) {
        CHECK_EQ_INT(checked[i].ok, i != 150);
        CHECK_EQ_STR(canonical[i].data, texts[i]);
        CHECK_EQ_INT(checked[i].ok ? checked[i].info.sequence : i + 1, i + 1);
        shoal_buf_free(&canonical[i]);
    }
    char *fork = publish(&fork_state, "a fork of 101");
    struct {
        int at;      /* which message is replaced */
        char *by;    /* with what */
        size_t kept; /* messages appended */
    } cases[] = {
        {150, texts[150], 150}, /* a forged signature */
        {101, fork, 101},       /* a fork: the previous is not the head */
        {101, texts[100], 101}, /* a repeat */
        {101, texts[102], 101}, /* a gap */
        {0, texts[1], 0},       /* not the first message */
        {70, "[1, 2", 70},      /* not JSON */
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int at = cases[c].at;
        char *keep_text = texts[at], *keep_item = items[at];
        texts[at] = items[at] = cases[c].by;
        const char *plain_reason, *checked_reason;
        CHECK_EQ_INT(append_fresh(texts, items, N, false, &plain_reason), cases[c].kept);
        CHECK_EQ_INT(append_fresh(texts, items, N, true, &checked_reason), cases[c].kept);
        CHECK(plain_reason != NULL);
        CHECK_EQ_STR(checked_reason, plain_reason);
        texts[at] = keep_text;
        items[at] = keep_item;
    }
    free(fork);
    free(items[60]);
    for (int i = 0; i < N; i++)
        free(texts[i]);
}

typedef struct clock_read {
    size_t n;
    int64_t sum;
} clock_read;

static bool read_one(const uint8_t author[32], int64_t sequence, void *ud)
{
    (void)author;
    clock_read *c = ud;
    c->n++;
    c->sum += sequence;
    return true;
}

static clock_read clock_of(shoal_feed_store *st, uint32_t peer_no)
{
    uint8_t peer[32] = {0};
    memcpy(peer, &peer_no, sizeof peer_no);
    clock_read c = {0};
    CHECK_EQ_ERR(shoal_feed_store_clock(st, peer, read_one, &c), SHOAL_OK);
    return c;
}

/* A peer's clock is replaced whole and survives reopening; past SHOAL_FEED_STORE_MAX_CLOCKS
 * peers the ones kept longest ago go (strangers met once cost no more than the bound). */
static void peers_clocks_are_kept_and_bounded(void)
{
    unlink(path);
    shoal_feed_store *st;
    CHECK_EQ_ERR(shoal_feed_store_open(path, &st), SHOAL_OK);
    uint8_t feeds[3][32] = {{1}, {2}, {3}};
    int64_t seqs[3] = {5, 7, -1};
    for (uint32_t p = 0; p < SHOAL_FEED_STORE_MAX_CLOCKS + 2; p++) {
        uint8_t peer[32] = {0};
        memcpy(peer, &p, sizeof p);
        CHECK_EQ_ERR(
            shoal_feed_store_set_clock(st, peer, (const uint8_t(*)[32])feeds, seqs, p == 2 ? 2 : 3),
            SHOAL_OK);
    }
    /* peer 2 kept again: now the newest; then one more stranger pushes out the oldest, 3 */
    uint8_t peer2[32] = {2}, stranger[32];
    memset(stranger, 0xee, sizeof stranger);
    CHECK_EQ_ERR(shoal_feed_store_set_clock(st, peer2, (const uint8_t(*)[32])feeds, seqs, 1),
                 SHOAL_OK);
    CHECK_EQ_ERR(shoal_feed_store_set_clock(st, stranger, (const uint8_t(*)[32])feeds, seqs, 3),
                 SHOAL_OK);
    shoal_feed_store_close(st);
    CHECK_EQ_ERR(shoal_feed_store_open(path, &st), SHOAL_OK);
    CHECK_EQ_INT(clock_of(st, 0).n, 0); /* the two kept longest ago: gone */
    CHECK_EQ_INT(clock_of(st, 1).n, 0);
    CHECK_EQ_INT(clock_of(st, 2).n, 1); /* replaced whole */
    CHECK_EQ_INT(clock_of(st, 2).sum, 5);
    CHECK_EQ_INT(clock_of(st, 3).n, 0);
    CHECK_EQ_INT(clock_of(st, 4).n, 3);
    CHECK_EQ_INT(clock_of(st, 4).sum, 11);
    CHECK_EQ_INT(clock_of(st, SHOAL_FEED_STORE_MAX_CLOCKS + 1).n, 3);
    shoal_feed_store_close(st);
}

static int count_rows(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    CHECK(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK);
    int n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
    sqlite3_finalize(s);
    return n;
}

/* A store of version 2 (an index of message ids beside the feeds and sequences) opens as version
 * 3: the same messages, the same heads, in the same order, without the index; appends go on. */
static void an_older_store_is_brought_up_to_date(void)
{
    unlink(path);
    shoal_feed_store *st;
    CHECK_EQ_ERR(shoal_feed_store_open(path, &st), SHOAL_OK);
    shoal_feed_state s = {0};
    char *m[4];
    for (int i = 0; i < 4; i++)
        m[i] = publish(&s, i == 0 ? "one" : i == 1 ? "two" : i == 2 ? "three" : "four");
    size_t appended;
    const char *reason = NULL;
    CHECK_EQ_ERR(append(st, m, 3, &appended, &reason), SHOAL_OK);
    shoal_feed_store_close(st);

    sqlite3 *db; /* as version 2 kept them */
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(
        sqlite3_exec(db,
                     "ALTER TABLE messages RENAME TO m3;"
                     "CREATE TABLE messages ("
                     "  id BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 32),"
                     "  author BLOB NOT NULL CHECK (length(author) = 32),"
                     "  sequence INTEGER NOT NULL, timestamp REAL NOT NULL,"
                     "  received INTEGER NOT NULL, text TEXT NOT NULL, UNIQUE (author, sequence));"
                     "INSERT INTO messages (rowid, id, author, sequence, timestamp, received, text)"
                     "  SELECT rowid + 10, id, author, sequence, timestamp, received, text FROM m3;"
                     "DROP TABLE m3; PRAGMA user_version = 2;",
                     NULL, NULL, NULL) == SQLITE_OK);
    CHECK_EQ_INT(count_rows(db, "SELECT count(*) FROM sqlite_schema WHERE tbl_name = 'messages' "
                                "AND type = 'index'"),
                 2);
    sqlite3_close(db);

    CHECK_EQ_ERR(shoal_feed_store_open(path, &st), SHOAL_OK);
    shoal_feed_state head;
    CHECK_EQ_ERR(shoal_feed_store_head(st, alice.pub, &head), SHOAL_OK);
    CHECK_EQ_INT(head.sequence, 3);
    int n = 0;
    CHECK_EQ_ERR(shoal_feed_store_history(st, alice.pub, 1, -1, count_one, &n), SHOAL_OK);
    CHECK_EQ_INT(n, 3);
    uint8_t id[32];
    CHECK_EQ_ERR(shoal_feed_store_id_at(st, alice.pub, 3, id), SHOAL_OK);
    CHECK_EQ_MEM(id, 32, head.id, 32);
    CHECK_EQ_ERR(append(st, &m[3], 1, &appended, &reason), SHOAL_OK); /* and on it goes */
    CHECK_EQ_INT(appended, 1);
    shoal_feed_store_close(st);

    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK_EQ_INT(count_rows(db, "PRAGMA user_version"), 3);
    CHECK_EQ_INT(count_rows(db, "SELECT count(*) FROM sqlite_schema WHERE tbl_name = 'messages' "
                                "AND type = 'index'"),
                 1); /* (author, sequence) only */
    CHECK_EQ_INT(count_rows(db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE '%v2%'"), 0);
    CHECK_EQ_INT(count_rows(db, "SELECT min(rowid) FROM messages"), 11); /* the order kept */
    CHECK_EQ_INT(count_rows(db, "SELECT max(sequence) FROM messages"), 4);
    sqlite3_close(db);
    for (int i = 0; i < 4; i++)
        free(m[i]);
}

static void a_newer_store_is_left_alone(void)
{
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    shoal_feed_store *st;
    CHECK_EQ_ERR(shoal_feed_store_open(path, &st), SHOAL_E_STORE_VERSION);
}

int main(void)
{
    uint8_t seed[32] = {3};
    shoal_keypair_from_seed(&alice, seed);
    snprintf(path, sizeof path, "/tmp/shoal-feed-store-%d.db", (int)getpid());
    RUN(appends_follow_the_head_and_survive_reopening);
    RUN(prechecking_in_parallel_changes_nothing_but_the_time);
    RUN(peers_clocks_are_kept_and_bounded);
    RUN(an_older_store_is_brought_up_to_date);
    RUN(a_newer_store_is_left_alone);
    unlink(path);
    char side[80];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    return harness_finish();
}

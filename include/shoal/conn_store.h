/* shoal conn_store: the peer state manager's hubs and peers, kept in SQLite between runs.
 *
 * An adapter, not a core: it reads and writes a file. The daemon hands it every event effect the
 * manager emits, flushes the batch now and then (one transaction each, so a crash loses at most
 * the batch not yet flushed), and at start turns what was saved back into actions.
 *
 * Saved: each hub's address, health (failures in a row, score, successes, total failures) and,
 * while it is disconnected, when it is to be dialled again; each peer's protected flag, totals
 * (successes, total failures, time connected), failures in a row and the end of its backoff.
 * The records' times are readings of the caller's monotonic clock, which mean nothing to the
 * next run: they are saved as wall-clock times (see shoal_conn_store_set_clock) and turned back
 * on loading, so a peer backed off before a restart is still backed off after it. Forgotten
 * peers and removed hubs are deleted. A database of an older shoal is upgraded in place. */
#ifndef SHOAL_CONN_STORE_H
#define SHOAL_CONN_STORE_H

#include "shoal/conn.h"

typedef struct shoal_conn_store shoal_conn_store;

/* Opens the database at `path` (creating it), in WAL mode. A file that is not a sound shoal
 * database (not SQLite, damaged, failing its integrity check) is never wiped: it is renamed to
 * "<path>.corrupt-<n>" (its -wal and -shm files too), a fresh database takes its place, and the
 * new name is appended to `set_aside` (may be NULL) for the caller to report.
 * Errors: SHOAL_E_STORE_VERSION (a newer shoal's database, left untouched), SHOAL_E_STORE_IO,
 * SHOAL_E_NOMEM. */
SHOAL_MUST_CHECK int shoal_conn_store_open(shoal_conn_store **out, const char *path,
                                           shoal_buf *set_aside);
/* Flushes what is pending, then closes. NULL is a no-op. */
void shoal_conn_store_close(shoal_conn_store *st);

/* How the caller's monotonic clock maps to the wall clock: wall-clock ms minus monotonic ms,
 * now. Set it before noting or loading anything (0 until then: times saved as they are). */
void shoal_conn_store_set_clock(shoal_conn_store *st, int64_t wall_offset);

/* Queues what an event says (HUB_CHANGED, HUB_REMOVED, PEER_CHANGED, PEER_FORGOTTEN; other
 * effects are ignored). A later event about the same hub or peer replaces an earlier one. */
SHOAL_MUST_CHECK int shoal_conn_store_note(shoal_conn_store *st, const shoal_conn_fx *fx);
/* Hubs and peers waiting for the next flush. */
size_t shoal_conn_store_pending(const shoal_conn_store *st);
/* Writes the queued batch in one transaction. On error the batch stays queued. */
SHOAL_MUST_CHECK int shoal_conn_store_flush(shoal_conn_store *st);

/* Calls fn with a HUB_RESTORED action for each saved hub, then a PEER_RESTORED action for each
 * saved peer (records borrowed for the call). Stops at fn's first error and returns it. */
typedef int shoal_conn_store_fn(const shoal_conn_action *a, void *ud);
SHOAL_MUST_CHECK int shoal_conn_store_load(shoal_conn_store *st, shoal_conn_store_fn *fn, void *ud);

#endif

/* A WAL database's checkpoints on a thread of their own (see checkpointer.c). */
#ifndef SHOAL_STORE_CHECKPOINTER_H
#define SHOAL_STORE_CHECKPOINTER_H

#include <sqlite3.h>

typedef struct store_checkpointer store_checkpointer;

/* Takes over the checkpoints of `db` (in WAL mode; its wal hook is the checkpointer's): once the
 * log holds `pages` pages a thread with a connection of its own copies it back, while `db`
 * writes on; past four times as many, `db` copies what is left itself (the log then starts over
 * unless another reader holds an older snapshot). NULL when it cannot be set up (no memory):
 * `db` then checkpoints itself every `pages` pages, as SQLite does. */
store_checkpointer *store_checkpointer_attach(sqlite3 *db, int pages);

/* Stops the thread and closes its connection; before `db` is closed. NULL is ignored. */
void store_checkpointer_detach(store_checkpointer *c);

#endif

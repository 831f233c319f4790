/* shoal feed: SSB's classic message format.
 *
 * How this works. A message is JSON whose signature covers V8's `JSON.stringify(message without
 * its signature, null, 2)`, and whose id hashes the whole serialisation's UTF-16 code units, each
 * cut to its low byte. So shoal keeps JSON as JavaScript sees it: strings as UTF-16, numbers as
 * doubles printed by ECMAScript's Number::toString, object keys in JavaScript's order (integer-like
 * keys first, ascending, then the others as inserted; a repeated key keeps its first place and
 * its last value). All pure. */
#ifndef SHOAL_FEED_H
#define SHOAL_FEED_H

#include "shoal/core.h"
#include "shoal/shs.h"

/* ---- JSON as JavaScript sees it ------------------------------------------------------------ */
typedef struct shoal_json shoal_json;

/* Parses JSON text (UTF-8, RFC 8259 strictly: nothing after the value but white space).
 * SHOAL_E_JSON for anything else, SHOAL_E_NOMEM. Nesting deeper than 512 is refused. */
SHOAL_MUST_CHECK int shoal_json_parse(const char *text, size_t len, shoal_json **out);
void shoal_json_free(shoal_json *v);

/* A growable buffer of UTF-16 code units. */
typedef struct shoal_u16buf {
    uint16_t *data;
    size_t len, cap;
    int status;
} shoal_u16buf;
void shoal_u16buf_free(shoal_u16buf *b);

/* Appends V8's JSON.stringify(v, null, 2), leaving out the top-level key `skip` (NULL: none). */
void shoal_json_stringify(const shoal_json *v, const char *skip, shoal_u16buf *out);
/* Appends V8's JSON.stringify(v): no white space (how messages travel inside RPC items). */
void shoal_json_stringify_compact(const shoal_json *v, shoal_u16buf *out);
/* The object's member under an ASCII key; NULL when there is none or v is no object. */
const shoal_json *shoal_json_member(const shoal_json *obj, const char *key);
/* Appends the UTF-8 encoding of UTF-16 units (lone surrogates as U+FFFD, as Buffer.from does). */
void shoal_u16_to_utf8(const uint16_t *s, size_t n, shoal_buf *out);

/* ---- Messages ---------------------------------------------------------------------------------
 */

/* What we know of a feed before its next message: nothing (a new feed) or its latest. */
typedef struct shoal_feed_state {
    bool known;
    uint8_t id[32]; /* the latest message's id */
    int64_t sequence;
} shoal_feed_state;

typedef struct shoal_msg_info {
    uint8_t id[32];
    uint8_t author[32];
    int64_t sequence;
    double timestamp;
} shoal_msg_info;

/* Validates one message as ssb-validate does: its shape and key order, author, hash, timestamp,
 * sequence and previous against `state`, content, signature (over the HMAC of the signed bytes
 * when `hmac_key` is not NULL: a network's own signing key, base64) and size. On success *info
 * holds its id and fields. Else SHOAL_E_MSG_INVALID with *reason (when not NULL) set to
 * ssb-validate's words ("Message content type must be a string", ...), or SHOAL_E_NOMEM. */
SHOAL_MUST_CHECK int shoal_msg_validate(const char *text, size_t len, const shoal_feed_state *state,
                                        const char *hmac_key, shoal_msg_info *info,
                                        const char **reason);

/* What shoal_msg_precheck_batch found of one message. */
typedef struct shoal_msg_checked {
    bool ok;             /* every rule but the chain's holds: valid if it follows its feed's head */
    shoal_msg_info info; /* when ok: its id, author, sequence, timestamp */
    double sequence;     /* when ok: as written */
    int previous;        /* when ok: 0 null, 1 an id (previous_id), -1 anything else */
    uint8_t previous_id[32];
} shoal_msg_checked;

/* Prepares n messages received for shoal_feed_store_append, on up to `threads` threads (the
 * caller's among them, at most SHOAL_MSG_MAX_THREADS): each is JSON (any layout), a message or a
 * keyed message {"key","value","timestamp"} as createHistoryStream sends them; texts[i] gets its
 * canonical text (left empty when it is not JSON) and checked[i] what holds of it without its
 * feed's state: its shape, content, size and signature, its id. These are the dear parts of
 * validation, so a batch spreads them over the cores; appending then checks only the chain. A
 * message not ok is validated in full by the append, which finds the reason. SHOAL_E_NOMEM, or
 * SHOAL_OK. */
#define SHOAL_MSG_MAX_THREADS 16
SHOAL_MUST_CHECK int shoal_msg_precheck_batch(const char *const *jsons, const size_t *lens,
                                              size_t n, const char *hmac_key, unsigned threads,
                                              shoal_buf *texts, shoal_msg_checked *checked);

/* Publishes: the next message of the feed of `keys` after `state`, with `content` (JSON text: an
 * object, or an encrypted string) at `timestamp` (ms since 1970), signed (over the HMAC of the
 * signed bytes when `hmac_key`, base64, is given), exactly as ssb-validate's create and ssb-keys'
 * signObj make it. Appends the message's canonical text (JSON.stringify(msg, null, 2)) to `out`
 * and sets *info. SHOAL_E_MSG_INVALID (with *reason) when the content is not one a message may
 * carry, SHOAL_E_JSON when it is not JSON, SHOAL_E_NOMEM. */
SHOAL_MUST_CHECK int shoal_msg_create(const shoal_keypair *keys, const shoal_feed_state *state,
                                      double timestamp, const char *content, size_t content_len,
                                      const char *hmac_key, shoal_buf *out, shoal_msg_info *info,
                                      const char **reason);

/* ---- The store (SQLite, WAL) -------------------------------------------------------------------
 * Messages by author and sequence (with their ids), each feed's head, when each message came. An
 * append validates the message against its feed's head inside one transaction, so a crash at any
 * moment leaves every feed a valid prefix of itself. */
typedef struct shoal_feed_store shoal_feed_store;

/* Opens (creating) the store at `path`. SHOAL_E_STORE_IO when it is not a database we can use,
 * SHOAL_E_STORE_VERSION when a newer shoal wrote it. */
SHOAL_MUST_CHECK int shoal_feed_store_open(const char *path, shoal_feed_store **out);
void shoal_feed_store_close(shoal_feed_store *st);

/* Validates and appends messages (canonical texts), all in one transaction, in order; stops at
 * the first that does not follow its feed's head (or breaks a rule) and keeps those before it.
 * `checked` is NULL, or shoal_msg_precheck_batch's findings for these very texts (for a message
 * found ok, only the chain is checked). *appended says how many went in. Errors:
 * SHOAL_E_MSG_INVALID with *reason (the message at index *appended), SHOAL_E_STORE_IO,
 * SHOAL_E_NOMEM. A message already stored is an invalid one
 * ("Message previous must be the previous message ID" or a sequence that does not increase). */
SHOAL_MUST_CHECK int shoal_feed_store_append(shoal_feed_store *st, const char *const *texts,
                                             const size_t *lens, const shoal_msg_checked *checked,
                                             size_t n, const char *hmac_key, int64_t received_ms,
                                             size_t *appended, const char **reason);

/* Whether the appends that follow are on disk when they return (SQLite's synchronous = FULL:
 * the write-ahead log is synced at each commit, with every commit before it), or may be lost,
 * never half kept, if the machine stops in the next moments (NORMAL, the default: the log is
 * synced at checkpoints). For our own messages, which no peer holds yet. Call it outside an
 * append. SHOAL_E_STORE_IO when it cannot be set. */
SHOAL_MUST_CHECK int shoal_feed_store_set_durable(shoal_feed_store *st, bool durable);

/* The feed's latest message (state->known false for a feed we have nothing of). */
SHOAL_MUST_CHECK int shoal_feed_store_head(shoal_feed_store *st, const uint8_t author[32],
                                           shoal_feed_state *state);

/* Calls fn with each message of `author` from sequence `from` on (inclusive), in order, at most
 * `limit` (0: all), with its id and when it was received; fn returns false to stop. The text is
 * borrowed for the call. */
typedef bool shoal_feed_store_fn(const char *text, size_t len, int64_t sequence,
                                 const uint8_t id[32], int64_t received, void *ud);
SHOAL_MUST_CHECK int shoal_feed_store_history(shoal_feed_store *st, const uint8_t author[32],
                                              int64_t from, int64_t limit, shoal_feed_store_fn *fn,
                                              void *ud);

/* Calls fn with a feed and a sequence; it returns false to stop. */
typedef bool shoal_feed_store_head_fn(const uint8_t author[32], int64_t sequence, void *ud);
/* Every feed the store holds, with its head's sequence. */
SHOAL_MUST_CHECK int shoal_feed_store_feeds(shoal_feed_store *st, shoal_feed_store_head_fn *fn,
                                            void *ud);
/* An EBT peer's clock as its last session left it: how far it held each feed (-1: it does not
 * replicate that one with us). Nothing for a peer never met. */
SHOAL_MUST_CHECK int shoal_feed_store_clock(shoal_feed_store *st, const uint8_t peer[32],
                                            shoal_feed_store_head_fn *fn, void *ud);
/* Replaces the peer's clock with these n entries, in one transaction; the clocks of all but the
 * SHOAL_FEED_STORE_MAX_CLOCKS peers kept last are dropped (a peer met again is noted every feed,
 * as a stranger is). Call it outside an append. SHOAL_E_STORE_IO. */
#define SHOAL_FEED_STORE_MAX_CLOCKS 256
SHOAL_MUST_CHECK int shoal_feed_store_set_clock(shoal_feed_store *st, const uint8_t peer[32],
                                                const uint8_t (*feeds)[32], const int64_t *seqs,
                                                size_t n);

/* The id of the feed's message at `sequence`; SHOAL_E_STORE_MISSING when there is none. */
SHOAL_MUST_CHECK int shoal_feed_store_id_at(shoal_feed_store *st, const uint8_t author[32],
                                            int64_t sequence, uint8_t id[32]);

#endif

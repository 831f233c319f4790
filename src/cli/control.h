/* The daemon's control socket: `control.sock` in its home, a Unix stream socket only the user
 * can open (mode 0600). The protocol is JSON lines: each request is one object on a line,
 * {"cmd": NAME, ...}, and each gets one object on a line back, in order:
 * {"ok": true, ...} or {"ok": false, "error": "..."}.
 *
 *   {"cmd":"status"}  → "id" (our feed), "sequence" (our feed's head), "net" (our net: address,
 *                       or null), "addresses" (our multiserver addresses: net:, then one
 *                       rtc:HUB~shs:KEY per hub joined), "hubs": [{"address","state","failures"}],
 *                       "follows": [feed id, ...],
 *                       "peers": [{"id","state","transport","inbound","downloading",
 *                       "deadlineIn" (connecting: ms until the attempt counts as failed)}],
 *                       "feeds": [{"id","sequence","peerSequence"}]: every feed we hold or fetch,
 *                       how far we hold it, and how far a peer said it holds it (null: none said)
 *   {"cmd":"publish","content":{...}}   → "key", "sequence" (the message published)
 *   {"cmd":"follow","id":"@…","following":bool}
 *                     → "key", "sequence": publishes {"type":"contact","contact":ID,
 *                       "following":bool} (following: true when left out); the feed is asked of
 *                       every peer from now on (or, unfollowed, no longer)
 *   {"cmd":"feed","id":"@…","seq":N,"limit":N}   (id: ours when left out)
 *                     → "messages": [value, ...] (from sequence seq, default 1; at most limit,
 *                       default and cap 1000)
 *   {"cmd":"hubs.add","address":"https://…"}  → {} (the hub joins the table)
 *   {"cmd":"hubs.announce","address":"https://…"}
 *                     → "key", "sequence": publishes {"type":"rtc-hub","address":URL}, which
 *                       every daemon that replicates our feed joins; we join it too
 *   {"cmd":"hubs.rm","address":"https://…"}
 *                     → {}: left now, whoever named it, until it is named again (a new
 *                       message, hubs.add, or config.json at the next start); an error when
 *                       it is not held
 *   {"cmd":"hubs.block","address":"https://…"}
 *                     → {}: never joined again whoever names it (kept in blocked-hubs.json),
 *                       and left now if held
 *   status's "hubs" carry each hub's "source": "config", "command", or the feed that named it;
 *   "blocked" lists the blocked ones
 *   {"cmd":"connect","address":"net:HOST:PORT~shs:KEY"}
 *                     → {} once the peer has proved its key (it then replicates as any peer)
 *   {"cmd":"watch"}   → {}, then a line for every change of a hub or a peer, as it happens:
 *                       {"event":"peer","id","state","transport","inbound","forgotten"} or
 *                       {"event":"hub","address","state","failures","removed"}, until the
 *                       client hangs up (one that falls 1 MiB behind is dropped)
 */
#ifndef SHOAL_CLI_CONTROL_H
#define SHOAL_CLI_CONTROL_H

#include "shoal/config.h"
#include "shoal/node.h"

#include <jansson.h>

typedef struct shoal_control shoal_control;

/* A request whose answer comes later (connect: once the peer has proved its key). */
typedef struct shoal_control_call shoal_control_call;
/* Answers it: ok when `error` is NULL. The call is gone after this. */
void shoal_control_call_done(shoal_control_call *call, const char *error);

/* What the daemon does for "connect": dial host:port expecting `key`, then answer `call`. */
typedef void shoal_control_dial_fn(const char *host, uint16_t port, const uint8_t key[32],
                                   shoal_control_call *call, void *ud);

/* Listens on <home>/control.sock (a stale socket file is replaced). Everything is borrowed for
 * the control's life; `net_port` is the port net: listens on (0: none). */
SHOAL_MUST_CHECK int shoal_control_start(const char *home, shoal_node *node,
                                         shoal_feed_store *store, const shoal_keypair *keys,
                                         const shoal_config *cfg, uint16_t net_port,
                                         shoal_control_dial_fn *dial, void *dial_ud,
                                         shoal_control **out);
/* Closes the socket and every client, and removes the socket file. NULL is a no-op. */
void shoal_control_free(shoal_control *c);

/* Tells the watchers (see "watch") that a hub or a peer changed: one of the node's `changed`
 * events. NULL control: nothing. */
void shoal_control_changed(shoal_control *c, const shoal_conn_fx *event);
/* A hub an earlier run saved, which the node has restored: listed as "saved" until something
 * names it again; left at once if it was blocked since. */
void shoal_control_hold_saved(shoal_control *c, const shoal_hub_addr *addr);

/* Hubs travel in feeds: a message {"type":"rtc-hub","address":URL} names a hub. */
#define SHOAL_HUB_MESSAGE_TYPE "rtc-hub"
/* Whom we follow is in our feed, as in every SSB client: the last message
 * {"type":"contact","contact":ID,"following":bool} of ours about ID decides. */
#define SHOAL_CONTACT_MESSAGE_TYPE "contact"

/* Reads the feed's messages not read yet: each hub named joins the table (unless blocked), its
 * source recorded; in our own feed, each contact message follows or unfollows its feed (whose
 * hubs are then read too). Call it when messages of `feed` were stored. Returns how many
 * messages it read (those new since the last call, for the daemon's sync progress). */
int64_t shoal_control_scan(shoal_control *c, const uint8_t feed[32]);
/* A peer said how far it holds `feed` (see shoal_node_callbacks.head_known). */
void shoal_control_head_known(shoal_control *c, const uint8_t feed[32], int64_t head);
/* How many messages of `feed` we have yet to fetch, by what a peer said (-1: none said). */
int64_t shoal_control_left(shoal_control *c, const uint8_t feed[32]);

/* The status page's URL, which status tells ("page"). */
void shoal_control_set_page(shoal_control *c, const char *url);

/* What {"cmd":"status"} answers (a new reference), with the last 50 changes under "recent"
 * when asked (the status page shows them). */
json_t *shoal_control_status(shoal_control *c, bool recent);

/* The daemon's home: `given`, else $SHOAL_HOME, else ~/.shoal. Free with g_free. */
char *shoal_control_home(const char *given);

/* The socket's path for a home folder (the command line's side). Free with g_free. */
char *shoal_control_path(const char *home);

#endif

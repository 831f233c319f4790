/* shoal daemon: the running peer, `shoal run`.
 *
 * One SSB peer in a home folder: it uses ~/.ssb/secret when there is one (else `secret` in its
 * home, created), keeps its feeds in `feeds.db` and the state manager's hubs and peers in
 * `conn.db`, reads `config.json` (shoal/config.h), joins its hubs, meets peers over WebRTC and
 * net: (TCP), replicates the feeds it follows and its own, follows and joins hubs as the feeds
 * it holds say (shoal/discover.h), serves a status page on 127.0.0.1, and takes commands on
 * `control.sock` in its home. A network change or a wake-up from sleep tears every connection
 * down at once and dials again. SIGTERM or SIGINT stops it cleanly.
 *
 * The home is the user's alone (0700) and so is every file in it (0600), whoever made them: a
 * home or a file open to others is narrowed at the start, and the log says so.
 *
 * The control socket is a Unix stream socket only the user can open (mode 0600). The protocol
 * is JSON lines: each request is one object on a line, {"cmd": NAME, ...}, and each gets one
 * object on a line back, in order: {"ok": true, ...} or {"ok": false, "error": "..."}. A line
 * longer than 1 MiB gets {"ok":false,"error":"request too long"} once 1 MiB of it has come, and
 * the connection is closed without the rest being read.
 *
 *   {"cmd":"status"}  → "id" (our feed), "sequence" (our feed's head), "net" (our net: address,
 *                       or null), "addresses" (our multiserver addresses: net:, then one
 *                       rtc:HUB~shs:KEY per hub joined), "hubs": [{"address","state","failures"}],
 *                       "follows": [feed id, ...],
 *                       "peers": [{"id","state","transport","inbound","downloading",
 *                       "deadlineIn" (connecting: ms until the attempt counts as failed),
 *                       "restartIn" (connected, its ICE restarting after a network change: ms
 *                       until the restart counts as failed and the connection is closed),
 *                       "failures" (in a row), "backoffIn" (ms until it may be dialled again),
 *                       "lastError" (why the last attempt failed or connection broke), and for
 *                       a connected WebRTC peer "path": {"kind" ("host", "srflx" through a NAT,
 *                       "relay" through TURN), "local", "remote" (candidate types), "relay"
 *                       ("udp", "tcp", "tls" or null), "localAddress", "remoteAddress",
 *                       "rttMs", "bytesIn", "bytesOut"}}],
 *                       "connections": {"made" (handshakes completed over data channels),
 *                       "networkChanges" (network changes and wake-ups), "keptByRestart"
 *                       (connections an ICE restart kept through a network change)},
 *                       "replication": {"ebt", "legacy" (sessions replicated with EBT, and with
 *                       createHistoryStream), "notesSent", "notesReceived" (EBT notes, one per
 *                       feed named), "messagesSent" (over EBT)},
 *                       "feeds": [{"id","sequence","peerSequence"}]: every feed we hold or fetch,
 *                       how far we hold it, and how far a peer said it holds it (null: none said),
 *                       "limits": the resource manager's (config.json's "limits", sizes in
 *                       bytes, "silent" in ms), "queued": output held now for peers that have not
 *                       read it, in bytes, and "refused": what was refused or let go since the
 *                       start, by what: "handshakesFailed" (net: connections over before their
 *                       handshake was done), "acceptPaused" (times `handshakes` were under way and
 *                       accepting waited), "turnedAway" (peers turned away, every slot taken),
 *                       "negotiations" (offers dropped with `negotiations` under way),
 *                       "queued" and "queuedTotal" (connections let go: output past the limit),
 *                       "silent" (let go silent), "streams" (createHistoryStream past `streams`
 *                       or `streamsPerFeed`), "messages" (feed messages that did not follow),
 *                       "hubMessages" (hub messages refused; of those "forged": a signature or
 *                       seal that does not verify, "replayed": taken before or too old,
 *                       "unsealed": an unsigned announce or a signal not sealed to us),
 *                       "signalsDropped" (signals for no negotiation of ours), and
 *                       "signalsRefused" (offers, answers, candidates WebRTC could not take)
 *   {"cmd":"publish","content":{...}}   → "key", "sequence" (the message published, on disk
 *                       before the answer is written)
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
 *   status's "hubs" carry each hub's "source": "config", "command", or the feed that named it
 *   (our own, or one we follow: 3 hubs at most from each feed not ours, 32 from all feeds
 *   together; an unfollowed feed's are left); "blocked" lists the blocked ones
 *   {"cmd":"connect","address":"net:HOST:PORT~shs:KEY"}
 *                     → {} once the peer has proved its key (it then replicates as any peer)
 *   {"cmd":"watch"}   → {}, then a line for every change of a hub or a peer, as it happens:
 *                       {"event":"peer","id","state","transport","inbound","forgotten"} or
 *                       {"event":"hub","address","state","failures","removed"}, until the
 *                       client hangs up (one that falls 1 MiB behind is dropped)
 *
 * The status page serves GET / (an HTML page that draws the status every second) and
 * GET /status.json: what "status" answers, with the last 50 changes under "recent", and
 * GET /metrics: the figures in Prometheus' text format (shoal_refused_total{what=...}, by
 * status's "refused" keys; shoal_queued_bytes; shoal_peers{state=...}; ...); HEAD too.
 * Any other method gets 405 (its body never read, the connection closed), a Host other than
 * 127.0.0.1:PORT or localhost:PORT 421, a head past 8 KiB 431; no answer carries a CORS header,
 * and a connection is closed when its next request has not come whole within 5 s. */
#ifndef SHOAL_DAEMON_H
#define SHOAL_DAEMON_H

#include "shoal/core.h"

/* What shoal_daemon_run returns: the process's exit status. */
enum {
    SHOAL_DAEMON_STOPPED = 0, /* stopped by SIGTERM or SIGINT, cleanly */
    SHOAL_DAEMON_CONFIG = 2,  /* config.json cannot be read, or is not a configuration */
    SHOAL_DAEMON_FAILED = 3,  /* the home, the identity, a store, a socket failed */
};

/* The daemon's home: `given` (borrowed) when not NULL, else $SHOAL_HOME when set and not empty,
 * else ~/.shoal. Free the result with free(). */
char *shoal_daemon_home(const char *given);

/* The control socket's path in `home` (borrowed). Free the result with free(). */
char *shoal_daemon_socket_path(const char *home);

/* Runs the daemon in `home` (borrowed; created, mode 0700, when missing; narrowed to 0700 when
 * wider) on GLib's default main context until SIGTERM or SIGINT, and returns one of the
 * statuses above. It sets the process's umask to 077, so that every file it makes is 0600. It
 * prints
 * "shoal VERSION running as ID in HOME" on standard output once it takes commands, each reason
 * it cannot start on standard error ("shoal run: …"), and replication's progress on standard
 * error once a second while messages come (one line kept up to date on a terminal). The process
 * is its: it handles SIGTERM and SIGINT and uses GLib's default main context, so one process
 * runs one daemon at a time. */
int shoal_daemon_run(const char *home);

#endif

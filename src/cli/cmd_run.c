/* shoal run: the daemon's command line. The daemon itself is src/daemon (shoal/daemon.h). */
#include "cli.h"

#include "shoal/daemon.h"

#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: shoal run [--home DIR]\n"
    "\n"
    "Runs shoal's daemon: an SSB peer that joins the signal hubs of its configuration, meets\n"
    "peers over WebRTC and net: (TCP), replicates the feeds it follows and its own, and takes\n"
    "commands from `shoal status`, `shoal publish`, `shoal feed`, `shoal follow`, `shoal hubs`\n"
    "and the others (see shoal --help).\n"
    "\n"
    "Its home (--home, else $SHOAL_HOME, else ~/.shoal; created mode 0700) holds:\n"
    "  config.json    the configuration (optional; documented in include/shoal/config.h)\n"
    "  secret         the identity, unless ~/.ssb/secret exists (then that one is used)\n"
    "  feeds.db       the feed store (SQLite)\n"
    "  conn.db        the hubs and peers known, their failures and backoffs (SQLite)\n"
    "  control.sock   the command socket, while running\n"
    "Its status page (hubs, peers, feeds, recent changes; HTML and JSON) is on 127.0.0.1, port "
    "8009\n"
    "unless config.json says otherwise (statusPort); `shoal status` tells its address.\n"
    "\n"
    "A network change (an address or a route comes or goes) or a wake-up from sleep (logind,\n"
    "or the clocks drifting apart) tears every connection down at once and dials again.\n"
    "SIGTERM or SIGINT stops it cleanly (a signed leave at every hub, goodbyes to every peer).\n"
    "While replication stores messages, its progress goes to standard error once a second: a bar\n"
    "on a terminal (once the peers said how much there is), plain lines otherwise.\n"
    "exit status: 0 stopped, 2 usage or configuration error, 3 failure\n";

int shoal_cmd_run(int argc, char **argv)
{
    const char *given = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(help, stdout);
            return SHOAL_EXIT_OK;
        }
        if (strcmp(argv[i], "--home") == 0 && i + 1 < argc) {
            given = argv[++i];
        } else {
            fprintf(stderr, "shoal run: unexpected '%s' (see --help)\n", argv[i]);
            return SHOAL_EXIT_USAGE;
        }
    }
    char *home = shoal_daemon_home(given);
    int status = shoal_daemon_run(home); /* its statuses are the command line's */
    free(home);
    return status;
}

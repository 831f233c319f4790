/* shoal: the command line. */
#include "cli.h"

#include "shoal/core.h"
#include "shoal/node.h"

#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: shoal <command> [options] [args]\n"
    "\n"
    "commands:\n"
    "  addr ARG...    explain SSB ids, multiserver addresses and hub addresses (JSON lines)\n"
    "  sim [options]  simulate many peers' connection managers in virtual time (JSON summary)\n"
    "  hub [options]  run a signal hub (signalhub-compatible HTTP and Server-Sent Events)\n"
    "  demo           a hub and a few peers on 127.0.0.1 finding each other, told as it happens\n"
    "  rpc ADDR M ... dial an SSB peer over net:, call method M, print the answer (JSON lines)\n"
    "  run            the daemon: an SSB peer that meets peers at hubs and replicates\n"
    "  status         the running daemon's identity, hubs and peers\n"
    "  whoami         the running daemon's feed id\n"
    "  publish        publish a message on the daemon's feed\n"
    "  feed [FEED_ID] the messages the daemon holds of a feed (its own by default)\n"
    "  follow FEED_ID follow a feed (a contact message); unfollow FEED_ID stops\n"
    "  hubs ls|add|rm|announce|block   the daemon's hubs\n"
    "  peers          the daemon's peers; --follow tells every change as it happens\n"
    "  connect ADDR   have the daemon dial a peer's net: address\n"
    "\n"
    "options:\n"
    "  -h, --help     show this help (or a command's, after its name)\n"
    "  --version      show shoal's version\n"
    "\n"
    "environment:\n"
    "  SHOAL_LOG      log level on stderr: error, warn (default), info or debug\n";

int main(int argc, char **argv)
{
    const char *level = getenv("SHOAL_LOG");
    shoal_log_level parsed;
    if (level && *level) {
        if (shoal_log_level_parse(level, &parsed) == SHOAL_OK)
            shoal_log_set_level(parsed);
        else
            shoal_log(SHOAL_LOG_WARN, "cli", "SHOAL_LOG=%s is not a log level; using warn", level);
    }

    if (argc < 2) {
        fputs(usage, stderr);
        return SHOAL_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return SHOAL_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("shoal %s\nsignalling protocol %s (webrtc-swarm's messages, signed)\n",
               SHOAL_VERSION, SHOAL_NODE_APP);
        return SHOAL_EXIT_OK;
    }
    if (strcmp(cmd, "addr") == 0)
        return shoal_cmd_addr(argc - 1, argv + 1);
    if (strcmp(cmd, "sim") == 0)
        return shoal_cmd_sim(argc - 1, argv + 1);
    if (strcmp(cmd, "hub") == 0)
        return shoal_cmd_hub(argc - 1, argv + 1);
    if (strcmp(cmd, "demo") == 0)
        return shoal_cmd_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "rpc") == 0)
        return shoal_cmd_rpc(argc - 1, argv + 1);
    static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
    } daemon_cmds[] = {{"run", shoal_cmd_run},         {"status", shoal_cmd_status},
                       {"publish", shoal_cmd_publish}, {"feed", shoal_cmd_feed},
                       {"hubs", shoal_cmd_hubs},       {"peers", shoal_cmd_peers},
                       {"connect", shoal_cmd_connect}, {"follow", shoal_cmd_follow},
                       {"unfollow", shoal_cmd_follow}, {"whoami", shoal_cmd_whoami}};
    for (size_t i = 0; i < sizeof daemon_cmds / sizeof *daemon_cmds; i++)
        if (strcmp(cmd, daemon_cmds[i].name) == 0)
            return daemon_cmds[i].fn(argc - 1, argv + 1);

    shoal_log(SHOAL_LOG_ERROR, "cli", "unknown command '%s' (try shoal --help)", cmd);
    return SHOAL_EXIT_USAGE;
}

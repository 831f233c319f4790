/* The `shoal` command's subcommands. Each returns the process exit status. */
#ifndef SHOAL_CLI_H
#define SHOAL_CLI_H

#include <stdio.h>

/* Exit statuses shared by every subcommand. */
enum {
    SHOAL_EXIT_OK = 0,      /* done, and every input was valid (sim: no invariant violated) */
    SHOAL_EXIT_INVALID = 1, /* done, but some input was invalid (sim: an invariant was not) */
    SHOAL_EXIT_USAGE = 2,   /* the command line itself was wrong */
    SHOAL_EXIT_FAILURE = 3, /* something failed (out of memory, output error) */
};

int shoal_cmd_addr(int argc, char **argv);
int shoal_cmd_sim(int argc, char **argv);
int shoal_cmd_hub(int argc, char **argv);
int shoal_cmd_demo(int argc, char **argv);
int shoal_cmd_rpc(int argc, char **argv);
int shoal_cmd_run(int argc, char **argv);
int shoal_cmd_status(int argc, char **argv);
int shoal_cmd_whoami(int argc, char **argv);
int shoal_cmd_publish(int argc, char **argv);
int shoal_cmd_feed(int argc, char **argv);
int shoal_cmd_follow(int argc, char **argv); /* follow and unfollow */
int shoal_cmd_hubs(int argc, char **argv);
int shoal_cmd_peers(int argc, char **argv);
int shoal_cmd_connect(int argc, char **argv);

#endif

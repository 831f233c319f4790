/* `shoal sim`: runs the peer state manager (and with --negotiate the negotiation core) of many
 * peers over a simulated network in virtual time and prints a one-line JSON summary. */
#include "cli.h"

#include "shoal/sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: shoal sim [options]\n"
    "\n"
    "Runs N peers, each with shoal's real peer state manager, in virtual time over a simulated\n"
    "network of hubs, and prints a JSON summary: connected peers over time, dials, failures,\n"
    "cuts, time to first connection, and invariant violations (which must be 0). The same\n"
    "options give the same output, byte for byte.\n"
    "\n"
    "With --negotiate every dial also goes through shoal's real negotiation core, as in the\n"
    "node: offers, answers and candidates posted through the hubs, admission, glare, busy\n"
    "answers, deadlines, simulated WebRTC channels and handshakes. The summary then adds the\n"
    "cores' counters (signals dropped, offers turned away, busy answers, failed negotiations,\n"
    "connections, glare, offers over the cap, outbox overflows) and their invariants.\n"
    "\n"
    "  --peers N              peers (default 100)\n"
    "  --hubs H               hubs (default 3)\n"
    "  --duration D           virtual time: 90s, 30m, 24h, 7d (default 24h)\n"
    "  --seed S               seed of every random draw (default 1)\n"
    "  --fanout F             peers each announce reaches; 0 = all (default 4)\n"
    "  --announce-delay MS    largest relay delay of an announce (default 500)\n"
    "  --connect-failure P    chance a negotiation fails (default 0.1)\n"
    "  --download-chance P    chance a new connection brings a download (default 0.3)\n"
    "  --dead-hubs K          hubs that never accept a subscriber (default 0)\n"
    "  --flaky-hubs K         hubs that go down for 10 s-5 min about hourly (default 0)\n"
    "  --churn F              fraction of peers that leave and come back (default 0)\n"
    "  --resets R             network resets per peer per day (default 0)\n"
    "  --max-peers M          each peer's max_peers (default 4)\n"
    "  --backoff KIND         shoal, ssb-conn or libp2p (default shoal)\n"
    "  --backoff-base D       shoal's backoff after a first failure, at most (default 10s)\n"
    "  --backoff-cap D        shoal's longest backoff (default 10m)\n"
    "  --sample-every D       how often connections are counted (default 1h)\n"
    "  --negotiate            run the negotiation core too (a flag: it takes no value)\n"
    "\n"
    "exit status: 0 no invariant violated, 1 some violated, 2 usage error, 3 failure\n";

static bool parse_u32(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v > UINT32_MAX || s[0] == '-')
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return !errno && end != s && *end == '\0';
}

int shoal_cmd_sim(int argc, char **argv)
{
    shoal_sim_config cfg;
    shoal_sim_config_default(&cfg);
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            fputs(help, stdout);
            return SHOAL_EXIT_OK;
        }
        if (strcmp(opt, "--negotiate") == 0) {
            cfg.negotiate = true;
            continue;
        }
        const char *val = i + 1 < argc ? argv[++i] : NULL;
        if (!val) {
            fprintf(stderr, "shoal sim: %s needs a value (see --help)\n", opt);
            return SHOAL_EXIT_USAGE;
        }
        char *end;
        bool ok;
        if (strcmp(opt, "--peers") == 0)
            ok = parse_u32(val, &cfg.peers);
        else if (strcmp(opt, "--hubs") == 0)
            ok = parse_u32(val, &cfg.hubs);
        else if (strcmp(opt, "--duration") == 0)
            ok = shoal_parse_duration(val, &cfg.duration);
        else if (strcmp(opt, "--seed") == 0) {
            errno = 0;
            cfg.seed = strtoull(val, &end, 10);
            ok = !errno && end != val && *end == '\0' && val[0] != '-';
        } else if (strcmp(opt, "--fanout") == 0)
            ok = parse_u32(val, &cfg.fanout);
        else if (strcmp(opt, "--announce-delay") == 0)
            ok = shoal_parse_duration(val, &cfg.announce_delay);
        else if (strcmp(opt, "--connect-failure") == 0)
            ok = parse_double(val, &cfg.connect_failure);
        else if (strcmp(opt, "--download-chance") == 0)
            ok = parse_double(val, &cfg.download_chance);
        else if (strcmp(opt, "--dead-hubs") == 0)
            ok = parse_u32(val, &cfg.dead_hubs);
        else if (strcmp(opt, "--flaky-hubs") == 0)
            ok = parse_u32(val, &cfg.flaky_hubs);
        else if (strcmp(opt, "--churn") == 0)
            ok = parse_double(val, &cfg.churn);
        else if (strcmp(opt, "--resets") == 0)
            ok = parse_double(val, &cfg.resets_per_day);
        else if (strcmp(opt, "--max-peers") == 0)
            ok = parse_u32(val, &cfg.conn.max_peers);
        else if (strcmp(opt, "--backoff") == 0)
            ok = shoal_backoff_parse(val, &cfg.conn.backoff);
        else if (strcmp(opt, "--backoff-base") == 0)
            ok = shoal_parse_duration(val, &cfg.conn.backoff_base);
        else if (strcmp(opt, "--backoff-cap") == 0)
            ok = shoal_parse_duration(val, &cfg.conn.backoff_cap);
        else if (strcmp(opt, "--sample-every") == 0)
            ok = shoal_parse_duration(val, &cfg.sample_every);
        else {
            fprintf(stderr, "shoal sim: unknown option '%s'\n%s", opt, help);
            return SHOAL_EXIT_USAGE;
        }
        if (!ok) {
            fprintf(stderr, "shoal sim: %s needs a valid value, not '%s'\n", opt, val);
            return SHOAL_EXIT_USAGE;
        }
    }

    shoal_buf out = SHOAL_BUF_INIT;
    int rc = shoal_sim_run(&cfg, &out);
    if (rc == SHOAL_E_INVAL || rc == SHOAL_E_CONN_CONFIG) {
        fprintf(stderr, "shoal sim: these options do not make a world (see --help): %s\n",
                shoal_strerror(rc));
        shoal_buf_free(&out);
        return SHOAL_EXIT_USAGE;
    }
    if (rc != SHOAL_OK) {
        fprintf(stderr, "shoal sim: %s\n", shoal_strerror(rc));
        shoal_buf_free(&out);
        return SHOAL_EXIT_FAILURE;
    }
    bool clean = strstr(out.data, "\"invariant_violations\":{\"total\":0,") != NULL;
    bool written = fwrite(out.data, 1, out.len, stdout) == out.len && fflush(stdout) == 0;
    shoal_buf_free(&out);
    if (!written) {
        fprintf(stderr, "shoal sim: cannot write the output\n");
        return SHOAL_EXIT_FAILURE;
    }
    return clean ? SHOAL_EXIT_OK : SHOAL_EXIT_INVALID;
}

/* libFuzzer target for the daemon's configuration file: whatever the text, the reader answers
 * with a configuration the state manager accepts, with limits in range, or with SHOAL_E_CONFIG
 * and a message, and keeps nothing of a refused file. */
#include "shoal/config.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    shoal_config cfg;
    char why[128];
    memset(why, 'x', sizeof why);
    int rc = shoal_config_parse(&cfg, (const char *)data, size, why, sizeof why);
    if (rc == SHOAL_OK) {
        if (shoal_conn_config_check(&cfg.conn) != SHOAL_OK ||
            !shoal_config_limits_check(&cfg.limits) || cfg.nhubs > SHOAL_CONFIG_MAX_HUBS ||
            cfg.nfollows > SHOAL_CONFIG_MAX_FOLLOWS)
            abort();
    } else if (rc != SHOAL_E_CONFIG || !memchr(why, '\0', sizeof why) || cfg.follows || cfg.nhubs) {
        abort();
    }
    shoal_config_free(&cfg);
    return 0;
}

/* Leveled logging. The default sink writes one line per message to stderr. */
#include "shoal/core.h"

#include <stdio.h>
#include <strings.h>

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static void stderr_sink(shoal_log_level level, const char *module, const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "shoal %s %s: %s\n", level_names[level], module, msg);
}

static shoal_log_level threshold = SHOAL_LOG_WARN;
static shoal_log_fn *sink = stderr_sink;
static void *sink_ud;

void shoal_log_set_level(shoal_log_level level)
{
    threshold = level;
}

shoal_log_level shoal_log_get_level(void)
{
    return threshold;
}

int shoal_log_level_parse(const char *s, shoal_log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (shoal_log_level)i;
            return SHOAL_OK;
        }
    }
    return SHOAL_E_INVAL;
}

const char *shoal_log_level_name(shoal_log_level level)
{
    return (unsigned)level < sizeof level_names / sizeof level_names[0] ? level_names[level]
                                                                        : "unknown";
}

void shoal_log_set_sink(shoal_log_fn *fn, void *ud)
{
    sink = fn ? fn : stderr_sink;
    sink_ud = fn ? ud : NULL;
}

void shoal_log(shoal_log_level level, const char *module, const char *fmt, ...)
{
    if (level > threshold)
        return;
    /* Long messages are cut rather than allocated: logging must work when memory does not. */
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sink(level, module, msg, sink_ud);
}

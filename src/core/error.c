/* The error table: messages and names generated from SHOAL_ERRNO_MAP. */
#include "shoal/core.h"

#define MSG_ENTRY(name, msg) [SHOAL__ERR_INDEX_##name] = msg,
static const char *const messages[SHOAL__ERR_COUNT] = {[SHOAL__ERR_INDEX_NONE] = "ok",
                                                       SHOAL_ERRNO_MAP(MSG_ENTRY)};
#undef MSG_ENTRY

#define NAME_ENTRY(name, msg) [SHOAL__ERR_INDEX_##name] = #name,
static const char *const names[SHOAL__ERR_COUNT] = {[SHOAL__ERR_INDEX_NONE] = "OK",
                                                    SHOAL_ERRNO_MAP(NAME_ENTRY)};
#undef NAME_ENTRY

static const char *lookup(const char *const *table, int err, const char *unknown)
{
    if (err > 0 || err <= -(int)SHOAL__ERR_COUNT)
        return unknown;
    return table[-err];
}

const char *shoal_strerror(int err)
{
    return lookup(messages, err, "unknown error");
}

const char *shoal_errname(int err)
{
    return lookup(names, err, "UNKNOWN");
}

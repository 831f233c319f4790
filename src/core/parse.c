/* Small helpers the parsers share. */
#include "shoal/core.h"

#include <string.h>

int shoal_hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t shoal_gather(uint8_t *dst, size_t *have, size_t want, const uint8_t *src, size_t len)
{
    size_t n = want - *have < len ? want - *have : len;
    memcpy(dst + *have, src, n);
    *have += n;
    return n;
}

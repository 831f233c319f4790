/* Small helpers the parsers share. */
#include "shoal/core.h"

#include <stdlib.h>
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

bool shoal_parse_duration(const char *s, shoal_time *out)
{
    static const struct {
        const char *suffix;
        double ms;
    } units[] = {{"ms", 1}, {"", 1}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}, {"d", 86400e3}};
    /* digits with at most one decimal point: no sign, space, exponent, hex, "inf" or "nan" */
    size_t n = 0, dots = 0;
    for (; (s[n] >= '0' && s[n] <= '9') || s[n] == '.'; n++)
        dots += s[n] == '.';
    if (n == 0 || dots > 1 || s[0] == '.')
        return false;
    char *end;
    double v = strtod(s, &end);
    if (end != s + n)
        return false;
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (strcmp(end, units[i].suffix) == 0) {
            double ms = v * units[i].ms;
            if (!(ms >= 0 && ms <= 1e15))
                return false;
            *out = (shoal_time)ms;
            return true;
        }
    return false;
}

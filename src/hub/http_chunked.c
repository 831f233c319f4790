/* Chunked transfer coding (RFC 9112 7.1), decoded in place. Chunk extensions and trailers are
 * read and dropped. */
#include "shoal/hub.h"

#include <string.h>

enum {
    S_SIZE,        /* hex digits of a chunk size */
    S_EXT,         /* a chunk extension, up to the line's end */
    S_SIZE_LF,     /* the LF after a size line's CR */
    S_DATA,        /* chunk data */
    S_DATA_END,    /* the CRLF (or LF) after chunk data */
    S_DATA_LF,     /* the LF after it */
    S_TRAILER,     /* the start of a trailer line, or the final empty line */
    S_TRAILER_TXT, /* inside a trailer line */
    S_LAST_LF,     /* the LF after the final empty line's CR */
};

/* The end of a size line: a zero size starts the trailers. */
static void size_done(shoal_http_chunked *d)
{
    d->state = d->remaining ? S_DATA : S_TRAILER;
}

long shoal_http_unchunk(shoal_http_chunked *d, char *buf, size_t *len)
{
    size_t in = 0, out = 0, n = *len;
    while (in < n) {
        unsigned char c = (unsigned char)buf[in];
        switch (d->state) {
        case S_SIZE: {
            int v = shoal_hex_value(c);
            if (v >= 0) {
                if (d->digits == 15)
                    return SHOAL_E_HTTP_BAD_REQUEST;
                d->remaining = d->remaining * 16 + (uint64_t)v;
                d->digits++;
                in++;
                break;
            }
            if (d->digits == 0)
                return SHOAL_E_HTTP_BAD_REQUEST;
            if (c == ';' || c == ' ' || c == '\t')
                d->state = S_EXT;
            else if (c == '\r')
                d->state = S_SIZE_LF;
            else if (c == '\n')
                size_done(d);
            else
                return SHOAL_E_HTTP_BAD_REQUEST;
            in++;
            break;
        }
        case S_EXT:
            if (c == '\n')
                size_done(d);
            else if (c == '\r')
                d->state = S_SIZE_LF;
            in++;
            break;
        case S_SIZE_LF:
            if (c != '\n')
                return SHOAL_E_HTTP_BAD_REQUEST;
            size_done(d);
            in++;
            break;
        case S_DATA: {
            size_t take = n - in;
            if (take > d->remaining)
                take = (size_t)d->remaining;
            memmove(buf + out, buf + in, take);
            out += take;
            in += take;
            d->remaining -= take;
            if (d->remaining == 0)
                d->state = S_DATA_END;
            break;
        }
        case S_DATA_END:
            if (c == '\r') {
                d->state = S_DATA_LF;
            } else if (c == '\n') {
                d->state = S_SIZE;
                d->digits = 0;
            } else {
                return SHOAL_E_HTTP_BAD_REQUEST;
            }
            in++;
            break;
        case S_DATA_LF:
            if (c != '\n')
                return SHOAL_E_HTTP_BAD_REQUEST;
            d->state = S_SIZE;
            d->digits = 0;
            in++;
            break;
        case S_TRAILER:
            in++;
            if (c == '\n') {
                *len = out;
                return (long)(n - in);
            }
            d->state = c == '\r' ? S_LAST_LF : S_TRAILER_TXT;
            break;
        case S_TRAILER_TXT:
            if (c == '\n')
                d->state = S_TRAILER;
            in++;
            break;
        case S_LAST_LF:
            if (c != '\n') {
                /* A CR inside a trailer line: read on to its end. */
                d->state = S_TRAILER_TXT;
                break;
            }
            in++;
            *len = out;
            return (long)(n - in);
        }
    }
    *len = out;
    return SHOAL_E_AGAIN;
}

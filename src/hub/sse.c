/* Server-Sent Events: the encoder the hub writes with, and the parser its client reads with
 * (the WHATWG HTML "event stream" interpretation). */
#include "shoal/hub.h"

#include <string.h>

void shoal_sse_encode(const char *data, size_t len, shoal_buf *out)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && data[i] != '\r' && data[i] != '\n')
            continue;
        shoal_buf_append(out, "data: ", 6);
        shoal_buf_append(out, data + start, i - start);
        shoal_buf_append_char(out, '\n');
        if (i + 1 < len && data[i] == '\r' && data[i + 1] == '\n')
            i++;
        start = i + 1;
    }
    shoal_buf_append_char(out, '\n');
}

struct shoal_sse_parser {
    shoal_sse_callbacks cb;
    size_t max;
    shoal_buf line; /* the line being read */
    shoal_buf data; /* the event's data so far */
    shoal_buf type; /* the event's type */
    bool have_data; /* a data field was seen (an empty one counts) */
    bool after_cr;  /* the last byte was CR: an LF now ends nothing more */
    bool started;   /* past a leading BOM (or sure there is none) */
    unsigned bom;   /* bytes of a BOM matched so far */
    int status;
};

int shoal_sse_parser_new(shoal_sse_parser **out, const shoal_sse_callbacks *cb, size_t max_event)
{
    shoal_sse_parser *p = shoal_calloc(1, sizeof *p);
    if (!p)
        return SHOAL_E_NOMEM;
    p->cb = *cb;
    p->max = max_event;
    *out = p;
    return SHOAL_OK;
}

void shoal_sse_parser_free(shoal_sse_parser *p)
{
    if (!p)
        return;
    shoal_buf_free(&p->line);
    shoal_buf_free(&p->data);
    shoal_buf_free(&p->type);
    shoal_free(p);
}

static void dispatch(shoal_sse_parser *p)
{
    if (p->have_data && p->cb.event)
        p->cb.event(p->data.data ? p->data.data : "", p->data.len,
                    p->type.len ? p->type.data : "message", p->cb.ud);
    shoal_buf_reset(&p->data);
    shoal_buf_reset(&p->type);
    p->have_data = false;
}

static int field(shoal_sse_parser *p, const char *line, size_t n)
{
    if (n == 0) {
        dispatch(p);
        return SHOAL_OK;
    }
    if (line[0] == ':') {
        if (p->cb.comment)
            p->cb.comment(line + 1, n - 1, p->cb.ud);
        return SHOAL_OK;
    }
    const char *colon = memchr(line, ':', n);
    size_t name_len = colon ? (size_t)(colon - line) : n;
    const char *value = colon ? colon + 1 : line + n;
    size_t value_len = colon ? n - name_len - 1 : 0;
    if (value_len > 0 && value[0] == ' ') {
        value++;
        value_len--;
    }
    if (name_len == 4 && memcmp(line, "data", 4) == 0) {
        if (p->have_data)
            shoal_buf_append_char(&p->data, '\n');
        shoal_buf_append(&p->data, value, value_len);
        p->have_data = true;
        if (p->data.len > p->max)
            return SHOAL_E_SSE_TOO_LARGE;
    } else if (name_len == 5 && memcmp(line, "event", 5) == 0) {
        shoal_buf_reset(&p->type);
        shoal_buf_append(&p->type, value, value_len);
    }
    /* id and retry change nothing for a hub client; other fields are ignored. */
    return shoal_buf_status(&p->data) != SHOAL_OK || shoal_buf_status(&p->type) != SHOAL_OK
               ? SHOAL_E_NOMEM
               : SHOAL_OK;
}

int shoal_sse_feed(shoal_sse_parser *p, const char *buf, size_t len)
{
    if (p->status != SHOAL_OK)
        return p->status;
    size_t i = 0;
    static const char bom[] = "\xef\xbb\xbf";
    while (!p->started && i < len) {
        if (buf[i] == bom[p->bom]) {
            i++;
            p->started = ++p->bom == 3;
            continue;
        }
        /* Not a BOM after all: what matched of it is the start of the first line. */
        shoal_buf_append(&p->line, bom, p->bom);
        p->started = true;
    }
    while (i < len && p->status == SHOAL_OK) {
        const char *nl = NULL;
        for (size_t k = i; k < len; k++)
            if (buf[k] == '\n' || buf[k] == '\r') {
                nl = buf + k;
                break;
            }
        if (!nl) {
            shoal_buf_append(&p->line, buf + i, len - i);
            if (p->line.len > p->max)
                p->status = SHOAL_E_SSE_TOO_LARGE;
            else if (shoal_buf_status(&p->line) != SHOAL_OK)
                p->status = SHOAL_E_NOMEM;
            p->after_cr = false;
            break;
        }
        size_t stop = (size_t)(nl - buf);
        if (*nl == '\n' && p->after_cr && stop == i && p->line.len == 0) {
            /* The LF of a CRLF whose CR ended the line already. */
            p->after_cr = false;
            i++;
            continue;
        }
        const char *line = buf + i;
        size_t n = stop - i;
        if (p->line.len > 0) {
            shoal_buf_append(&p->line, line, n);
            if (p->line.len > p->max) {
                p->status = SHOAL_E_SSE_TOO_LARGE;
                break;
            }
            line = p->line.data;
            n = p->line.len;
        }
        p->status = shoal_buf_status(&p->line) != SHOAL_OK ? SHOAL_E_NOMEM : field(p, line, n);
        shoal_buf_reset(&p->line);
        p->after_cr = *nl == '\r';
        i = stop + 1;
    }
    return p->status;
}

/* Growable byte buffer with a sticky failure, so formatters check once at the end. */
#include "shoal/core.h"

#include <stdio.h>
#include <string.h>

/* Makes room for `extra` more bytes plus a NUL; false (and sticky-failed) when it cannot. */
static bool reserve(shoal_buf *b, size_t extra)
{
    if (b->status != SHOAL_OK)
        return false;
    if (extra >= SIZE_MAX - b->len) {
        b->status = SHOAL_E_NOMEM;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = shoal_realloc(b->data, cap);
    if (!p) {
        b->status = SHOAL_E_NOMEM;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void shoal_buf_append(shoal_buf *b, const void *data, size_t len)
{
    if (len == 0 || !reserve(b, len))
        return;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void shoal_buf_append_str(shoal_buf *b, const char *s)
{
    shoal_buf_append(b, s, strlen(s));
}

void shoal_buf_append_char(shoal_buf *b, char c)
{
    shoal_buf_append(b, &c, 1);
}

void shoal_buf_appendf(shoal_buf *b, const char *fmt, ...)
{
    if (b->status != SHOAL_OK)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->status = SHOAL_E_INVAL;
        return;
    }
    if (n == 0 || !reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

int shoal_buf_status(const shoal_buf *b)
{
    return b->status;
}

void shoal_buf_reset(shoal_buf *b)
{
    b->len = 0;
    b->status = SHOAL_OK;
    if (b->data)
        b->data[0] = '\0';
}

void shoal_buf_free(shoal_buf *b)
{
    shoal_free(b->data);
    *b = (shoal_buf)SHOAL_BUF_INIT;
}

void *shoal_buf_extend(shoal_buf *b, size_t len)
{
    if (!reserve(b, len))
        return NULL;
    void *at = b->data + b->len;
    b->len += len;
    b->data[b->len] = '\0';
    return at;
}

const uint8_t *shoal_outq_peek(const shoal_outq *q, size_t *len)
{
    *len = q->buf.len - q->head;
    return *len ? (const uint8_t *)q->buf.data + q->head : NULL;
}

void shoal_outq_drain(shoal_outq *q, size_t n)
{
    size_t waiting = q->buf.len - q->head;
    q->head += n < waiting ? n : waiting;
    if (q->head == q->buf.len) {
        q->buf.len = 0;
        q->head = 0;
    } else if (q->head > q->buf.cap / 2) {
        /* most of the memory is spent bytes: move the rest to the front */
        memmove(q->buf.data, q->buf.data + q->head, q->buf.len - q->head);
        q->buf.len -= q->head;
        q->head = 0;
    }
}

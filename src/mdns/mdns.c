/* Multicast DNS messages and mDNS candidate lines (RFC 6762, RFC 1035 4.1). */
#include "shoal/mdns.h"

#include <stdio.h>
#include <string.h>

#define CLASS_IN     1
#define CACHE_FLUSH  0x8000 /* in a record's class: this set replaces what caches hold */
#define FLAGS_ANSWER 0x8400 /* QR and AA */
/* Pointers followed in one name: a name of ours needs one; a chain of thousands, which a 9 KB
 * datagram can hold, would cost the main loop for nothing */
#define MAX_JUMPS 16

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool label_char(char c)
{
    c = lower(c);
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool shoal_mdns_name_valid(const char *name, size_t len)
{
    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len < 7 || len - 6 > 63)
        return false;
    size_t label = len - 6;
    static const char suffix[] = ".local";
    for (size_t i = 0; i < 6; i++)
        if (lower(name[label + i]) != suffix[i])
            return false;
    for (size_t i = 0; i < label; i++)
        if (!label_char(name[i]))
            return false;
    return true;
}

/* ---- Reading ------------------------------------------------------------------------------- */

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* The name at *pos, its labels joined by dots in lowercase into out (NUL ended; "" for the root),
 * each byte that is not a letter, digit, '-' or '_' written as \1,
 * *pos moved past it. Pointers must go strictly backwards of every place read before in this
 * name, so each jump lands earlier than the last and the walk ends. */
static int read_name(const uint8_t *msg, size_t len, size_t *pos, char out[256])
{
    size_t at = *pos, floor = *pos, n = 0, jumps = 0;
    bool jumped = false;
    for (;;) {
        if (at >= len)
            return SHOAL_E_MDNS;
        uint8_t b = msg[at];
        if ((b & 0xC0) == 0xC0) {
            if (at + 1 >= len)
                return SHOAL_E_MDNS;
            size_t target = (size_t)(b & 0x3F) << 8 | msg[at + 1];
            if (target >= floor || ++jumps > MAX_JUMPS)
                return SHOAL_E_MDNS;
            if (!jumped)
                *pos = at + 2;
            jumped = true;
            at = floor = target;
            continue;
        }
        if (b & 0xC0) /* 0x40 and 0x80: extended label types, never used */
            return SHOAL_E_MDNS;
        at++;
        if (b == 0)
            break;
        if (at + b > len || n + (n > 0) + b > 255)
            return SHOAL_E_MDNS;
        if (n > 0)
            out[n++] = '.';
        /* a byte no name of ours holds (a dot or a NUL inside a label, say) becomes one that
         * fails shoal_mdns_name_valid, so no label passes for two, nor a name for a shorter one */
        for (size_t i = 0; i < b; i++)
            out[n++] = label_char((char)msg[at + i]) ? lower((char)msg[at + i]) : '\1';
        at += b;
    }
    out[n] = '\0';
    if (!jumped)
        *pos = at;
    return SHOAL_OK;
}

static bool keep_name(const char *name, char out[SHOAL_MDNS_NAME_SIZE])
{
    size_t len = strlen(name);
    if (!shoal_mdns_name_valid(name, len))
        return false;
    memcpy(out, name, len + 1);
    return true;
}

int shoal_mdns_parse(const uint8_t *msg, size_t len, shoal_mdns_message *out)
{
    memset(out, 0, sizeof *out);
    if (len < 12 || len > SHOAL_MDNS_MAX_MESSAGE)
        return SHOAL_E_MDNS;
    out->id = get16(msg);
    out->response = (msg[2] & 0x80) != 0;
    if ((msg[2] & 0x78) != 0 || (msg[3] & 0x0F) != 0)
        return SHOAL_E_MDNS; /* an opcode or a response code not 0: ignored (RFC 6762 18.3) */
    size_t nq = get16(msg + 4), nr = (size_t)get16(msg + 6) + get16(msg + 8) + get16(msg + 10);
    if (nq + nr > SHOAL_MDNS_MAX_ENTRIES)
        return SHOAL_E_MDNS;
    size_t pos = 12;
    char name[256];
    for (size_t i = 0; i < nq; i++) {
        if (read_name(msg, len, &pos, name) != SHOAL_OK || len - pos < 4)
            return SHOAL_E_MDNS;
        unsigned type = get16(msg + pos), class = get16(msg + pos + 2) & ~CACHE_FLUSH;
        pos += 4;
        shoal_mdns_question *q = &out->questions[out->nquestions];
        if (out->nquestions < SHOAL_MDNS_MAX_QUESTIONS && class == CLASS_IN &&
            (type == SHOAL_MDNS_A || type == SHOAL_MDNS_AAAA || type == SHOAL_MDNS_ANY) &&
            keep_name(name, q->name)) {
            q->type = (shoal_mdns_type)type;
            out->nquestions++;
        }
    }
    /* answers, authority (a probe's proposed records) and additional records alike */
    for (size_t i = 0; i < nr; i++) {
        if (read_name(msg, len, &pos, name) != SHOAL_OK || len - pos < 10)
            return SHOAL_E_MDNS;
        unsigned type = get16(msg + pos), class = get16(msg + pos + 2) & ~CACHE_FLUSH;
        uint32_t ttl = (uint32_t)msg[pos + 4] << 24 | (uint32_t)msg[pos + 5] << 16 |
                       (uint32_t)msg[pos + 6] << 8 | msg[pos + 7];
        size_t rdlen = get16(msg + pos + 8);
        pos += 10;
        if (len - pos < rdlen)
            return SHOAL_E_MDNS;
        bool authority = i >= get16(msg + 6) && i < (size_t)get16(msg + 6) + get16(msg + 8);
        size_t want = type == SHOAL_MDNS_A ? 4 : type == SHOAL_MDNS_AAAA ? 16 : 0;
        shoal_mdns_record *r = &out->records[out->nrecords];
        if (!authority && want && rdlen == want && class == CLASS_IN &&
            out->nrecords < SHOAL_MDNS_MAX_RECORDS && keep_name(name, r->name)) {
            r->v6 = want == 16;
            memcpy(r->addr, msg + pos, want);
            r->ttl = ttl;
            out->nrecords++;
        }
        pos += rdlen;
    }
    return SHOAL_OK;
}

/* ---- Writing ------------------------------------------------------------------------------- */

typedef struct writer {
    uint8_t *p;
    size_t cap, len;
    bool full;
} writer;

static void put(writer *w, const void *data, size_t n)
{
    if (w->full || w->cap - w->len < n) {
        w->full = true;
        return;
    }
    memcpy(w->p + w->len, data, n);
    w->len += n;
}

static void put16(writer *w, unsigned v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put(w, b, 2);
}

static void put32(writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(w, b, 4);
}

/* A valid name as two labels; a later copy of it points back to the first (RFC 1035 4.1.4). */
static void put_name(writer *w, const char *name, size_t *first)
{
    if (*first != 0) {
        put16(w, 0xC000 | (unsigned)*first);
        return;
    }
    if (w->len < 0x3FFF)
        *first = w->len;
    size_t label = strlen(name);
    if (name[label - 1] == '.')
        label--;
    label -= 6;
    uint8_t n = (uint8_t)label;
    put(w, &n, 1);
    for (size_t i = 0; i < label; i++) {
        char c = lower(name[i]);
        put(w, &c, 1);
    }
    put(w, "\5local\0", 7);
}

static void put_header(writer *w, uint16_t id, unsigned flags, size_t nq, size_t na)
{
    put16(w, id);
    put16(w, flags);
    put16(w, (unsigned)nq);
    put16(w, (unsigned)na);
    put16(w, 0);
    put16(w, 0);
}

size_t shoal_mdns_query_write(const char *name, shoal_mdns_type type, uint8_t *out, size_t cap)
{
    if (!shoal_mdns_name_valid(name, strlen(name)))
        return 0;
    writer w = {out, cap, 0, false};
    size_t first = 0;
    put_header(&w, 0, 0, 1, 0);
    put_name(&w, name, &first);
    put16(&w, type);
    put16(&w, CLASS_IN);
    return w.full ? 0 : w.len;
}

size_t shoal_mdns_answer_write(const shoal_mdns_record *records, size_t n,
                               const shoal_mdns_question *question, uint16_t id, uint8_t *out,
                               size_t cap)
{
    if (n > SHOAL_MDNS_MAX_RECORDS ||
        (question && !shoal_mdns_name_valid(question->name, strlen(question->name))))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!shoal_mdns_name_valid(records[i].name, strlen(records[i].name)))
            return 0;
    writer w = {out, cap, 0, false};
    put_header(&w, question ? id : 0, FLAGS_ANSWER, question != NULL, n);
    size_t qfirst = 0;
    if (question) {
        put_name(&w, question->name, &qfirst);
        put16(&w, question->type);
        put16(&w, CLASS_IN);
    }
    size_t at[SHOAL_MDNS_MAX_RECORDS] = {0}; /* where each record's name was first written */
    for (size_t i = 0; i < n; i++) {
        const shoal_mdns_record *r = &records[i];
        size_t first = question && strcmp(question->name, r->name) == 0 ? qfirst : 0;
        for (size_t j = 0; j < i && !first; j++)
            if (strcmp(records[j].name, r->name) == 0)
                first = at[j];
        put_name(&w, r->name, &first);
        at[i] = first;
        put16(&w, r->v6 ? SHOAL_MDNS_AAAA : SHOAL_MDNS_A);
        put16(&w, question ? CLASS_IN : CLASS_IN | CACHE_FLUSH);
        put32(&w, question && r->ttl > 10 ? 10 : r->ttl);
        put16(&w, r->v6 ? 16 : 4);
        put(&w, r->addr, r->v6 ? 16 : 4);
    }
    return w.full ? 0 : w.len;
}

/* ---- Candidate lines ----------------------------------------------------------------------- */

/* The candidate's fields, split at spaces: at most 32 of them. */
typedef struct fields {
    size_t n;
    const char *at[32];
    size_t len[32];
} fields;

static bool split(const char *candidate, fields *f)
{
    if (strncmp(candidate, "a=", 2) == 0)
        candidate += 2;
    if (strncmp(candidate, "candidate:", 10) != 0)
        return false;
    f->n = 0;
    const char *p = candidate;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        if (f->n == 32)
            return false;
        const char *start = p;
        while (*p && *p != ' ')
            p++;
        f->at[f->n] = start;
        f->len[f->n++] = (size_t)(p - start);
    }
    /* foundation component transport priority address port "typ" type */
    return f->n >= 8 && f->len[6] == 3 && memcmp(f->at[6], "typ", 3) == 0;
}

bool shoal_mdns_candidate_name(const char *candidate, char name[SHOAL_MDNS_NAME_SIZE])
{
    fields f;
    if (!split(candidate, &f) || !shoal_mdns_name_valid(f.at[4], f.len[4]))
        return false;
    size_t len = f.len[4] - (f.at[4][f.len[4] - 1] == '.');
    for (size_t i = 0; i < len; i++)
        name[i] = lower(f.at[4][i]);
    name[len] = '\0';
    return true;
}

int shoal_mdns_candidate_rewrite(const char *candidate, const char *address, bool hide_related,
                                 char *out, size_t cap)
{
    fields f;
    if (!split(candidate, &f) || cap == 0)
        return SHOAL_E_RTC_CANDIDATE;
    size_t n = 0;
    for (size_t i = 0; i < f.n; i++) {
        const char *text = f.at[i];
        size_t len = f.len[i];
        if (i == 4 && address) {
            text = address;
            len = strlen(address);
        } else if (hide_related && i > 8 && f.len[i - 1] == 5 &&
                   memcmp(f.at[i - 1], "raddr", 5) == 0) {
            text = "0.0.0.0";
            len = 7;
        } else if (hide_related && i > 8 && f.len[i - 1] == 5 &&
                   memcmp(f.at[i - 1], "rport", 5) == 0) {
            text = "0";
            len = 1;
        }
        if (cap - n < len + 2)
            return SHOAL_E_RTC_CANDIDATE;
        if (i > 0)
            out[n++] = ' ';
        memcpy(out + n, text, len);
        n += len;
    }
    out[n] = '\0';
    return SHOAL_OK;
}

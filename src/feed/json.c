/* JSON as JavaScript sees it: a strict parser into UTF-16 strings and doubles, and V8's
 * JSON.stringify(value, null, 2). See shoal/feed.h. */
#include "feed_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 512

void shoal_json_free(shoal_json *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        shoal_json_free(v->items[i]);
        if (v->keys)
            shoal_free(v->keys[i]);
    }
    shoal_free(v->items);
    shoal_free(v->keys);
    shoal_free(v->klens);
    shoal_free(v->str);
    shoal_free(v);
}

/* ---- UTF-16 buffers ---------------------------------------------------------------------------
 */

void shoal_u16buf_free(shoal_u16buf *b)
{
    shoal_free(b->data);
    *b = (shoal_u16buf){0};
}

static void put(shoal_u16buf *b, const uint16_t *s, size_t n)
{
    if (b->status != SHOAL_OK || n == 0)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n)
            cap *= 2;
        uint16_t *grown = shoal_realloc(b->data, cap * sizeof *grown);
        if (!grown) {
            b->status = SHOAL_E_NOMEM;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n * sizeof *s);
    b->len += n;
}

static void put_ascii(shoal_u16buf *b, const char *s)
{
    uint16_t tmp[64];
    for (size_t n; (n = strlen(s)) > 0; s += n < 64 ? n : 64) {
        n = n < 64 ? n : 64;
        for (size_t i = 0; i < n; i++)
            tmp[i] = (uint8_t)s[i];
        put(b, tmp, n);
    }
}

void shoal_u16_to_utf8(const uint16_t *s, size_t n, shoal_buf *out)
{
    if (n > (SIZE_MAX - 1) / 3) {
        out->status = SHOAL_E_NOMEM;
        return;
    }
    size_t start = out->len;
    unsigned char *u = shoal_buf_extend(out, 3 * n); /* each unit makes 3 bytes at most */
    if (!u)
        return;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = s[i];
        if (c < 0x80) {
            u[k++] = (unsigned char)c;
            continue;
        }
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && s[i + 1] >= 0xdc00 && s[i + 1] <= 0xdfff)
            c = 0x10000 + ((c - 0xd800) << 10) + (s[++i] - 0xdc00); /* 4 bytes from 2 units */
        else if (c >= 0xd800 && c <= 0xdfff)
            c = 0xfffd; /* a lone surrogate */
        if (c < 0x800) {
            u[k++] = (unsigned char)(0xc0 | c >> 6);
        } else if (c < 0x10000) {
            u[k++] = (unsigned char)(0xe0 | c >> 12);
            u[k++] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
        } else {
            u[k++] = (unsigned char)(0xf0 | c >> 18);
            u[k++] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
            u[k++] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
        }
        u[k++] = (unsigned char)(0x80 | (c & 0x3f));
    }
    out->len = start + k;
    out->data[out->len] = '\0';
}

/* ---- parsing ------------------------------------------------------------------------------------
 */

typedef struct parser {
    const char *s;
    size_t len, at;
    int depth;
    int error;
} parser;

static void skip_ws(parser *p)
{
    while (p->at < p->len && (p->s[p->at] == ' ' || p->s[p->at] == '\t' || p->s[p->at] == '\n' ||
                              p->s[p->at] == '\r'))
        p->at++;
}

static shoal_json *node(parser *p, shoal_json_kind kind)
{
    shoal_json *v = shoal_calloc(1, sizeof *v);
    if (!v)
        p->error = SHOAL_E_NOMEM;
    else
        v->kind = kind;
    return v;
}

static int hex4(const char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int d = shoal_hex_value((unsigned char)s[i]);
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* One UTF-8 character at s[0..left) (strictly: no overlongs, no surrogates); its length, or 0. */
static size_t utf8_char(const unsigned char *s, size_t left, uint32_t *out)
{
    if (s[0] < 0x80) {
        *out = s[0];
        return 1;
    }
    size_t n = s[0] >= 0xf0 && s[0] <= 0xf4  ? 4
               : s[0] >= 0xe0                ? 3
               : s[0] >= 0xc2 && s[0] < 0xe0 ? 2
                                             : 0;
    if (n == 0 || n > left)
        return 0;
    uint32_t c = s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < least[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *out = c;
    return n;
}

/* A string at p->at (its opening quote), into UTF-16. */
static bool string(parser *p, uint16_t **out, size_t *out_len)
{
    shoal_u16buf b = {0};
    p->at++;
    while (p->at < p->len && p->s[p->at] != '"') {
        unsigned char c = (unsigned char)p->s[p->at];
        uint16_t u[2];
        size_t n = 1;
        size_t run = 0; /* plain ASCII, copied a run at a time */
        while (p->at + run < p->len) {
            unsigned char a = (unsigned char)p->s[p->at + run];
            if (a < 0x20 || a >= 0x80 || a == '"' || a == '\\')
                break;
            run++;
        }
        if (run > 0) {
            uint16_t wide[64];
            for (size_t done = 0; done < run;) {
                size_t k = run - done < 64 ? run - done : 64;
                for (size_t i = 0; i < k; i++)
                    wide[i] = (unsigned char)p->s[p->at + done + i];
                put(&b, wide, k);
                done += k;
            }
            p->at += run;
            continue;
        }
        if (c < 0x20) {
            break;
        } else if (c == '\\') {
            if (p->at + 1 >= p->len)
                break;
            char e = p->s[p->at + 1];
            int simple = e == '"' || e == '\\' || e == '/' ? e
                         : e == 'b'                        ? '\b'
                         : e == 'f'                        ? '\f'
                         : e == 'n'                        ? '\n'
                         : e == 'r'                        ? '\r'
                         : e == 't'                        ? '\t'
                                                           : -1;
            if (e == 'u') {
                int h = p->at + 6 <= p->len ? hex4(p->s + p->at + 2) : -1;
                if (h < 0)
                    break;
                u[0] = (uint16_t)h;
                p->at += 6;
            } else if (simple >= 0) {
                u[0] = (uint16_t)simple;
                p->at += 2;
            } else {
                break;
            }
        } else {
            uint32_t cp;
            size_t k = utf8_char((const unsigned char *)p->s + p->at, p->len - p->at, &cp);
            if (k == 0)
                break;
            p->at += k;
            if (cp >= 0x10000) {
                u[0] = (uint16_t)(0xd800 + ((cp - 0x10000) >> 10));
                u[1] = (uint16_t)(0xdc00 + ((cp - 0x10000) & 0x3ff));
                n = 2;
            } else {
                u[0] = (uint16_t)cp;
            }
        }
        put(&b, u, n);
    }
    if (p->at >= p->len || p->s[p->at] != '"' || b.status != SHOAL_OK) {
        p->error = b.status != SHOAL_OK ? b.status : SHOAL_E_JSON;
        shoal_u16buf_free(&b);
        return false;
    }
    p->at++;
    *out = b.data;
    *out_len = b.len;
    return true;
}

static bool number(parser *p, double *out)
{
    size_t start = p->at;
    const char *s = p->s;
    if (p->at < p->len && s[p->at] == '-')
        p->at++;
    if (p->at < p->len && s[p->at] == '0') {
        p->at++;
    } else if (p->at < p->len && s[p->at] >= '1' && s[p->at] <= '9') {
        while (p->at < p->len && s[p->at] >= '0' && s[p->at] <= '9')
            p->at++;
    } else {
        return false;
    }
    if (p->at < p->len && s[p->at] == '.') {
        size_t digits = ++p->at;
        while (p->at < p->len && s[p->at] >= '0' && s[p->at] <= '9')
            p->at++;
        if (p->at == digits)
            return false;
    }
    if (p->at < p->len && (s[p->at] == 'e' || s[p->at] == 'E')) {
        p->at++;
        if (p->at < p->len && (s[p->at] == '+' || s[p->at] == '-'))
            p->at++;
        size_t digits = p->at;
        while (p->at < p->len && s[p->at] >= '0' && s[p->at] <= '9')
            p->at++;
        if (p->at == digits)
            return false;
    }
    char buf[512];
    size_t n = p->at - start;
    if (n >= sizeof buf) /* a number this long is someone's joke: refuse it */
        return false;
    memcpy(buf, s + start, n);
    buf[n] = '\0';
    *out = strtod(buf, NULL);
    return true;
}

static bool same_key(const uint16_t *a, size_t an, const uint16_t *b, size_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an * sizeof *a) == 0); /* "" is NULL, 0 */
}

static bool push(parser *p, shoal_json *v, shoal_json *item, uint16_t *key, size_t klen)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 4;
        shoal_json **items = shoal_realloc(v->items, cap * sizeof *items);
        if (items)
            v->items = items;
        uint16_t **keys = NULL;
        size_t *klens = NULL;
        if (items && v->kind == SHOAL_JSON_OBJECT) {
            keys = shoal_realloc(v->keys, cap * sizeof *keys);
            if (keys)
                v->keys = keys;
            klens = keys ? shoal_realloc(v->klens, cap * sizeof *klens) : NULL;
            if (klens)
                v->klens = klens;
        }
        if (!items || (v->kind == SHOAL_JSON_OBJECT && !klens)) {
            p->error = SHOAL_E_NOMEM;
            shoal_json_free(item);
            shoal_free(key);
            return false;
        }
        v->cap = cap;
    }
    v->items[v->n] = item;
    if (v->kind == SHOAL_JSON_OBJECT) {
        v->keys[v->n] = key;
        v->klens[v->n] = klen;
    }
    v->n++;
    return true;
}

static shoal_json *value(parser *p);

static shoal_json *container(parser *p, bool object)
{
    shoal_json *v = node(p, object ? SHOAL_JSON_OBJECT : SHOAL_JSON_ARRAY);
    if (!v)
        return NULL;
    p->at++;
    skip_ws(p);
    char close = object ? '}' : ']';
    if (p->at < p->len && p->s[p->at] == close) {
        p->at++;
        return v;
    }
    for (;;) {
        uint16_t *key = NULL;
        size_t klen = 0;
        skip_ws(p);
        if (object) {
            if (p->at >= p->len || p->s[p->at] != '"' || !string(p, &key, &klen))
                break;
            skip_ws(p);
            if (p->at >= p->len || p->s[p->at] != ':') {
                shoal_free(key);
                break;
            }
            p->at++;
        }
        shoal_json *item = value(p);
        if (!item) {
            shoal_free(key);
            break;
        }
        size_t dup = v->n;
        for (size_t i = 0; object && i < v->n; i++)
            if (same_key(v->keys[i], v->klens[i], key, klen))
                dup = i;
        if (dup < v->n) { /* JavaScript keeps the first place and the last value */
            shoal_json_free(v->items[dup]);
            v->items[dup] = item;
            shoal_free(key);
        } else if (!push(p, v, item, key, klen)) {
            break;
        }
        skip_ws(p);
        if (p->at < p->len && p->s[p->at] == ',') {
            p->at++;
            continue;
        }
        if (p->at < p->len && p->s[p->at] == close) {
            p->at++;
            return v;
        }
        break;
    }
    if (p->error == SHOAL_OK)
        p->error = SHOAL_E_JSON;
    shoal_json_free(v);
    return NULL;
}

static bool literal(parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->at < n || memcmp(p->s + p->at, word, n) != 0)
        return false;
    p->at += n;
    return true;
}

static shoal_json *value(parser *p)
{
    skip_ws(p);
    if (p->at >= p->len || ++p->depth > MAX_DEPTH) {
        p->error = SHOAL_E_JSON;
        return NULL;
    }
    shoal_json *v = NULL;
    char c = p->s[p->at];
    if (c == '{' || c == '[') {
        v = container(p, c == '{');
    } else if (c == '"') {
        uint16_t *s;
        size_t n;
        if (string(p, &s, &n) && (v = node(p, SHOAL_JSON_STRING)) != NULL) {
            v->str = s;
            v->slen = n;
        } else if (p->error == SHOAL_E_NOMEM) {
            shoal_free(s);
        }
    } else if (literal(p, "null")) {
        v = node(p, SHOAL_JSON_NULL);
    } else if (literal(p, "true")) {
        v = node(p, SHOAL_JSON_TRUE);
    } else if (literal(p, "false")) {
        v = node(p, SHOAL_JSON_FALSE);
    } else {
        double d;
        if (number(p, &d) && (v = node(p, SHOAL_JSON_NUMBER)) != NULL)
            v->num = d;
    }
    if (!v && p->error == SHOAL_OK)
        p->error = SHOAL_E_JSON;
    p->depth--;
    return v;
}

int shoal_json_parse(const char *text, size_t len, shoal_json **out)
{
    parser p = {text, len, 0, 0, SHOAL_OK};
    shoal_json *v = value(&p);
    skip_ws(&p);
    if (v && p.at != len) {
        shoal_json_free(v);
        return SHOAL_E_JSON;
    }
    if (!v)
        return p.error;
    *out = v;
    return SHOAL_OK;
}

/* ---- V8's JSON.stringify(value, null, 2) -------------------------------------------------------
 */

/* ECMAScript's Number::toString for a finite double: the shortest digits that read back. */
void shoal__number_to_string(double x, char out[40])
{
    if (x == 0) {
        strcpy(out, "0"); /* -0 too */
        return;
    }
    char *o = out;
    if (x < 0) {
        *o++ = '-';
        x = -x;
    }
    if (x < 9007199254740992.0 && x == (double)(uint64_t)x) {
        /* a whole number below 2^53 (sequences, timestamps): its digits, exactly */
        char rev[20];
        int k = 0;
        for (uint64_t u = (uint64_t)x; u; u /= 10)
            rev[k++] = (char)('0' + u % 10);
        while (k)
            *o++ = rev[--k];
        *o = '\0';
        return;
    }
    char sci[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(sci, sizeof sci, "%.*e", p - 1, x);
        if (strtod(sci, NULL) == x)
            break;
    }
    /* sci is d[.ddd]e±XX: the digits and n, where x = 0.digits × 10^n */
    char digits[20];
    int k = 0;
    const char *c = sci;
    for (; *c && *c != 'e'; c++)
        if (*c != '.')
            digits[k++] = *c;
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = '\0';
    int n = atoi(c + 1) + 1;
    if (k <= n && n <= 21) {
        o += snprintf(o, (size_t)(out + 40 - o), "%s%.*s", digits, n - k, "000000000000000000000");
    } else if (0 < n && n <= 21) {
        o += snprintf(o, (size_t)(out + 40 - o), "%.*s.%s", n, digits, digits + n);
    } else if (-6 < n && n <= 0) {
        o += snprintf(o, (size_t)(out + 40 - o), "0.%.*s%s", -n, "000000", digits);
    } else {
        int e = n - 1;
        if (k == 1)
            o += snprintf(o, (size_t)(out + 40 - o), "%ce%c%d", digits[0], e < 0 ? '-' : '+',
                          abs(e));
        else
            o += snprintf(o, (size_t)(out + 40 - o), "%c.%se%c%d", digits[0], digits + 1,
                          e < 0 ? '-' : '+', abs(e));
    }
}

static void quote(const uint16_t *s, size_t n, shoal_u16buf *out)
{
    static const uint16_t q = '"';
    put(out, &q, 1);
    size_t run = 0; /* characters copied as they are, in one go */
    for (size_t i = 0; i < n; i++) {
        uint16_t c = s[i];
        bool surrogate = c >= 0xd800 && c <= 0xdfff;
        if (c >= 0x20 && c != '"' && c != '\\' && !surrogate) { /* most are: asked first */
            run++;
            continue;
        }
        bool lone =
            (c >= 0xd800 && c <= 0xdbff &&
             !(i + 1 < n && s[i + 1] >= 0xdc00 && s[i + 1] <= 0xdfff)) ||
            (c >= 0xdc00 && c <= 0xdfff && !(i > 0 && s[i - 1] >= 0xd800 && s[i - 1] <= 0xdbff));
        const char *esc = c == '"'    ? "\\\""
                          : c == '\\' ? "\\\\"
                          : c == '\b' ? "\\b"
                          : c == '\f' ? "\\f"
                          : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r"
                          : c == '\t' ? "\\t"
                                      : NULL;
        if (!esc && c >= 0x20 && !lone) {
            run++;
            continue;
        }
        if (run)
            put(out, s + i - run, run);
        run = 0;
        char hex[8];
        if (!esc) {
            snprintf(hex, sizeof hex, "\\u%04x", c);
            esc = hex;
        }
        put_ascii(out, esc);
    }
    if (run)
        put(out, s + n - run, run);
    put(out, &q, 1);
}

/* JavaScript's own-key order: integer-like keys (array indices) ascending, then the others. */
static bool index_key(const uint16_t *k, size_t n, uint32_t *value)
{
    if (n == 0 || n > 10 || (n > 1 && k[0] == '0'))
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (k[i] < '0' || k[i] > '9')
            return false;
        v = v * 10 + (k[i] - '0');
    }
    if (v >= 4294967295u)
        return false;
    *value = (uint32_t)v;
    return true;
}

typedef struct keyed {
    size_t index;
    uint32_t value;
} keyed;

static int by_value(const void *a, const void *b)
{
    uint32_t x = ((const keyed *)a)->value, y = ((const keyed *)b)->value;
    return x < y ? -1 : x > y;
}

static void indent(shoal_u16buf *out, int depth)
{
    static const uint16_t nl = '\n', sp[2] = {' ', ' '};
    put(out, &nl, 1);
    for (int i = 0; i < depth; i++)
        put(out, sp, 2);
}

static void stringify(const shoal_json *v, const char *skip, int depth, bool pretty,
                      shoal_u16buf *out)
{
    char num[40];
    switch (v->kind) {
    case SHOAL_JSON_NULL:
        put_ascii(out, "null");
        return;
    case SHOAL_JSON_TRUE:
        put_ascii(out, "true");
        return;
    case SHOAL_JSON_FALSE:
        put_ascii(out, "false");
        return;
    case SHOAL_JSON_NUMBER:
        if (isfinite(v->num))
            shoal__number_to_string(v->num, num);
        else
            strcpy(num, "null");
        put_ascii(out, num);
        return;
    case SHOAL_JSON_STRING:
        quote(v->str, v->slen, out);
        return;
    case SHOAL_JSON_ARRAY:
    case SHOAL_JSON_OBJECT:
        break;
    }
    bool object = v->kind == SHOAL_JSON_OBJECT;
    keyed *order = v->n ? shoal_malloc(v->n * sizeof *order) : NULL;
    if (v->n && !order) {
        out->status = SHOAL_E_NOMEM;
        return;
    }
    size_t count = 0, indices = 0;
    for (int pass = 0; object && pass < 2; pass++) { /* indices first, then the rest */
        for (size_t i = 0; i < v->n; i++) {
            uint32_t val;
            bool idx = index_key(v->keys[i], v->klens[i], &val);
            if (idx == (pass == 0))
                order[count++] = (keyed){i, idx ? val : 0};
        }
        if (pass == 0)
            indices = count;
    }
    if (indices > 1)
        qsort(order, indices, sizeof *order, by_value);
    for (size_t i = 0; !object && i < v->n; i++)
        order[count++] = (keyed){i, 0};
    size_t written = 0;
    put_ascii(out, object ? "{" : "[");
    for (size_t j = 0; j < count; j++) {
        size_t i = order[j].index;
        if (object && depth == 0 && skip) {
            size_t sn = strlen(skip), k;
            for (k = 0; k < sn && k < v->klens[i] && v->keys[i][k] == (uint8_t)skip[k]; k++)
                ;
            if (k == sn && v->klens[i] == sn)
                continue;
        }
        if (written++)
            put_ascii(out, ",");
        if (pretty)
            indent(out, depth + 1);
        if (object) {
            quote(v->keys[i], v->klens[i], out);
            put_ascii(out, pretty ? ": " : ":");
        }
        stringify(v->items[i], NULL, depth + 1, pretty, out);
    }
    if (written && pretty)
        indent(out, depth);
    put_ascii(out, object ? "}" : "]");
    shoal_free(order);
}

void shoal_json_stringify(const shoal_json *v, const char *skip, shoal_u16buf *out)
{
    stringify(v, skip, 0, true, out);
}

void shoal_json_stringify_compact(const shoal_json *v, shoal_u16buf *out)
{
    stringify(v, NULL, 0, false, out);
}

const shoal_json *shoal_json_member(const shoal_json *obj, const char *key)
{
    if (!obj || obj->kind != SHOAL_JSON_OBJECT)
        return NULL;
    size_t n = strlen(key);
    for (size_t i = 0; i < obj->n; i++) {
        if (obj->klens[i] != n)
            continue;
        size_t k = 0;
        while (k < n && obj->keys[i][k] == (uint8_t)key[k])
            k++;
        if (k == n)
            return obj->items[i];
    }
    return NULL;
}

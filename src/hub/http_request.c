/* The HTTP/1.x request head parser: one pass over a complete head (found by its blank line).
 * Strict where ambiguity could be exploited (request smuggling): no obsolete line folding, one
 * length per message, Content-Length with Transfer-Encoding refused. Lenient where clients
 * differ harmlessly: bare LF line ends, any case in header names. */
#include "shoal/hub.h"

#include <string.h>
#include <strings.h>

static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Bytes allowed in a request target: visible ASCII. */
static bool is_target_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

/* The end of the head (just past its blank line), or 0 when it is not all here. */
static size_t head_end(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* One line from *at (not past end), without its CRLF or LF; advances *at past it. */
static bool next_line(const char *buf, size_t end, size_t *at, const char **line, size_t *n)
{
    const char *nl = memchr(buf + *at, '\n', end - *at);
    if (!nl)
        return false;
    size_t stop = (size_t)(nl - buf);
    *line = buf + *at;
    *n = stop - *at;
    if (*n > 0 && (*line)[*n - 1] == '\r')
        (*n)--;
    *at = stop + 1;
    return true;
}

static bool equals_nocase(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

static shoal_http_method method_of(const char *s, size_t n)
{
    static const struct {
        const char *name;
        shoal_http_method method;
    } methods[] = {
        {"GET", SHOAL_HTTP_GET}, {"HEAD", SHOAL_HTTP_HEAD},     {"POST", SHOAL_HTTP_POST},
        {"PUT", SHOAL_HTTP_PUT}, {"DELETE", SHOAL_HTTP_DELETE}, {"OPTIONS", SHOAL_HTTP_OPTIONS},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strlen(methods[i].name) == n && memcmp(methods[i].name, s, n) == 0)
            return methods[i].method;
    return SHOAL_HTTP_OTHER;
}

static int parse_request_line(const char *line, size_t n, shoal_http_request *req)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)line[i]))
        i++;
    if (i == 0 || i >= n || line[i] != ' ')
        return SHOAL_E_HTTP_BAD_REQUEST;
    req->method = method_of(line, i);
    size_t t = ++i;
    while (i < n && is_target_char((unsigned char)line[i]))
        i++;
    if (i == t || i >= n || line[i] != ' ' || line[t] != '/')
        return SHOAL_E_HTTP_BAD_REQUEST;
    req->target = line + t;
    req->target_len = i - t;
    i++;
    if (n - i != 8 || memcmp(line + i, "HTTP/", 5) != 0 || line[i + 6] != '.' ||
        line[i + 5] < '0' || line[i + 5] > '9' || line[i + 7] < '0' || line[i + 7] > '9')
        return SHOAL_E_HTTP_BAD_REQUEST;
    if (line[i + 5] != '1' || line[i + 7] > '1')
        return SHOAL_E_HTTP_VERSION;
    req->minor_version = line[i + 7] - '0';
    req->keep_alive = req->minor_version == 1;
    return SHOAL_OK;
}

static int parse_length(const char *v, size_t n, shoal_http_request *req)
{
    uint64_t value = 0;
    if (n == 0)
        return SHOAL_E_HTTP_BAD_REQUEST;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9' || value > (UINT64_C(1) << 53))
            return SHOAL_E_HTTP_BAD_REQUEST;
        value = value * 10 + (uint64_t)(v[i] - '0');
    }
    if (req->has_length && req->content_length != value)
        return SHOAL_E_HTTP_BAD_REQUEST;
    req->has_length = true;
    req->content_length = value;
    return SHOAL_OK;
}

static int parse_header(const char *line, size_t n, shoal_http_request *req)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)line[i]))
        i++;
    if (i == 0 || i >= n || line[i] != ':')
        return SHOAL_E_HTTP_BAD_REQUEST; /* also catches obsolete folding (leading space) */
    const char *name = line;
    size_t name_len = i++;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    size_t end = n;
    while (end > i && (line[end - 1] == ' ' || line[end - 1] == '\t'))
        end--;
    const char *v = line + i;
    size_t vn = end - i;
    for (size_t k = 0; k < vn; k++)
        if ((unsigned char)v[k] < 0x20 && v[k] != '\t')
            return SHOAL_E_HTTP_BAD_REQUEST;

    if (equals_nocase(name, name_len, "content-length"))
        return parse_length(v, vn, req);
    if (equals_nocase(name, name_len, "transfer-encoding")) {
        if (!equals_nocase(v, vn, "chunked"))
            return SHOAL_E_HTTP_ENCODING;
        if (req->chunked)
            return SHOAL_E_HTTP_BAD_REQUEST;
        req->chunked = true;
    } else if (equals_nocase(name, name_len, "connection")) {
        if (equals_nocase(v, vn, "close"))
            req->keep_alive = false;
        else if (equals_nocase(v, vn, "keep-alive"))
            req->keep_alive = true;
    } else if (equals_nocase(name, name_len, "expect")) {
        req->expect_continue = equals_nocase(v, vn, "100-continue");
    } else if (equals_nocase(name, name_len, "host")) {
        if (req->host) /* RFC 9112 3.2: which one the request meant cannot be told */
            return SHOAL_E_HTTP_BAD_REQUEST;
        req->host = v;
        req->host_len = vn;
    } else if (equals_nocase(name, name_len, "authorization")) {
        if (req->authorization) /* one credential per request (RFC 9110 11.6.2) */
            return SHOAL_E_HTTP_BAD_REQUEST;
        req->authorization = v;
        req->authorization_len = vn;
    }
    return SHOAL_OK;
}

long shoal_http_parse_request(const char *buf, size_t len, shoal_http_request *req)
{
    memset(req, 0, sizeof *req);
    /* Robustness (RFC 9112 2.2): empty lines before a request line are skipped. */
    size_t skip = 0;
    while (skip < len && skip < SHOAL_HTTP_MAX_HEAD && (buf[skip] == '\r' || buf[skip] == '\n'))
        skip++;
    const char *head = buf + skip;
    size_t avail = len - skip, limit = SHOAL_HTTP_MAX_HEAD - skip;
    size_t end = head_end(head, avail < limit ? avail : limit);
    if (end == 0)
        return len >= SHOAL_HTTP_MAX_HEAD ? SHOAL_E_HTTP_HEAD_TOO_LARGE : SHOAL_E_AGAIN;

    size_t at = 0, n;
    const char *line;
    if (!next_line(head, end, &at, &line, &n))
        return SHOAL_E_HTTP_BAD_REQUEST;
    int rc = parse_request_line(line, n, req);
    if (rc != SHOAL_OK)
        return rc;
    for (size_t headers = 0;; headers++) {
        if (!next_line(head, end, &at, &line, &n))
            return SHOAL_E_HTTP_BAD_REQUEST;
        if (n == 0)
            break;
        if (headers == SHOAL_HTTP_MAX_HEADERS)
            return SHOAL_E_HTTP_HEAD_TOO_LARGE;
        rc = parse_header(line, n, req);
        if (rc != SHOAL_OK)
            return rc;
    }
    if (req->chunked && req->has_length)
        return SHOAL_E_HTTP_BAD_REQUEST;
    return (long)(skip + at);
}

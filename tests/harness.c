#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *current_case;
static bool case_failed;
static int passed, failed;

void harness_run(const char *name, void (*fn)(void))
{
    current_case = name;
    case_failed = false;
    fn();
    if (case_failed) {
        failed++;
        printf("not ok - %s\n", name);
    } else {
        passed++;
        printf("ok - %s\n", name);
    }
    fflush(stdout);
}

int harness_finish(void)
{
    const char *prog = program_invocation_short_name;
    printf("# %s: %d passed, %d failed\n", prog, passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}

static void report(const char *file, int line, const char *what)
{
    case_failed = true;
    printf("FAIL %s:%d in %s: %s\n", file, line, current_case ? current_case : "?", what);
}

bool harness_check(bool ok, const char *expr, const char *file, int line)
{
    if (!ok)
        report(file, line, expr);
    return ok;
}

bool harness_eq_int(long long a, long long b, const char *ea, const char *eb, const char *file,
                    int line)
{
    if (a == b)
        return true;
    char what[512];
    snprintf(what, sizeof what, "%s == %s\n    left:  %lld\n    right: %lld", ea, eb, a, b);
    report(file, line, what);
    return false;
}

bool harness_eq_str(const char *a, const char *b, const char *ea, const char *eb, const char *file,
                    int line)
{
    if (a && b && strcmp(a, b) == 0)
        return true;
    char what[4096];
    snprintf(what, sizeof what, "%s == %s\n    left:  %s%s%s\n    right: %s%s%s", ea, eb,
             a ? "\"" : "", a ? a : "NULL", a ? "\"" : "", b ? "\"" : "", b ? b : "NULL",
             b ? "\"" : "");
    report(file, line, what);
    return false;
}

static void hex(char *out, size_t cap, const void *p, size_t len)
{
    const unsigned char *b = p;
    size_t n = 0;
    for (size_t i = 0; i < len && n + 3 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%02x", b[i]);
    if (n < cap)
        out[n] = '\0';
}

bool harness_eq_mem(const void *a, size_t alen, const void *b, size_t blen, const char *ea,
                    const char *eb, const char *file, int line)
{
    if (alen == blen && (alen == 0 || memcmp(a, b, alen) == 0))
        return true;
    char ha[1024], hb[1024], what[2400];
    hex(ha, sizeof ha, a, alen);
    hex(hb, sizeof hb, b, blen);
    snprintf(what, sizeof what, "%s == %s\n    left:  (%zu) %s\n    right: (%zu) %s", ea, eb, alen,
             ha, blen, hb);
    report(file, line, what);
    return false;
}

bool harness_eq_err(int a, int b, const char *ea, const char *eb, const char *file, int line)
{
    if (a == b)
        return true;
    char what[512];
    snprintf(what, sizeof what, "%s == %s\n    left:  %s (%d)\n    right: %s (%d)", ea, eb,
             shoal_errname(a), a, shoal_errname(b), b);
    report(file, line, what);
    return false;
}

char *harness_guarded(const char *s, size_t len)
{
    char *p = malloc(len ? len : 1);
    if (!p)
        abort();
    if (len)
        memcpy(p, s, len);
    return p;
}

/* ---- failmalloc ---- */

static size_t alloc_count, fail_at;
static bool fail_reached;

static void *failing_realloc(void *ptr, size_t size, void *ud)
{
    (void)ud;
    if (alloc_count++ == fail_at) {
        fail_reached = true;
        return NULL;
    }
    return realloc(ptr, size);
}

static void plain_free(void *ptr, void *ud)
{
    (void)ud;
    free(ptr);
}

size_t harness_failmalloc_sweep(int (*fn)(void *ctx), void *ctx)
{
    static const shoal_allocator failing = {failing_realloc, plain_free, NULL};
    for (fail_at = 0;; fail_at++) {
        alloc_count = 0;
        fail_reached = false;
        shoal_set_allocator(&failing);
        int rc = fn(ctx);
        shoal_set_allocator(NULL);
        if (!fail_reached) {
            CHECK_EQ_ERR(rc, SHOAL_OK);
            return alloc_count;
        }
        if (!CHECK_EQ_ERR(rc, SHOAL_E_NOMEM)) {
            printf("    (with allocation #%zu failing)\n", fail_at);
            return alloc_count;
        }
    }
}

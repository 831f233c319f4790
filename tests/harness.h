/* A small test harness. A test file is a list of cases; each failed check prints where it was
 * and both values, and the file ends with one summary line that scripts/test-summary reads:
 *
 *   # test_name: N passed, M failed
 *
 * Usage:
 *   static void hub_default_port_is_443(void) { CHECK_EQ_INT(hub.port, 443); }
 *   int main(void) { RUN(hub_default_port_is_443); return harness_finish(); } */
#ifndef SHOAL_HARNESS_H
#define SHOAL_HARNESS_H

#include "shoal/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define RUN(fn) harness_run(#fn, fn)

#define CHECK(cond) harness_check((cond), #cond, __FILE__, __LINE__)
#define CHECK_EQ_INT(a, b)                                                                         \
    harness_eq_int((long long)(a), (long long)(b), #a, #b, __FILE__, __LINE__)
#define CHECK_EQ_STR(a, b) harness_eq_str((a), (b), #a, #b, __FILE__, __LINE__)
#define CHECK_EQ_MEM(a, alen, b, blen)                                                             \
    harness_eq_mem((a), (alen), (b), (blen), #a, #b, __FILE__, __LINE__)
/* Compares two SHOAL_OK / SHOAL_E_* codes and prints their names. */
#define CHECK_EQ_ERR(a, b) harness_eq_err((a), (b), #a, #b, __FILE__, __LINE__)

void harness_run(const char *name, void (*fn)(void));
/* Prints the summary line; the process exit status (0 when every case passed). */
int harness_finish(void);

bool harness_check(bool ok, const char *expr, const char *file, int line);
bool harness_eq_int(long long a, long long b, const char *ea, const char *eb, const char *file,
                    int line);
bool harness_eq_str(const char *a, const char *b, const char *ea, const char *eb, const char *file,
                    int line);
bool harness_eq_mem(const void *a, size_t alen, const void *b, size_t blen, const char *ea,
                    const char *eb, const char *file, int line);
bool harness_eq_err(int a, int b, const char *ea, const char *eb, const char *file, int line);

/* A copy of s[0..len) in a heap block of exactly len bytes, with no NUL after it, so a parser
 * that reads past the end trips AddressSanitizer. Free it with free(). */
char *harness_guarded(const char *s, size_t len);

/* The failmalloc sweep: runs fn(ctx) again and again, making its first allocation fail, then its
 * second, and so on, until a run completes without reaching the failing allocation. Each run
 * that reached it must return SHOAL_E_NOMEM (and leak nothing: LeakSanitizer checks); the last
 * run must return SHOAL_OK. Returns how many allocations the successful run made. */
size_t harness_failmalloc_sweep(int (*fn)(void *ctx), void *ctx);

#endif

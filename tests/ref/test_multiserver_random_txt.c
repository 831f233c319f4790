/* Every line of multiserver-address 1.0.1's test/random.txt (strings generated from its grammar
 * by nearley-unparse) parses, and formats back to itself. The file is fetched at test time by
 * scripts/fetch-test-data (npm pack); its path is the first argument. */
#include "harness.h"

#include "shoal/ref.h"

#include <stdlib.h>
#include <string.h>

static const char *path;

static void every_line_parses_and_round_trips(void)
{
    FILE *f = fopen(path, "r");
    if (!CHECK(f != NULL)) {
        printf("    cannot open %s: run scripts/fetch-test-data first\n", path);
        return;
    }
    char *line = NULL;
    size_t cap = 0, lines = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)n;
        if (len > 0 && line[len - 1] == '\n')
            len--;
        if (len == 0)
            continue;
        lines++;
        char *g = harness_guarded(line, len);
        shoal_ms *ms = NULL;
        size_t at = 0;
        if (CHECK_EQ_ERR(shoal_ms_parse(&ms, g, len, &at), SHOAL_OK)) {
            shoal_buf b = SHOAL_BUF_INIT;
            shoal_ms_format(ms, &b);
            CHECK_EQ_MEM(b.data, b.len, g, len);
            shoal_buf_free(&b);
            /* Typed decoding may accept or refuse, but only with an error code. */
            for (size_t a = 0; a < ms->naddrs; a++)
                for (size_t p = 0; p < ms->addrs[a].nprotos; p++) {
                    shoal_ms_info info;
                    int rc = shoal_ms_proto_decode(&ms->addrs[a].protos[p], &info, NULL);
                    CHECK(rc <= 0 && rc > -(int)SHOAL__ERR_COUNT);
                }
        } else {
            printf("    line %zu: %.*s (at %zu)\n", lines, (int)len, line, at);
        }
        shoal_ms_free(ms);
        free(g);
    }
    free(line);
    fclose(f);
    CHECK_EQ_INT(lines, 100);
}

int main(int argc, char **argv)
{
    path = argc > 1 ? argv[1] : "random.txt";
    RUN(every_line_parses_and_round_trips);
    return harness_finish();
}

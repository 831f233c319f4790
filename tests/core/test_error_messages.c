/* Every error code has its own name and a message a person can read. */
#include "harness.h"

#include <string.h>

static void ok_is_zero_and_says_ok(void)
{
    CHECK_EQ_INT(SHOAL_OK, 0);
    CHECK_EQ_STR(shoal_strerror(SHOAL_OK), "ok");
    CHECK_EQ_STR(shoal_errname(SHOAL_OK), "OK");
}

static void codes_are_negative_and_distinct(void)
{
    CHECK_EQ_INT(SHOAL_E_NOMEM, -1);
    CHECK_EQ_INT(SHOAL_E_INVAL, -2);
    for (int a = -1; a > -(int)SHOAL__ERR_COUNT; a--) {
        CHECK(strlen(shoal_strerror(a)) > 10);
        CHECK(strcmp(shoal_strerror(a), "unknown error") != 0);
        for (int b = a - 1; b > -(int)SHOAL__ERR_COUNT; b--) {
            CHECK(strcmp(shoal_errname(a), shoal_errname(b)) != 0);
            CHECK(strcmp(shoal_strerror(a), shoal_strerror(b)) != 0);
        }
    }
}

static void names_match_the_enum(void)
{
    CHECK_EQ_STR(shoal_errname(SHOAL_E_ADDR_PORT), "ADDR_PORT");
    CHECK_EQ_STR(shoal_strerror(SHOAL_E_ADDR_PORT), "the port must be a number from 1 to 65535");
}

static void unknown_codes_are_named_unknown(void)
{
    CHECK_EQ_STR(shoal_strerror(1), "unknown error");
    CHECK_EQ_STR(shoal_strerror(-(int)SHOAL__ERR_COUNT), "unknown error");
    CHECK_EQ_STR(shoal_errname(-100000), "UNKNOWN");
}

int main(void)
{
    RUN(ok_is_zero_and_says_ok);
    RUN(codes_are_negative_and_distinct);
    RUN(names_match_the_enum);
    RUN(unknown_codes_are_named_unknown);
    return harness_finish();
}

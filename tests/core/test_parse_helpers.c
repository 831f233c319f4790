/* The helpers the parsers share: hexadecimal digits, and gathering a fixed-size piece from
 * input that arrives in any split. */
#include "harness.h"

#include <string.h>

static void hex_digits_of_either_case_and_nothing_else(void)
{
    CHECK_EQ_INT(shoal_hex_value('0'), 0);
    CHECK_EQ_INT(shoal_hex_value('9'), 9);
    CHECK_EQ_INT(shoal_hex_value('a'), 10);
    CHECK_EQ_INT(shoal_hex_value('F'), 15);
    static const char not_hex[] = "gG/:@`\x7f";
    for (size_t i = 0; i < sizeof not_hex; i++) /* the NUL too */
        CHECK_EQ_INT(shoal_hex_value((unsigned char)not_hex[i]), -1);
    CHECK_EQ_INT(shoal_hex_value(0xff), -1);
}

static void a_piece_gathers_from_any_split(void)
{
    const uint8_t in[] = "0123456789";
    for (size_t step = 1; step <= 10; step++) {
        uint8_t piece[6];
        size_t have = 0, used = 0;
        while (have < sizeof piece)
            used += shoal_gather(piece, &have, sizeof piece, in + used,
                                 step < 10 - used ? step : 10 - used);
        CHECK_EQ_INT(used, 6); /* it takes no byte beyond the piece */
        CHECK_EQ_MEM(piece, 6, "012345", 6);
    }
}

static void durations_with_their_units_and_nothing_else(void)
{
    static const struct {
        const char *text;
        shoal_time ms;
    } good[] = {{"250ms", 250},  {"1500", 1500},    {"30s", 30000},    {"1.5s", 1500},
                {"10m", 600000}, {"24h", 86400000}, {"7d", 604800000}, {"0", 0}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        shoal_time t = -1;
        CHECK(shoal_parse_duration(good[i].text, &t));
        CHECK_EQ_INT(t, good[i].ms);
    }
    static const char *const bad[] = {"",    "s",   "-1s",  " 5s",    "+5s", "5 s", "5sec",
                                      "nan", "inf", "0x10", "1e300s", "5S",  "5s ", "1e16"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        shoal_time t = 42;
        CHECK(!shoal_parse_duration(bad[i], &t));
        CHECK_EQ_INT(t, 42);
    }
}

int main(void)
{
    RUN(hex_digits_of_either_case_and_nothing_else);
    RUN(a_piece_gathers_from_any_split);
    RUN(durations_with_their_units_and_nothing_else);
    return harness_finish();
}

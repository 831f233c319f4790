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

int main(void)
{
    RUN(hex_digits_of_either_case_and_nothing_else);
    RUN(a_piece_gathers_from_any_split);
    return harness_finish();
}

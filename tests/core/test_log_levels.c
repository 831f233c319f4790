/* Logging drops messages above the level and hands the rest to the sink. */
#include "harness.h"

#include <string.h>

static int seen;
static char last[256];

static void capture(shoal_log_level level, const char *module, const char *msg, void *ud)
{
    CHECK(ud == &seen);
    seen++;
    snprintf(last, sizeof last, "%s %s %s", shoal_log_level_name(level), module, msg);
}

static void messages_above_the_level_are_dropped(void)
{
    shoal_log_set_sink(capture, &seen);
    shoal_log_set_level(SHOAL_LOG_INFO);
    seen = 0;
    shoal_log(SHOAL_LOG_DEBUG, "test", "hidden %d", 1);
    CHECK_EQ_INT(seen, 0);
    shoal_log(SHOAL_LOG_INFO, "hub", "listening on %s:%d", "127.0.0.1", 9000);
    CHECK_EQ_INT(seen, 1);
    CHECK_EQ_STR(last, "info hub listening on 127.0.0.1:9000");
    shoal_log(SHOAL_LOG_ERROR, "rtc", "failed");
    CHECK_EQ_INT(seen, 2);
    CHECK_EQ_STR(last, "error rtc failed");
    shoal_log_set_sink(NULL, NULL);
    shoal_log_set_level(SHOAL_LOG_WARN);
}

static void long_messages_are_cut_not_lost(void)
{
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    shoal_log_set_sink(capture, &seen);
    seen = 0;
    shoal_log(SHOAL_LOG_ERROR, "test", "%s", big);
    CHECK_EQ_INT(seen, 1);
    CHECK(strncmp(last, "error test xxxx", 15) == 0);
    shoal_log_set_sink(NULL, NULL);
}

static void level_names_parse_both_ways(void)
{
    shoal_log_level level = SHOAL_LOG_ERROR;
    CHECK_EQ_ERR(shoal_log_level_parse("DEBUG", &level), SHOAL_OK);
    CHECK_EQ_INT(level, SHOAL_LOG_DEBUG);
    CHECK_EQ_ERR(shoal_log_level_parse("warn", &level), SHOAL_OK);
    CHECK_EQ_INT(level, SHOAL_LOG_WARN);
    CHECK_EQ_ERR(shoal_log_level_parse("loud", &level), SHOAL_E_INVAL);
    CHECK_EQ_INT(level, SHOAL_LOG_WARN);
    CHECK_EQ_STR(shoal_log_level_name(SHOAL_LOG_INFO), "info");
    CHECK_EQ_INT(shoal_log_get_level(), SHOAL_LOG_WARN);
}

int main(void)
{
    RUN(messages_above_the_level_are_dropped);
    RUN(long_messages_are_cut_not_lost);
    RUN(level_names_parse_both_ways);
    return harness_finish();
}

/* The outbox: signals to one peer are POSTed one at a time, in order, the next only when the
 * previous is done; a negotiation that would queue more than max_outbox is closed; and the same
 * seed with the same events gives the same effects, byte for byte. */
#include "script.h"

#define S1        "910a2dec89025cc1"
#define SIG(body) "POST #1 h2 B {\"from\":\"M\",\"session\":\"" S1 "\",\"signal\":" body "}"
#define CAND(c)                                                                                    \
    "{\"type\":\"candidate\",\"candidate\":{\"candidate\":\"" c                                    \
    "\",\"sdpMLineIndex\":0,\"sdpMid\":\"0\"}}"

static void signals_go_one_at_a_time_in_order(void)
{
    script s;
    script_init(&s, NULL);
    script_step(&s, 0, ev_dial("B", 2));
    EXPECT_STEP(&s, 1, ev_local(1, SHOAL_NEG_SIG_OFFER, "o"),
                SIG("{\"type\":\"offer\",\"sdp\":\"o\"}"));
    EXPECT_STEP(&s, 1, ev_local(1, SHOAL_NEG_SIG_CANDIDATE, "c1"), "");
    EXPECT_STEP(&s, 1, ev_local(1, SHOAL_NEG_SIG_CANDIDATE, "c2"), "");
    CHECK_EQ_INT(record_of(&s, 1)->queued, 2);
    EXPECT_STEP(&s, 2, ev_posted(1, 200), SIG(CAND("c1")));
    EXPECT_STEP(&s, 2, ev_posted(1, 200), SIG(CAND("c2")));
    EXPECT_STEP(&s, 3, ev_posted(1, 200), "");
    CHECK(!record_of(&s, 1)->posting);
    EXPECT_STEP(&s, 3, ev_posted(1, 200), ""); /* none out: nothing to do */
    EXPECT_STEP(&s, 4, ev_local(1, SHOAL_NEG_SIG_CANDIDATE, "c3"), SIG(CAND("c3")));
    script_free(&s);
}

/* A POST that fails is said, and the next goes on (the deadline judges the negotiation). */
static void a_failed_post_is_logged_and_the_next_goes(void)
{
    script s;
    script_init(&s, NULL);
    s.show_logs = true;
    script_step(&s, 0, ev_dial("B", 2));
    script_step(&s, 1, ev_local(1, SHOAL_NEG_SIG_OFFER, "o"));
    script_step(&s, 1, ev_local(1, SHOAL_NEG_SIG_CANDIDATE, "c1"));
    EXPECT_STEP(&s, 2, ev_posted(1, 502),
                "LOG a signal to B… was not delivered (HTTP 502); " SIG(CAND("c1")));
    script_free(&s);
}

static void an_outbox_past_its_bound_closes_the_negotiation(void)
{
    shoal_negotiate_config cfg;
    shoal_negotiate_config_default(&cfg);
    cfg.max_outbox = 2;
    script s;
    script_init(&s, &cfg);
    script_step(&s, 0, ev_dial("B", 2));
    script_step(&s, 1, ev_local(1, SHOAL_NEG_SIG_OFFER, "o"));
    script_step(&s, 1, ev_local(1, SHOAL_NEG_SIG_CANDIDATE, "c1"));
    script_step(&s, 1, ev_local(1, SHOAL_NEG_SIG_CANDIDATE, "c2"));
    EXPECT_STEP(&s, 1, ev_local(1, SHOAL_NEG_SIG_CANDIDATE, "c3"), "CLOSE_RTC #1 now");
    CHECK_EQ_INT(record_of(&s, 1)->queued, 0);
    CHECK_EQ_INT(shoal_negotiate_get_stats(s.n)->outbox_overflows, 1);
    EXPECT_STEP(&s, 2, ev_posted(1, 200), ""); /* what was queued went with the close */
    EXPECT_STEP(&s, 2, ev_local(1, SHOAL_NEG_SIG_CANDIDATE, "c4"), "");
    EXPECT_STEP(&s, 3, ev_closed(1, SHOAL_OK), "REPORT CONNECTION_FAILED B");
    script_free(&s);
}

static void a_text_json_cannot_carry_is_refused(void)
{
    script s;
    script_init(&s, NULL);
    script_step(&s, 0, ev_dial("B", 2));
    EXPECT_STEP(&s, 1, ev_local(1, SHOAL_NEG_SIG_OFFER, "\xff\xfe"), "ERROR INVAL");
    CHECK(!record_of(&s, 1)->posting);
    script_free(&s);
}

static void run(script *s)
{
    script_step(s, 0, ev_dial("B", 0));
    script_step(s, 1, ev_local(1, SHOAL_NEG_SIG_OFFER, "o"));
    script_step(s, 2, ev_dial("C", 0));
    script_step(s, 3, ev_local(2, SHOAL_NEG_SIG_OFFER, "o"));
}

static void the_same_seed_gives_the_same_effects(void)
{
    script a, b;
    script_init(&a, NULL);
    script_init(&b, NULL);
    run(&a);
    run(&b);
    CHECK_EQ_STR(a.out, b.out);
    CHECK_EQ_STR(session_of(&a, 2), "beeb8da1658eec67"); /* the second draw of seed 1 */
    shoal_negotiate *other;
    shoal_negotiate_config cfg;
    shoal_negotiate_config_default(&cfg);
    CHECK_EQ_ERR(shoal_negotiate_new(&other, &cfg, "M", 2), SHOAL_OK);
    shoal_negotiate_event dial = ev_dial("B", 0);
    const shoal_negotiate_fx *fx;
    size_t nfx;
    CHECK_EQ_ERR(shoal_negotiate_reduce(other, &dial, 0, &fx, &nfx), SHOAL_OK);
    CHECK(strcmp(shoal_negotiate_find(other, "B")->session, session_of(&a, 1)) != 0);
    shoal_negotiate_free(other);
    script_free(&a);
    script_free(&b);
}

static void bad_configurations_are_refused(void)
{
    shoal_negotiate *n;
    shoal_negotiate_config cfg;
    shoal_negotiate_config_default(&cfg);
    cfg.max_records = 1;
    CHECK_EQ_ERR(shoal_negotiate_new(&n, &cfg, "M", 1), SHOAL_E_INVAL);
    shoal_negotiate_config_default(&cfg);
    cfg.timeout = 0;
    CHECK_EQ_ERR(shoal_negotiate_new(&n, &cfg, "M", 1), SHOAL_E_INVAL);
    shoal_negotiate_config_default(&cfg);
    CHECK_EQ_ERR(shoal_negotiate_new(&n, &cfg, "", 1), SHOAL_E_INVAL);
    shoal_negotiate_free(NULL);
}

static void every_event_and_effect_has_a_name(void)
{
    for (int t = SHOAL_NEG_EV_DIAL; t <= SHOAL_NEG_EV_STOP; t++)
        CHECK(strcmp(shoal_negotiate_ev_name((shoal_negotiate_ev_type)t), "UNKNOWN") != 0);
    for (int t = SHOAL_NEG_FX_CREATE_RTC; t <= SHOAL_NEG_FX_LOG; t++)
        CHECK(strcmp(shoal_negotiate_fx_name((shoal_negotiate_fx_type)t), "UNKNOWN") != 0);
    CHECK_EQ_STR(shoal_negotiate_ev_name(SHOAL_NEG_EV_LINK_ESTABLISHED), "LINK_ESTABLISHED");
    CHECK_EQ_STR(shoal_negotiate_fx_name(SHOAL_NEG_FX_SCHEDULE_TICK), "SCHEDULE_TICK");
    CHECK_EQ_STR(shoal_negotiate_fx_name((shoal_negotiate_fx_type)99), "UNKNOWN");
    script s;
    script_init(&s, NULL);
    CHECK_EQ_INT(shoal_negotiate_get_config(s.n)->timeout, 30000);
    EXPECT_STEP(&s, 0, ev_type((shoal_negotiate_ev_type)99), "ERROR INVAL");
    script_free(&s);
}

int main(void)
{
    RUN(signals_go_one_at_a_time_in_order);
    RUN(a_failed_post_is_logged_and_the_next_goes);
    RUN(an_outbox_past_its_bound_closes_the_negotiation);
    RUN(a_text_json_cannot_carry_is_refused);
    RUN(the_same_seed_gives_the_same_effects);
    RUN(bad_configurations_are_refused);
    RUN(every_event_and_effect_has_a_name);
    return harness_finish();
}

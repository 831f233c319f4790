/* Admission: a peer that dials us while every slot is taken is turned away at once (CLOSE_PEER
 * "full"), unless it is protected, or a connection past its lifetime gives way to it. With a
 * free slot it is let in; a net: peer we dial ourselves is admitted the same way. Lowering
 * max_peers trims. */
#include "script.h"

static void setup(script *s)
{
    shoal_conn_config cfg;
    shoal_conn_config_default(&cfg);
    cfg.max_peers = 2;
    script_init(s, &cfg);
    script_connect_hub(s, 0, 0);
    script_connect_peer(s, 0, 'B', 0);
}

static shoal_conn_action dials_us(char letter)
{
    return act_peer(SHOAL_ACT_REMOTE_PEER_CONNECTING, letter, 0);
}

static void with_a_free_slot_an_inbound_peer_comes_in(void)
{
    script s;
    setup(&s);
    EXPECT_STEP(&s, 10, dials_us('C'), "PEER C connecting");
    EXPECT_STEP(&s, 20, PEER_ACT(REMOTE_PEER_CONNECTION_SUCCEEDED, 'C'), "PEER C connected");
    CHECK(peer_of(&s, 'C')->inbound);
    script_free(&s);
}

static void when_full_an_inbound_peer_is_turned_away(void)
{
    script s;
    setup(&s);
    script_step(&s, 10, dials_us('C'));
    /* A stranger turned away leaves no record. */
    EXPECT_STEP(&s, 20, dials_us('D'), "CLOSE_PEER D full");
    CHECK(peer_of(&s, 'D') == NULL);
    shoal_conn_action up =
        act_peer(SHOAL_ACT_REMOTE_PEER_CLIENT_DID_CONNECT, 'E', SHOAL_CONN_NO_HUB);
    up.transport = SHOAL_TRANSPORT_NET;
    EXPECT_STEP(&s, 30, up, "CLOSE_PEER E full");
    /* A known peer turned away keeps its record as it was. */
    script_step(&s, 40, ANNOUNCE('F', 0));
    EXPECT_STEP(&s, 50, dials_us('F'), "CLOSE_PEER F full");
    CHECK_EQ_INT(peer_of(&s, 'F')->state, SHOAL_PEER_DISCONNECTED);
    CHECK_EQ_INT(shoal_conn_slots_used(s.c), 2);
    script_free(&s);
}

static void a_protected_peer_is_let_in_even_when_full(void)
{
    script s;
    setup(&s);
    script_step(&s, 10, dials_us('C'));
    script_step(&s, 15, PEER_ACT(PEER_PROTECT, 'D'));
    EXPECT_STEP(&s, 20, dials_us('D'), "PEER D connecting");
    CHECK_EQ_INT(shoal_conn_slots_used(s.c), 3);
    script_free(&s);
}

static void a_peer_being_closed_that_dials_back_when_full_is_turned_away(void)
{
    script s;
    setup(&s);
    script_step(&s, 10, dials_us('C'));
    script_step(&s, 20, PEER_ACT(REMOTE_PEER_CONNECTION_SUCCEEDED, 'C'));
    script_step(&s, 30, PEER_ACT(REMOTE_PEER_DISCONNECT, 'B')); /* B is closing: a slot frees */
    script_step(&s, 40, dials_us('D'));                         /* D takes it */
    shoal_conn_action up =
        act_peer(SHOAL_ACT_REMOTE_PEER_CLIENT_DID_CONNECT, 'B', SHOAL_CONN_NO_HUB);
    EXPECT_STEP(&s, 50, up, "CLOSE_PEER B full");
    CHECK_EQ_INT(shoal_conn_slots_used(s.c), 2);
    script_free(&s);
}

static shoal_conn_action we_dial_net(char letter)
{
    shoal_conn_action a = act_peer(SHOAL_ACT_PEER_DIAL, letter, SHOAL_CONN_NO_HUB);
    a.transport = SHOAL_TRANSPORT_NET;
    return a;
}

/* A net: peer we dial ourselves takes a slot like any dial, with net's deadline, and is turned
 * away when every slot is taken; one connected already is left as it is. */
static void a_direct_dial_takes_a_slot_or_is_turned_away(void)
{
    script s;
    setup(&s);
    EXPECT_STEP(&s, 10, we_dial_net('C'), "PEER C connecting");
    const shoal_conn_peer *c = peer_of(&s, 'C');
    CHECK(!c->inbound);
    CHECK_EQ_INT(c->transport, SHOAL_TRANSPORT_NET);
    CHECK_EQ_INT(c->deadline, 10 + shoal_conn_get_config(s.c)->timeout_net);
    EXPECT_STEP(&s, 20, PEER_ACT(REMOTE_PEER_CONNECTION_SUCCEEDED, 'C'), "PEER C connected");
    EXPECT_STEP(&s, 30, we_dial_net('D'), "CLOSE_PEER D full");
    CHECK(peer_of(&s, 'D') == NULL);
    EXPECT_STEP(&s, 40, we_dial_net('B'), "");
    CHECK_EQ_INT(shoal_conn_slots_used(s.c), 2);
    script_free(&s);
}

/* Strangers negotiating with us hold at most half the slots (keys are free to make: offers from
 * made-up peers must not hold them all), a protected peer aside; one that connects frees its
 * place. */
static void strangers_negotiating_hold_at_most_half_the_slots(void)
{
    shoal_conn_config cfg;
    shoal_conn_config_default(&cfg); /* max_peers 4: two strangers at once */
    script s;
    script_init(&s, &cfg);
    script_connect_hub(&s, 0, 0);
    EXPECT_STEP(&s, 10, dials_us('C'), "PEER C connecting");
    EXPECT_STEP(&s, 20, dials_us('D'), "PEER D connecting");
    EXPECT_STEP(&s, 30, dials_us('E'), "CLOSE_PEER E full"); /* two slots are still free */
    script_step(&s, 35, PEER_ACT(PEER_PROTECT, 'F'));
    EXPECT_STEP(&s, 40, dials_us('F'), "PEER F connecting");
    EXPECT_STEP(&s, 50, PEER_ACT(REMOTE_PEER_CONNECTION_SUCCEEDED, 'C'), "PEER C connected");
    EXPECT_STEP(&s, 60, dials_us('E'), "PEER E connecting");
    script_free(&s);
}

static void lowering_max_peers_trims_the_newest(void)
{
    script s;
    setup(&s);
    script_connect_peer(&s, 1000, 'C', 0);
    shoal_conn_config cfg = *shoal_conn_get_config(s.c);
    cfg.max_peers = 1;
    script_step(&s, 2000, act_config(&cfg));
    script_step(&s, 61000, TICK);
    CHECK_HAS(&s, "CLOSE_PEER C trimmed");
    script_free(&s);
}

/* Every slot taken, but a connection is past its lifetime: it rotates out for the peer that
 * dials us (with every peer full, a rotation would otherwise only ever meet refusals). Never
 * while anything downloads. */
static void a_connection_past_its_lifetime_gives_way_to_a_dialler(void)
{
    script s;
    setup(&s);
    script_step(&s, 10, dials_us('C'));
    script_step(&s, 20, PEER_ACT(REMOTE_PEER_CONNECTION_SUCCEEDED, 'C'));
    const shoal_time later = 40 * 60 * 1000; /* past any lifetime (30 min, +-10 %) */
    script_step(&s, later, PEER_ACT(DOWNLOAD_PROGRESS, 'C'));
    EXPECT_STEP(&s, later + 100, dials_us('D'), "CLOSE_PEER D full");
    script_step(&s, later + 10000, dials_us('E'));
    CHECK_HAS(&s, "rotated");
    CHECK_HAS(&s, "PEER E connecting");
    CHECK_EQ_INT(shoal_conn_slots_used(s.c), 2);
    CHECK_EQ_INT(shoal_conn_get_stats(s.c)->rotations, 1);
    script_free(&s);
}

int main(void)
{
    RUN(with_a_free_slot_an_inbound_peer_comes_in);
    RUN(when_full_an_inbound_peer_is_turned_away);
    RUN(a_protected_peer_is_let_in_even_when_full);
    RUN(a_peer_being_closed_that_dials_back_when_full_is_turned_away);
    RUN(a_direct_dial_takes_a_slot_or_is_turned_away);
    RUN(strangers_negotiating_hold_at_most_half_the_slots);
    RUN(lowering_max_peers_trims_the_newest);
    RUN(a_connection_past_its_lifetime_gives_way_to_a_dialler);
    return harness_finish();
}

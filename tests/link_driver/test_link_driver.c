/* The link driver between two links over an in-memory transport, on GLib's main loop: a peer
 * that goes silent after the handshake is asked something, then let go (SHOAL_E_LINK_SILENT),
 * while two idle honest peers ask each other and stay; a peer that asks without reading cannot
 * make the other hold more than its max_backlog (SHOAL_E_LINK_BACKLOG), nor more than the
 * account's max_queued shared by a group of drivers; the account counts what is held now and
 * what was let go, and why. */
#include "harness.h"
#include "shoal/link_driver.h"

#include <glib.h>
#include <string.h>

typedef struct end {
    shoal_link_driver *d;
    struct end *other;
    GByteArray *inbox; /* what the other sent, delivered on the next turn of the loop */
    guint deliver;
    bool mute;    /* what it sends is lost: to the other, it is silent */
    bool full;    /* its transport takes nothing */
    int finished; /* the status, once over; 1 before */
    bool established;
} end;

static end a, b;
static GMainLoop *loop;

static gboolean deliver(gpointer ud)
{
    end *e = ud;
    e->deliver = 0;
    GByteArray *in = e->inbox;
    e->inbox = g_byte_array_new();
    if (e->finished == 1)
        shoal_link_driver_input(e->d, in->data, in->len);
    g_byte_array_unref(in);
    return G_SOURCE_REMOVE;
}

static long on_send(const uint8_t *data, size_t len, void *ud)
{
    end *e = ud;
    if (e->full)
        return 0;
    if (!e->mute) {
        g_byte_array_append(e->other->inbox, data, (guint)len);
        if (!e->other->deliver)
            e->other->deliver = g_idle_add(deliver, e->other);
    }
    return (long)len;
}

static void on_established(void *ud)
{
    ((end *)ud)->established = true;
}

static void on_finished(int status, void *ud)
{
    ((end *)ud)->finished = status;
    g_main_loop_quit(loop);
}

static const shoal_link_transport transport = {on_send, on_established, on_finished};

static void setup(const shoal_link_limits *b_limits)
{
    uint8_t seed[32] = {5};
    shoal_keypair ka, kb;
    shoal_keypair_from_seed(&ka, seed);
    seed[0] = 6;
    shoal_keypair_from_seed(&kb, seed);
    a = (end){.other = &b, .inbox = g_byte_array_new(), .finished = 1};
    b = (end){.other = &a, .inbox = g_byte_array_new(), .finished = 1};
    shoal_link_limits quick = {.idle_ms = 200};
    a.d = shoal_link_driver_new(shoal_link_new(&ka, kb.pub, NULL), &transport, &quick, &a);
    b.d = shoal_link_driver_new(shoal_link_new(&kb, NULL, NULL), &transport, b_limits, &b);
    CHECK_EQ_ERR(shoal_basics_register(shoal_link_rpc(shoal_link_driver_link(a.d)),
                                       &(shoal_basics){.id = "@a"}),
                 SHOAL_OK);
    CHECK_EQ_ERR(shoal_basics_register(shoal_link_rpc(shoal_link_driver_link(b.d)),
                                       &(shoal_basics){.id = "@b"}),
                 SHOAL_OK);
    shoal_link_driver_writable(a.d); /* the client's first handshake message */
}

static void teardown(void)
{
    end *ends[] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        g_clear_handle_id(&ends[i]->deliver, g_source_remove);
        shoal_link_driver_free(ends[i]->d);
        g_byte_array_unref(ends[i]->inbox);
    }
}

static gboolean stop(gpointer ud)
{
    *(guint *)ud = 0;
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

static void run_for(guint ms)
{
    guint t = 0;
    t = g_timeout_add(ms, stop, &t);
    g_main_loop_run(loop);
    g_clear_handle_id(&t, g_source_remove);
}

static void until_established(void)
{
    for (int i = 0; i < 100 && !(a.established && b.established); i++)
        g_main_context_iteration(NULL, TRUE);
    CHECK(a.established && b.established);
}

static void a_silent_peer_is_asked_then_let_go(void)
{
    shoal_link_account account = {0};
    shoal_link_limits quick = {.idle_ms = 200, .account = &account};
    setup(&quick);
    until_established();
    a.mute = true; /* from now on, b hears nothing from a */
    gint64 began = g_get_monotonic_time();
    run_for(5000);
    CHECK_EQ_ERR(b.finished, SHOAL_E_LINK_SILENT);
    gint64 took_ms = (g_get_monotonic_time() - began) / 1000;
    CHECK(took_ms >= 300 && took_ms < 2000); /* idle, asked, idle again */
    CHECK_EQ_INT(account.silent, 1);
    CHECK_EQ_INT(account.backlog + account.total, 0);
    teardown();
}

static void idle_honest_peers_ask_each_other_and_stay(void)
{
    shoal_link_limits quick = {.idle_ms = 200};
    setup(&quick);
    until_established();
    run_for(1500); /* several idle periods: each side asks, the other answers */
    CHECK_EQ_INT(a.finished, 1);
    CHECK_EQ_INT(b.finished, 1);
    teardown();
}

static int flood_items; /* of 64 KiB, sent at once when "flood" is called */

static void flood(shoal_rpc *rpc, int32_t id, const shoal_rpc_request *req, void *ud)
{
    (void)req, (void)ud;
    static uint8_t item[65536];
    for (int i = 0; i < flood_items; i++) /* never read */
        (void)!shoal_rpc_send(rpc, id, &(shoal_rpc_body){SHOAL_RPC_BINARY, item, sizeof item});
}

/* a asks b for `items` × 64 KiB, while b's transport takes nothing. */
static void ask_flood(int items)
{
    until_established();
    flood_items = items;
    CHECK_EQ_ERR(shoal_rpc_register(shoal_link_rpc(shoal_link_driver_link(b.d)), "flood",
                                    SHOAL_RPC_SOURCE, flood, NULL),
                 SHOAL_OK);
    b.full = true; /* a takes nothing more of b's */
    json_t *args = json_array();
    int32_t id;
    CHECK_EQ_ERR(shoal_rpc_call(shoal_link_rpc(shoal_link_driver_link(a.d)), SHOAL_RPC_SOURCE,
                                "flood", args, NULL, NULL, &id),
                 SHOAL_OK);
    json_decref(args);
    shoal_link_driver_writable(a.d);
}

static void a_peer_that_does_not_read_cannot_fill_our_memory(void)
{
    shoal_link_account account = {0};
    shoal_link_limits small = {.max_backlog = 1u << 20, .account = &account};
    setup(&small);
    ask_flood(64); /* 4 MiB */
    run_for(2000);
    CHECK_EQ_ERR(b.finished, SHOAL_E_LINK_BACKLOG);
    CHECK_EQ_INT(account.backlog, 1);
    CHECK_EQ_INT(account.queued, 0); /* let go: nothing held for it */
    teardown();
}

static void the_group_holds_no_more_than_its_account_allows(void)
{
    /* within the link's own bound (16 MiB), past the group's (2 MiB) */
    shoal_link_account account = {.max_queued = 2u << 20};
    shoal_link_limits limits = {.account = &account};
    setup(&limits);
    ask_flood(64);
    run_for(2000);
    CHECK_EQ_ERR(b.finished, SHOAL_E_LINK_BACKLOG);
    CHECK_EQ_INT(account.total, 1);
    CHECK_EQ_INT(account.backlog, 0);
    CHECK_EQ_INT(account.queued, 0);
    teardown();

    /* within both: held and counted while the peer reads nothing, released once it reads */
    account = (shoal_link_account){.max_queued = 2u << 20};
    setup(&limits);
    ask_flood(16); /* 1 MiB */
    run_for(300);
    CHECK_EQ_INT(b.finished, 1);
    CHECK(account.queued >= (1u << 20) && account.queued < (1u << 20) + 65536); /* + framing */
    b.full = false;
    shoal_link_driver_writable(b.d);
    CHECK_EQ_INT(account.queued, 0);
    CHECK_EQ_INT(account.total + account.backlog + account.silent, 0);
    teardown();
    CHECK_EQ_INT(account.queued, 0);
}

int main(void)
{
    loop = g_main_loop_new(NULL, FALSE);
    RUN(a_silent_peer_is_asked_then_let_go);
    RUN(idle_honest_peers_ask_each_other_and_stay);
    RUN(a_peer_that_does_not_read_cannot_fill_our_memory);
    RUN(the_group_holds_no_more_than_its_account_allows);
    g_main_loop_unref(loop);
    return harness_finish();
}

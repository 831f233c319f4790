/* Downloading: a peer that sent DOWNLOAD_PROGRESS within the window is never rotated out, and
 * while any download runs nothing rotates; empty slots are still filled. */
#include "script.h"

static void setup(script *s, uint32_t max_peers)
{
    shoal_conn_config cfg;
    shoal_conn_config_default(&cfg);
    cfg.max_peers = max_peers;
    script_init(s, &cfg);
    script_connect_hub(s, 0, 0);
}

static void a_downloading_peer_is_not_rotated(void)
{
    script s;
    setup(&s, 1);
    script_connect_peer(&s, 0, 'B', 0);
    shoal_time t = peer_of(&s, 'B')->rotate_at + 1000;
    script_step(&s, t, ANNOUNCE('C', 0));
    EXPECT_STEP(&s, t, PEER_ACT(DOWNLOAD_PROGRESS, 'B'), "PEER B connected");
    CHECK_EQ_INT(peer_of(&s, 'B')->downloading_until, t + 500);
    script_step(&s, t + 499, TICK);
    CHECK_LACKS(&s, "CLOSE_PEER");
    /* The window passes without progress: the download is over, rotation may go on. */
    script_step(&s, t + 500, TICK);
    CHECK_HAS(&s, "CLOSE_PEER B rotated");
    script_free(&s);
}

static void any_download_holds_every_rotation(void)
{
    script s;
    setup(&s, 2);
    script_connect_peer(&s, 0, 'B', 0);
    script_connect_peer(&s, 0, 'C', 0);
    shoal_time t = 40 * 60000;
    script_step(&s, t, ANNOUNCE('D', 0));
    /* B downloads; C is past its lifetime but must wait. */
    for (shoal_time now = t; now < t + 5000; now += 400) {
        script_step(&s, now, PEER_ACT(DOWNLOAD_PROGRESS, 'B'));
        script_step(&s, now + 1, TICK);
        CHECK_LACKS(&s, "CLOSE_PEER");
    }
    script_free(&s);
}

static void empty_slots_are_filled_during_a_download(void)
{
    script s;
    setup(&s, 2);
    script_connect_peer(&s, 0, 'B', 0);
    script_step(&s, 100, PEER_ACT(DOWNLOAD_PROGRESS, 'B'));
    EXPECT_STEP(&s, 200, ANNOUNCE('C', 0),
                "DIAL_PEER C via h0; HUB h0 connected; PEER C connecting");
    script_free(&s);
}

static void progress_from_a_peer_not_connected_changes_nothing(void)
{
    script s;
    setup(&s, 2);
    script_step(&s, 10, ANNOUNCE('B', 0));
    EXPECT_STEP(&s, 20, PEER_ACT(DOWNLOAD_PROGRESS, 'B'), "");
    EXPECT_STEP(&s, 20, PEER_ACT(DOWNLOAD_PROGRESS, 'Q'), "");
    script_free(&s);
}

int main(void)
{
    RUN(a_downloading_peer_is_not_rotated);
    RUN(any_download_holds_every_rotation);
    RUN(empty_slots_are_filled_during_a_download);
    RUN(progress_from_a_peer_not_connected_changes_nothing);
    return harness_finish();
}

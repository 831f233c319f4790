/* A shoal WebRTC peer that signals as simple-peer does, in JSON lines: it reads the other side's
 * signals ({"type":"offer"|"answer","sdp"} or {"type":"candidate","candidate":{"candidate",
 * "sdpMid","sdpMLineIndex"}}) on standard input and writes its own on standard output, and
 * echoes every message it receives. With --initiator it offers and, once open, sends "hello";
 * every event is one more JSON line ({"event":"open"}, {"event":"message",...},
 * {"event":"closed","error":...}). For the interop tests with simple-peer and browsers.
 * Usage: rtc-echo [--initiator] [--address IP]... */
#include "say.h"
#include "shoal/rtc.h"

#include <gio/gio.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static GMainLoop *loop;
static shoal_rtc_peer *peer;
static bool initiator;

static void on_description(shoal_rtc_peer *p, bool offer, const char *sdp, void *ud)
{
    (void)p, (void)ud;
    say(json_pack("{s:s, s:s}", "type", offer ? "offer" : "answer", "sdp", sdp));
}

static void on_candidate(shoal_rtc_peer *p, const char *candidate, void *ud)
{
    (void)p, (void)ud;
    say(json_pack("{s:s, s:{s:s, s:s, s:i}}", "type", "candidate", "candidate", "candidate",
                  candidate, "sdpMid", "0", "sdpMLineIndex", 0));
}

static void on_open(shoal_rtc_peer *p, void *ud)
{
    (void)ud;
    say(json_pack("{s:s}", "event", "open"));
    if (initiator && shoal_rtc_peer_send(p, (const uint8_t *)"hello", 5, false) != SHOAL_OK)
        abort();
}

static void on_message(shoal_rtc_peer *p, const uint8_t *data, size_t len, bool binary, void *ud)
{
    (void)ud;
    say(json_pack("{s:s, s:s%, s:b}", "event", "message", "data", (const char *)data, len, "binary",
                  binary));
    if (!initiator && shoal_rtc_peer_send(p, data, len, binary) != SHOAL_OK)
        abort();
}

static void on_closed(shoal_rtc_peer *p, int err, void *ud)
{
    (void)p, (void)ud;
    peer = NULL;
    say(json_pack("{s:s, s:s}", "event", "closed", "error", shoal_errname(err)));
    g_main_loop_quit(loop);
}

/* One signal from the other side. */
static void take(const char *line)
{
    json_t *j = json_loads(line, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *sdp = json_string_value(json_object_get(j, "sdp"));
    json_t *cand = json_object_get(j, "candidate");
    int rc = SHOAL_OK;
    if (type && sdp && (strcmp(type, "offer") == 0 || strcmp(type, "answer") == 0))
        rc = shoal_rtc_peer_set_remote(peer, strcmp(type, "offer") == 0, sdp, strlen(sdp));
    else if (cand && json_string_value(json_object_get(cand, "candidate")))
        rc = shoal_rtc_peer_add_candidate(peer,
                                          json_string_value(json_object_get(cand, "candidate")));
    else if (json_is_string(json_object_get(j, "close")) || json_object_get(j, "close"))
        shoal_rtc_peer_close(peer);
    if (rc != SHOAL_OK)
        say(json_pack("{s:s, s:s}", "event", "signal-refused", "error", shoal_errname(rc)));
    json_decref(j);
}

static gboolean on_stdin(GIOChannel *ch, GIOCondition cond, gpointer ud)
{
    (void)cond, (void)ud;
    gchar *line = NULL;
    gsize len;
    GIOStatus st = g_io_channel_read_line(ch, &line, &len, NULL, NULL);
    if (st == G_IO_STATUS_NORMAL && peer)
        take(line);
    g_free(line);
    if (st == G_IO_STATUS_EOF) {
        if (peer)
            shoal_rtc_peer_close(peer);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
    const char *addresses[8] = {NULL};
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--initiator") == 0)
            initiator = true;
        else if (strcmp(argv[i], "--address") == 0 && i + 1 < argc && n < 7)
            addresses[n++] = argv[++i];
    }
    shoal_rtc_config cfg = {.local_addresses = n ? addresses : NULL};
    shoal_rtc *rtc;
    if (shoal_rtc_new(&cfg, &rtc) != SHOAL_OK)
        return 3;
    loop = g_main_loop_new(NULL, FALSE);
    shoal_rtc_callbacks cb = {on_description, on_candidate, on_open, on_message,
                              NULL,           on_closed,    NULL};
    peer = shoal_rtc_peer_new(rtc, initiator, "shoal", NULL, &cb, NULL);
    if (!peer)
        return 3;
    GIOChannel *in = g_io_channel_unix_new(0);
    g_io_add_watch(in, G_IO_IN | G_IO_HUP, on_stdin, NULL);
    g_main_loop_run(loop);
    g_io_channel_unref(in);
    for (int i = 0; i < 10; i++)
        g_main_context_iteration(NULL, FALSE);
    shoal_rtc_free(rtc);
    g_main_loop_unref(loop);
    return 0;
}

/* Benchmarks of WebRTC data channels against the goals of issue 6:
 *   open       from an announce heard to the channel open and the secret handshake done, shoal
 *              to shoal on loopback through a hub: goal p50 <= 100 ms (20 meetings);
 *   throughput one reliable channel shoal to shoal, two processes: goal >= 100 MB/s, beside
 *              libdatachannel (npm node-datachannel) measured in the same run;
 *   memory     50 concurrent peer connections in one process: heap bytes per connection.
 * Usage: bench_rtc NODE_MODULES_DIR [--quick] */
#include "shoal/hub_server.h"
#include "shoal/node.h"
#include "shoal/rtc.h"

#include <glib.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static GMainLoop *loop;
static const char *const loopback[] = {"127.0.0.1", NULL};

static double seconds(void)
{
    return (double)g_get_monotonic_time() / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static gboolean quit(gpointer ud)
{
    (void)ud;
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

/* ---- open: announce heard → connected ------------------------------------------------------- */

static double dial_at, connected_at;

static void meet_log(shoal_node *node, const char *line, void *ud)
{
    (void)node, (void)ud;
    if (strncmp(line, "dialling", 8) == 0 && dial_at == 0)
        dial_at = seconds(); /* the announce was heard and the manager dialled at once */
}

static void meet_connected(shoal_node *node, shoal_node_peer *peer, void *ud)
{
    (void)node, (void)peer, (void)ud;
    if (connected_at == 0) {
        connected_at = seconds();
        g_main_loop_quit(loop);
    }
}

static int stopped;
static void meet_stopped(void *ud)
{
    (void)ud;
    if (++stopped == 2)
        g_main_loop_quit(loop);
}

static double one_meeting(const shoal_hub_addr *hub)
{
    shoal_rtc_config rtc = {.local_addresses = loopback};
    shoal_node_callbacks cb = {.connected = meet_connected, .log = meet_log};
    shoal_keypair keys[2];
    shoal_node *nodes[2];
    for (int i = 0; i < 2; i++) {
        shoal_keypair_generate(&keys[i]);
        shoal_node_config cfg = {.keys = &keys[i], .rtc = &rtc};
        if (shoal_node_new(&cfg, &cb, NULL, &nodes[i]) != SHOAL_OK ||
            shoal_node_add_hub(nodes[i], hub) != SHOAL_OK)
            abort();
    }
    dial_at = connected_at = 0;
    guint guard = g_timeout_add_seconds(20, quit, NULL);
    g_main_loop_run(loop);
    g_source_remove(guard);
    stopped = 0;
    for (int i = 0; i < 2; i++)
        shoal_node_stop(nodes[i], meet_stopped, NULL);
    if (stopped < 2)
        g_main_loop_run(loop);
    for (int i = 0; i < 2; i++)
        shoal_node_free(nodes[i]);
    return connected_at > 0 && dial_at > 0 ? (connected_at - dial_at) * 1000 : 1e9;
}

static void bench_open(int n)
{
    shoal_hub_server_config hcfg;
    shoal_hub_server_config_default(&hcfg);
    hcfg.port = 0;
    shoal_hub_server *hub;
    char *why = NULL;
    if (shoal_hub_server_start(&hub, &hcfg, &why) != SHOAL_OK)
        abort();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", shoal_hub_server_port(hub));
    shoal_hub_addr addr;
    if (shoal_hub_addr_parse(&addr, url, strlen(url), NULL) != SHOAL_OK)
        abort();
    double *ms = g_new(double, (gsize)n);
    for (int i = 0; i < n; i++)
        ms[i] = one_meeting(&addr);
    qsort(ms, (size_t)n, sizeof *ms, by_value);
    double p50 = ms[n / 2], p95 = ms[(n * 95) / 100 < n ? (n * 95) / 100 : n - 1];
    printf("%-58s p50 %7.1f ms  p95 %7.1f ms  goal p50 <= 100 ms  x%.2f\n",
           "announce heard -> channel open + handshake, 2 peers", p50, p95, 100 / p50);
    g_free(ms);
    shoal_hub_server_free(hub);
}

/* ---- throughput: two processes ----------------------------------------------------------------
 */

typedef struct pipe_peer {
    shoal_rtc_peer *peer;
    int fd;        /* signalling to the other process: one line per signal */
    GString *line; /* a line being read */
    bool sender;
    size_t total, moved;
    double start;
} pipe_peer;

static void send_line(pipe_peer *pp, char kind, const char *text)
{
    GString *s = g_string_new(NULL);
    g_string_append_c(s, kind);
    for (const char *c = text; *c; c++) /* one line: escape the SDP's line ends */
        if (*c == '\r')
            g_string_append(s, "\\r");
        else if (*c == '\n')
            g_string_append(s, "\\n");
        else
            g_string_append_c(s, *c);
    g_string_append_c(s, '\n');
    if (write(pp->fd, s->str, s->len) != (ssize_t)s->len)
        abort();
    g_string_free(s, TRUE);
}

static void tp_description(shoal_rtc_peer *p, bool offer, const char *sdp, void *ud)
{
    (void)p;
    send_line(ud, offer ? 'o' : 'a', sdp);
}

static void tp_candidate(shoal_rtc_peer *p, const char *candidate, void *ud)
{
    (void)p;
    send_line(ud, 'c', candidate);
}

static void tp_pump(pipe_peer *pp)
{
    static uint8_t block[65536];
    while (pp->moved < pp->total) {
        int rc = shoal_rtc_peer_send(pp->peer, block, sizeof block, true);
        if (rc == SHOAL_E_RTC_BUFFER_FULL)
            return; /* `writable` comes back */
        if (rc != SHOAL_OK)
            abort();
        pp->moved += sizeof block;
    }
}

static void tp_open(shoal_rtc_peer *p, void *ud)
{
    (void)p;
    pipe_peer *pp = ud;
    pp->start = seconds();
    if (pp->sender)
        tp_pump(pp);
}

static void tp_message(shoal_rtc_peer *p, const uint8_t *data, size_t len, bool binary, void *ud)
{
    (void)p, (void)data, (void)binary;
    pipe_peer *pp = ud;
    pp->moved += len;
    if (pp->moved >= pp->total) {
        send_line(pp, 'd', "done");
        g_main_loop_quit(loop);
    }
}

static void tp_writable(shoal_rtc_peer *p, void *ud)
{
    (void)p;
    tp_pump(ud);
}

static void tp_closed(shoal_rtc_peer *p, int err, void *ud)
{
    (void)p, (void)err;
    ((pipe_peer *)ud)->peer = NULL;
}

static gboolean on_signal_line(GIOChannel *ch, GIOCondition cond, gpointer ud)
{
    (void)ch, (void)cond;
    pipe_peer *pp = ud;
    char buf[4096];
    ssize_t n = read(pp->fd, buf, sizeof buf);
    if (n <= 0)
        return G_SOURCE_REMOVE;
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] != '\n') {
            g_string_append_c(pp->line, buf[i]);
            continue;
        }
        GString *text = g_string_new(NULL);
        for (const char *c = pp->line->str + 1; *c; c++)
            if (c[0] == '\\' && c[1] == 'r')
                g_string_append_c(text, '\r'), c++;
            else if (c[0] == '\\' && c[1] == 'n')
                g_string_append_c(text, '\n'), c++;
            else
                g_string_append_c(text, *c);
        switch (pp->line->str[0]) {
        case 'o':
        case 'a':
            if (shoal_rtc_peer_set_remote(pp->peer, pp->line->str[0] == 'o', text->str,
                                          text->len) != SHOAL_OK)
                abort();
            break;
        case 'c':
            if (shoal_rtc_peer_add_candidate(pp->peer, text->str) != SHOAL_OK)
                abort();
            break;
        case 'd':
            g_main_loop_quit(loop);
            break;
        }
        g_string_free(text, TRUE);
        g_string_truncate(pp->line, 0);
    }
    return G_SOURCE_CONTINUE;
}

/* One side of the throughput run; returns the seconds from open to the receiver's last byte. */
static double throughput_side(int fd, bool sender, size_t total)
{
    static const shoal_rtc_callbacks cb = {tp_description, tp_candidate, tp_open, tp_message,
                                           tp_writable,    tp_closed,    NULL};
    shoal_rtc_config cfg = {.local_addresses = loopback};
    shoal_rtc *rtc;
    if (shoal_rtc_new(&cfg, &rtc) != SHOAL_OK)
        abort();
    pipe_peer pp = {.fd = fd, .line = g_string_new(NULL), .sender = sender, .total = total};
    GIOChannel *ch = g_io_channel_unix_new(fd);
    guint watch = g_io_add_watch(ch, G_IO_IN | G_IO_HUP, on_signal_line, &pp);
    pp.peer = shoal_rtc_peer_new(rtc, sender, "bench", NULL, &cb, &pp);
    guint guard = g_timeout_add_seconds(120, quit, NULL);
    g_main_loop_run(loop);
    double took = seconds() - pp.start;
    g_source_remove(guard);
    g_source_remove(watch);
    if (pp.peer)
        shoal_rtc_peer_close(pp.peer);
    while (pp.peer)
        g_main_context_iteration(NULL, TRUE);
    g_io_channel_unref(ch);
    g_string_free(pp.line, TRUE);
    shoal_rtc_free(rtc);
    return took;
}

static double bench_throughput(size_t mib)
{
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
        abort();
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        loop = g_main_loop_new(NULL, FALSE);
        throughput_side(fds[1], false, mib << 20);
        _exit(0);
    }
    close(fds[1]);
    double took = throughput_side(fds[0], true, mib << 20);
    int status;
    waitpid(child, &status, 0);
    close(fds[0]);
    return (double)(mib << 20) / 1e6 / took;
}

static double node_datachannel(const char *modules, size_t mib)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "node '%s/../../../bench/node_datachannel.js' '%s' %zu", modules,
             modules, mib);
    FILE *p = popen(cmd, "r");
    double mbs = 0;
    if (p && fscanf(p, "{\"mb_per_second\":%lf}", &mbs) != 1)
        mbs = 0;
    if (p)
        pclose(p);
    return mbs;
}

/* ---- memory: 50 connections in one process ------------------------------------------------ */

typedef struct mem_side {
    shoal_rtc_peer *peer;
    struct mem_side *other;
    bool open;
} mem_side;

static int opened;

static void mem_description(shoal_rtc_peer *p, bool offer, const char *sdp, void *ud)
{
    (void)p;
    mem_side *s = ud;
    if (shoal_rtc_peer_set_remote(s->other->peer, offer, sdp, strlen(sdp)) != SHOAL_OK)
        abort();
}

static void mem_candidate(shoal_rtc_peer *p, const char *candidate, void *ud)
{
    (void)p;
    mem_side *s = ud;
    if (s->other->peer && shoal_rtc_peer_add_candidate(s->other->peer, candidate) != SHOAL_OK)
        abort();
}

static void mem_open(shoal_rtc_peer *p, void *ud)
{
    (void)p;
    ((mem_side *)ud)->open = true;
    opened++;
}

static void mem_closed(shoal_rtc_peer *p, int err, void *ud)
{
    (void)p, (void)err;
    ((mem_side *)ud)->peer = NULL;
}

/* Heap in use (glibc's count of allocated bytes, mmapped blocks included): RSS would hide
 * memory freed by the benchmarks before and reused here. */
static long heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (long)(mi.uordblks + mi.hblkhd);
}

static void bench_memory(int connections)
{
    static const shoal_rtc_callbacks cb = {mem_description, mem_candidate, mem_open, NULL, NULL,
                                           mem_closed,      NULL};
    shoal_rtc_config cfg = {.local_addresses = loopback};
    shoal_rtc *rtc;
    if (shoal_rtc_new(&cfg, &rtc) != SHOAL_OK)
        abort();
    int pairs = connections / 2;
    mem_side *sides = g_new0(mem_side, (gsize)connections);
    long before = heap_bytes();
    opened = 0;
    for (int i = 0; i < pairs; i++) {
        mem_side *a = &sides[2 * i], *b = &sides[2 * i + 1];
        a->other = b;
        b->other = a;
        b->peer = shoal_rtc_peer_new(rtc, false, NULL, NULL, &cb, b);
        a->peer = shoal_rtc_peer_new(rtc, true, "m", NULL, &cb, a);
    }
    double deadline = seconds() + 30;
    while (opened < connections && seconds() < deadline)
        g_main_context_iteration(NULL, TRUE);
    long after = heap_bytes();
    printf("%-58s %d open   %6.1f KiB of heap each\n", "concurrent peer connections, one process",
           opened, (double)(after - before) / connections / 1024);
    for (int i = 0; i < connections; i++)
        if (sides[i].peer)
            shoal_rtc_peer_close(sides[i].peer);
    for (bool busy = true; busy;) {
        busy = false;
        for (int i = 0; i < connections; i++)
            busy |= sides[i].peer != NULL;
        if (busy)
            g_main_context_iteration(NULL, TRUE);
    }
    for (int i = 0; i < 10; i++)
        g_main_context_iteration(NULL, FALSE);
    g_free(sides);
    shoal_rtc_free(rtc);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_rtc NODE_MODULES_DIR [--quick]\n");
        return 2;
    }
    bool quick = argc > 2 && strcmp(argv[2], "--quick") == 0;
    signal(SIGPIPE, SIG_IGN);
    loop = g_main_loop_new(NULL, FALSE);
    bench_open(quick ? 3 : 20);
    size_t mib = quick ? 8 : 200;
    double shoal_mbs = bench_throughput(mib);
    double ndc_mbs = node_datachannel(argv[1], mib);
    printf("%-58s %7.1f MB/s  goal 100 MB/s  x%.2f   libdatachannel %6.1f MB/s  x%.2f\n",
           "one reliable channel, 64 KiB messages, two processes", shoal_mbs, shoal_mbs / 100,
           ndc_mbs, ndc_mbs > 0 ? shoal_mbs / ndc_mbs : 0);
    bench_memory(quick ? 10 : 50);
    g_main_loop_unref(loop);
    return ndc_mbs > 0 ? 0 : 1;
}

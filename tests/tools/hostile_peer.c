/* A crowd of hostile strangers against a shoal daemon's net: port, for the hostile-peer tests
 * and bench/bench_peer_hostile.py. Each connection has a fresh key pair and the main network
 * key, as anyone's would. The attacks:
 *   history N FEED   N connections, each asks for FEED's whole history and never reads a byte
 *   live N M FEED    N connections, each opens M live streams of FEED and never reads a byte
 *   idle N           N connections that complete the handshake, then say nothing (what comes is
 *                    read and dropped: to the daemon they are silent)
 *   mute N           N TCP connections that never say a word (no handshake)
 * It prints {"event":"ready","handshakes":H,"failed":F} once every connection is through its
 * handshake (or failed, or 30 s passed), then holds them until SIGTERM or SIGINT, and prints
 * {"event":"done","closed":C}: how many the daemon closed (seen only where we read).
 * Usage: hostile-peer HOST PORT @DAEMON_ID ATTACK N [M] [FEED_ID] */
#include "shoal/link.h"
#include "shoal/ref.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef enum attack { HISTORY, LIVE, IDLE, MUTE } attack;

typedef struct conn {
    int fd;
    shoal_link *link;
    bool established, asked, closed, failed;
} conn;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(const char *host, uint16_t port, bool small_window)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (small_window) { /* what we never read fills this, then the daemon's send buffer */
        int small = 4096;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
        (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Writes what the link has to say, as far as the socket takes it. */
static void flush(conn *c)
{
    size_t len;
    const uint8_t *out;
    while ((out = shoal_link_output(c->link, &len)) && len) {
        ssize_t k = write(c->fd, out, len);
        if (k <= 0) {
            if (k < 0 && errno != EAGAIN)
                c->failed = true;
            return;
        }
        shoal_link_drain(c->link, (size_t)k);
    }
}

/* The attack's calls, once the handshake is done. */
static void ask(conn *c, attack what, long m, const char *feed)
{
    c->asked = true;
    if (what != HISTORY && what != LIVE)
        return;
    char args[200];
    snprintf(args, sizeof args, "[{\"id\":\"%s\",\"live\":%s,\"old\":%s}]", feed,
             what == LIVE ? "true" : "false", what == LIVE ? "false" : "true");
    for (long i = 0; i < (what == LIVE ? m : 1); i++) {
        json_t *j = json_loads(args, 0, NULL);
        int32_t id;
        (void)!shoal_rpc_call(shoal_link_rpc(c->link), SHOAL_RPC_SOURCE, "createHistoryStream", j,
                              NULL, NULL, &id);
        json_decref(j);
    }
}

static short events_of(const conn *c, attack what)
{
    size_t len;
    if (c->closed || c->failed || what == MUTE)
        return 0;
    short ev = shoal_link_output(c->link, &len) && len ? POLLOUT : 0;
    /* reading: during the handshake, and for ever when idle; the others never read again */
    if (!c->established || what == IDLE)
        ev |= POLLIN;
    return ev;
}

/* Bytes arrived: fed to the link during the handshake, dropped after. */
static void readable(conn *c, attack what, long m, const char *feed)
{
    uint8_t buf[65536];
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN)) {
        c->closed = true;
        return;
    }
    if (n < 0 || c->established)
        return;
    long k = shoal_link_input(c->link, buf, (size_t)n);
    if (k < 0) {
        c->failed = true;
        return;
    }
    if (shoal_link_established(c->link)) {
        c->established = true;
        ask(c, what, m, feed);
    }
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: hostile-peer HOST PORT @DAEMON_ID ATTACK N [M] [FEED_ID]\n");
        return 2;
    }
    const char *host = argv[1];
    uint16_t port = (uint16_t)atoi(argv[2]);
    shoal_ref daemon;
    if (shoal_ref_parse(&daemon, argv[3], strlen(argv[3]), NULL) != SHOAL_OK ||
        daemon.kind != SHOAL_REF_FEED) {
        fprintf(stderr, "hostile-peer: %s is not a feed id\n", argv[3]);
        return 2;
    }
    attack what = strcmp(argv[4], "history") == 0 ? HISTORY
                  : strcmp(argv[4], "live") == 0  ? LIVE
                  : strcmp(argv[4], "idle") == 0  ? IDLE
                                                  : MUTE;
    long n = atol(argv[5]), m = what == LIVE && argc > 6 ? atol(argv[6]) : 0;
    const char *feed = what == HISTORY ? argv[6] : what == LIVE ? argv[7] : NULL;
    if (n < 1 || (what == MUTE && strcmp(argv[4], "mute") != 0) ||
        ((what == HISTORY || what == LIVE) && !feed) || (what == LIVE && m < 1)) {
        fprintf(stderr, "hostile-peer: bad attack\n");
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    conn *conns = calloc((size_t)n, sizeof *conns);
    struct pollfd *pfd = calloc((size_t)n, sizeof *pfd);
    if (!conns || !pfd)
        return 1;
    for (long i = 0; i < n; i++) {
        conn *c = &conns[i];
        c->fd = dial(host, port, what == HISTORY || what == LIVE);
        c->failed = c->fd < 0;
        if (what != MUTE && !c->failed) {
            uint8_t seed[32];
            shoal_keypair keys;
            randombytes_buf(seed, sizeof seed);
            shoal_keypair_from_seed(&keys, seed);
            /* as many calls open as it likes: its own session must not bound the attack */
            shoal_link_config lc = {.rpc = {.max_calls = 1u << 20}};
            c->link = shoal_link_new(&keys, daemon.key, &lc);
        }
    }
    bool ready = false; /* mute connections are "through" once dialled */
    double began = now_s();
    while (!stop) {
        long handshakes = 0, failed = 0;
        for (long i = 0; i < n; i++) {
            handshakes += conns[i].established;
            failed += conns[i].failed || (!conns[i].established && conns[i].closed);
        }
        if (!ready && (what == MUTE || handshakes + failed == n || now_s() - began > 30)) {
            ready = true;
            printf("{\"event\":\"ready\",\"handshakes\":%ld,\"failed\":%ld}\n", handshakes, failed);
            fflush(stdout);
        }
        for (long i = 0; i < n; i++)
            pfd[i] = (struct pollfd){.fd = conns[i].failed || conns[i].closed ? -1 : conns[i].fd,
                                     .events = events_of(&conns[i], what)};
        if (poll(pfd, (nfds_t)n, 200) < 0 && errno != EINTR)
            break;
        for (long i = 0; i < n; i++) {
            conn *c = &conns[i];
            if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
                readable(c, what, m, feed);
            if (!c->closed && !c->failed && c->link && (pfd[i].revents & POLLOUT))
                flush(c);
        }
    }
    /* a last look at those we read: an end that came just before the signal is counted */
    for (long i = 0; i < n; i++) {
        conn *c = &conns[i];
        struct pollfd one = {.fd = c->fd, .events = POLLIN};
        for (int k = 0; k < 16 && what == IDLE && c->established && !c->closed && !c->failed &&
                        poll(&one, 1, 0) > 0;
             k++)
            readable(c, what, m, feed);
    }
    long closed = 0;
    for (long i = 0; i < n; i++) {
        closed += conns[i].closed;
        if (conns[i].fd >= 0)
            close(conns[i].fd);
        shoal_link_free(conns[i].link);
    }
    printf("{\"event\":\"done\",\"closed\":%ld}\n", closed);
    free(conns);
    free(pfd);
    return 0;
}

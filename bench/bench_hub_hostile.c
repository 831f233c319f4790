/* The hub under hostile load: does it keep serving everyone else?
 *
 * One `shoal hub` with its default limits. Honest clients on 127.0.0.1 — 20 subscribers of one
 * channel and a sender that broadcasts a timestamp every 20 ms on a keep-alive connection —
 * measure broadcast-to-delivery latency and what share of broadcasts arrive, first alone (the
 * anchor), then during each attack in turn, from other loopback addresses:
 *   slowloris  2,000 connections (8 addresses) that trickle a request head, a byte every 500 ms;
 *   idle       10,000 connections (40 addresses) that connect and say nothing;
 *   oversized  8 connections that keep posting 1 MiB bodies (the limit is 64 KiB);
 *   flood      one address that opens 1,000 connections and posts as fast as the hub answers.
 * Each phase lasts long enough (12 s) for the hub's request timeout (10 s) to act. For each: the
 * honest p50/p99 and delivered share against the anchor, what the hub answered the attackers
 * (408, 413, 429, closes), and the hub's CPU and memory. One epoll loop, non-blocking sockets.
 * Usage: bench_hub_hostile SHOAL_BINARY [--quick] */
#include "hubbench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum role { SUB, SENDER, SLOW, IDLE, BIG, FLOOD };

typedef struct sock {
    int fd;
    uint32_t from; /* its source address */
    enum role role;
    bool open;
    double opened, next; /* when it connected; when it acts next */
    char tail[16];       /* the last bytes read, for matches split between reads */
    int in_flight;       /* FLOOD, SENDER: requests sent and not yet answered */
} sock;

typedef struct counts {
    uint64_t answers[6]; /* by status class */
    uint64_t s408, s413, s429, closed_by_hub, refused, flood_posts;
    double held_sum; /* seconds attackers were held before the hub closed them */
} counts;

static sock *socks;
static int nsocks, cap_socks, ep, port;
static counts tally;
static double *lat;
static size_t nlat, cap_lat;
static uint64_t sent_broadcasts;

/* A non-blocking connection to the hub from 127.x.y.z; -1 when refused at once. */
static int open_from(uint32_t from, enum role role, double now)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket (raise the open-file limit)");
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(from)};
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&me, sizeof me) != 0)
        die("bind");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in hub = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&hub, sizeof hub) != 0 && errno != EINPROGRESS) {
        close(fd);
        tally.refused++;
        return -1;
    }
    if (nsocks == cap_socks) {
        cap_socks = cap_socks ? 2 * cap_socks : 1024;
        socks = realloc(socks, sizeof *socks * (size_t)cap_socks);
    }
    socks[nsocks] =
        (sock){.fd = fd, .from = from, .role = role, .open = true, .opened = now, .next = now};
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = (uint32_t)nsocks};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    return nsocks++;
}

/* Writes what fits; an attacker's socket the hub stopped reading just loses the rest. */
static void say(sock *s, const char *text, size_t len)
{
    if (s->open && write(s->fd, text, len) < 0 && errno != EAGAIN)
        s->open = false;
}

/* The hub closed it. An oversized poster comes back at once (`s` may move: not used after). */
static void finish(sock *s, double now)
{
    if (s->role != SUB && s->role != SENDER) {
        tally.closed_by_hub++;
        tally.held_sum += now - s->opened;
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    s->open = false;
    if (s->role == BIG)
        open_from(s->from, BIG, now);
}

/* Counts the answers ("HTTP/1.1 NNN") and, for subscribers, the events with their latency. */
static void on_readable(sock *s, double now)
{
    char buf[65536 + 16];
    for (;;) {
        memcpy(buf, s->tail, 16);
        ssize_t r = read(s->fd, buf + 16, sizeof buf - 16);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            finish(s, now);
            return;
        }
        if (r < 0)
            return;
        char *end = buf + 16 + r;
        for (char *p = buf; (p = memmem(p, (size_t)(end - p), "HTTP/1.1 ", 9)) && p + 12 <= end;
             p += 9) {
            if (p + 9 <= buf + 16)
                continue; /* counted by the read before */
            int code = atoi(p + 9);
            tally.answers[code / 100 % 6]++;
            tally.s408 += code == 408;
            tally.s413 += code == 413;
            tally.s429 += code == 429;
            if (s->in_flight > 0)
                s->in_flight--;
        }
        if (s->role == SUB)
            for (char *p = buf; (p = memmem(p, (size_t)(end - p), "data: T", 7)); p += 7)
                if (p + 7 > buf + 16 && nlat < cap_lat)
                    lat[nlat++] = now - strtod(p + 7, NULL);
        memcpy(s->tail, end - 16, 16);
    }
}

static void act(sock *s, double now)
{
    static char junk[65536];
    char req[256];
    switch (s->role) {
    case SENDER:
        if (s->in_flight < 4) {
            char body[40];
            int b = snprintf(body, sizeof body, "T%.9f", now);
            int n = snprintf(req, sizeof req,
                             "POST /v1/bench/honest HTTP/1.1\r\nHost: x\r\nContent-Length: "
                             "%d\r\n\r\n%s",
                             b, body);
            say(s, req, (size_t)n);
            s->in_flight++;
            sent_broadcasts++;
        }
        s->next = now + 0.02;
        break;
    case SLOW: { /* one more byte of a head that never ends */
        static const char head[] = "GET /v1/bench/slow HTTP/1.1\r\nHost: x\r\nX-a: ";
        size_t at = (size_t)((now - s->opened) / 0.5);
        say(s, at < sizeof head - 1 ? head + at : "a", 1);
        s->next = now + 0.5;
        break;
    }
    case BIG: {
        if (s->in_flight == 0) {
            static const char head[] = "POST /v1/bench/big HTTP/1.1\r\nHost: x\r\n"
                                       "Content-Length: 1048576\r\n\r\n";
            say(s, head, sizeof head - 1);
            s->in_flight = 1;
        }
        say(s, junk, sizeof junk);
        s->next = now + 0.001;
        break;
    }
    case FLOOD:
        while (s->in_flight < 16 && s->open) {
            static const char post[] = "POST /v1/bench/flood HTTP/1.1\r\nHost: x\r\n"
                                       "Content-Length: 5\r\n\r\nflood";
            say(s, post, sizeof post - 1);
            s->in_flight++;
            tally.flood_posts++;
        }
        s->next = now + 0.001;
        break;
    default:
        s->next = now + 3600;
    }
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct attack {
    const char *name;
    enum role role;
    int addresses, per_address; /* from 127.0.<phase>.1 … */
} attack;

/* One phase: the honest clients, and the attack if any, for `seconds`. */
static void phase(server *hub, const attack *a, int phase_no, double seconds, double *anchor_p99)
{
    nsocks = 0;
    memset(&tally, 0, sizeof tally);
    nlat = 0;
    sent_broadcasts = 0;
    double t0 = now_s();
    for (int i = 0; i < 20; i++) {
        int k = open_from(INADDR_LOOPBACK, SUB, t0);
        static const char sub[] = "GET /v1/bench/honest HTTP/1.1\r\nHost: x\r\n\r\n";
        usleep(1000); /* connected by now, on loopback */
        say(&socks[k], sub, sizeof sub - 1);
    }
    usleep(200000);
    int sender = open_from(INADDR_LOOPBACK, SENDER, t0);
    (void)sender;
    for (int i = 0; a && i < a->addresses; i++)
        for (int j = 0; j < a->per_address; j++)
            open_from((127u << 24) | ((uint32_t)(phase_no + 1) << 8) | (uint32_t)(i + 1), a->role,
                      now_s());
    long rss0 = rss_kib(hub->pid), rss_peak = rss0;
    double cpu0 = cpu_of(hub->pid), start = now_s(), end = start + seconds, next_rss = start;
    memset(&tally, 0, sizeof tally); /* what the attack met, from here on */
    uint64_t broadcasts0 = sent_broadcasts;
    nlat = 0;
    while (now_s() < end) {
        struct epoll_event evs[512];
        int n = epoll_wait(ep, evs, 512, 1);
        double now = now_s();
        for (int i = 0; i < n; i++) {
            sock *s = &socks[evs[i].data.u32];
            if (s->open)
                on_readable(s, now);
        }
        for (int i = 0; i < nsocks; i++)
            if (socks[i].open && socks[i].next <= now)
                act(&socks[i], now);
        if (now >= next_rss) { /* the hub's memory, sampled: /proc is no free read */
            long rss = rss_kib(hub->pid);
            rss_peak = rss > rss_peak ? rss : rss_peak;
            next_rss = now + 0.1;
        }
    }
    double until = now_s() + 0.5; /* the last broadcasts' deliveries */
    while (now_s() < until) {
        struct epoll_event evs[512];
        int n = epoll_wait(ep, evs, 512, 10);
        for (int i = 0; i < n; i++)
            if (socks[evs[i].data.u32].open)
                on_readable(&socks[evs[i].data.u32], now_s());
    }
    uint64_t broadcasts = sent_broadcasts - broadcasts0, want = 20 * broadcasts;
    qsort(lat, nlat, sizeof *lat, by_value);
    double p50 = nlat ? lat[nlat / 2] * 1e3 : 0, p99 = nlat ? lat[nlat * 99 / 100] * 1e3 : 0;
    if (!a)
        *anchor_p99 = p99;
    printf("%-10s honest: p50 %.2f ms, p99 %.2f ms (%.2fx the anchor's), %.1f%% of %llu "
           "broadcasts delivered to 20 subscribers\n",
           a ? a->name : "anchor", p50, p99, *anchor_p99 > 0 ? p99 / *anchor_p99 : 1.0,
           want ? 100.0 * (double)nlat / (double)want : 0, (unsigned long long)broadcasts);
    if (a) {
        uint64_t attackers = (uint64_t)a->addresses * (uint64_t)a->per_address;
        printf("           attack: %llu connections; the hub answered 408 x%llu, 413 x%llu, "
               "429 x%llu and closed %llu (held %.1f s on average); refused at connect %llu",
               (unsigned long long)attackers, (unsigned long long)tally.s408,
               (unsigned long long)tally.s413, (unsigned long long)tally.s429,
               (unsigned long long)tally.closed_by_hub,
               tally.closed_by_hub ? tally.held_sum / (double)tally.closed_by_hub : 0.0,
               (unsigned long long)tally.refused);
        if (a->role == FLOOD)
            printf("; flood posts sent %llu, answered 2xx %llu",
                   (unsigned long long)tally.flood_posts, (unsigned long long)tally.answers[2]);
        printf("\n");
    }
    printf("           hub: cpu %.2f s over %.0f s, RSS %ld -> %ld KiB\n", cpu_of(hub->pid) - cpu0,
           seconds, rss0, rss_peak);
    fflush(stdout);
    for (int i = 0; i < nsocks; i++)
        if (socks[i].open) {
            epoll_ctl(ep, EPOLL_CTL_DEL, socks[i].fd, NULL);
            close(socks[i].fd);
        }
    usleep(500000); /* the hub lets them go */
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_hub_hostile SHOAL_BINARY [--quick]\n");
        return 2;
    }
    bool quick = argc > 2 && strcmp(argv[2], "--quick") == 0;
    prepare_process();
    char *hub_argv[] = {argv[1], "hub", "--listen", "127.0.0.1:0", NULL}; /* default limits */
    server hub = start("shoal", hub_argv, true);
    port = hub.port;
    ep = epoll_create1(0);
    cap_lat = 20 * 2000;
    lat = malloc(sizeof *lat * cap_lat);
    int scale = quick ? 20 : 1;
    const attack attacks[] = {
        {"slowloris", SLOW, 8, 250 / scale},
        {"idle", IDLE, 40, 250 / scale},
        {"oversized", BIG, 8, 1},
        {"flood", FLOOD, 1, 1000 / scale},
    };
    double seconds = quick ? 1 : 12, anchor = 0;
    printf("shoal hub, default limits; honest clients on 127.0.0.1, attackers from other "
           "loopback addresses; %.0f s a phase\n",
           seconds);
    phase(&hub, NULL, 0, seconds, &anchor);
    for (size_t i = 0; i < sizeof attacks / sizeof *attacks; i++)
        phase(&hub, &attacks[i], (int)i + 1, seconds, &anchor);
    stop(&hub);
    free(lat);
    free(socks);
    return 0;
}

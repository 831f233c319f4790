/* Benchmarks of the signal hub against the npm signalhub server, in the same run, with the same
 * load generator (this program: one epoll loop, plain sockets):
 *   fanout    events delivered per second with 1,000 subscribers on one channel;
 *   latency   broadcast-to-delivery p50 and p99 with 100 subscribers;
 *   hold      10,000 concurrent subscribers, and memory per idle subscriber (hub RSS growth);
 *   scale-out fanout with two shoal hubs sharing broadcasts through a redis-server, the
 *             subscribers split between them, against one shoal hub (medians of three turns).
 * The generator's and each server's CPU time are printed beside each figure, so that a
 * saturated generator would show.
 * Usage: bench_hub SHOAL_BINARY NODE_MODULES_DIR [--quick] */
#include "hubbench.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* The last bytes each subscriber read, so that a "data: " split between two reads counts. */
static char (*tails)[8];

/* Opens n subscriptions to app/bench, spread over the ports given in turn; returns their
 * sockets (non-blocking, in `ep`). */
static int *subscribe(const int *ports, int nports, int n, int ep)
{
    int *fds = malloc(sizeof *fds * (size_t)n);
    free(tails);
    tails = calloc((size_t)n, sizeof *tails);
    static const char req[] = "GET /v1/app/bench HTTP/1.1\r\nHost: x\r\n\r\n";
    for (int i = 0; i < n; i++) {
        fds[i] = dial(ports[i % nports]);
        send_all(fds[i], req, sizeof req - 1);
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    return fds;
}

/* Reads everything ready; returns the events ("data: " lines) found. With `lat`, each event's
 * body is a send time ("T<seconds>"), and its latency is recorded. */
static uint64_t drain(int ep, int *fds, int timeout_ms, double *lat, size_t *nlat, size_t cap)
{
    struct epoll_event evs[256];
    uint64_t events = 0;
    int n = epoll_wait(ep, evs, 256, timeout_ms);
    for (int i = 0; i < n; i++) {
        uint32_t k = evs[i].data.u32;
        char buf[65536 + 8];
        for (;;) {
            memcpy(buf, tails[k], 8);
            ssize_t r = read(fds[k], buf + 8, sizeof buf - 8);
            if (r <= 0)
                break;
            double t = now_s();
            char *end = buf + 8 + r;
            for (char *p = buf; (p = memmem(p, (size_t)(end - p), "data: ", 6)); p += 6) {
                if (p + 6 <= buf + 8)
                    continue; /* wholly inside the tail: counted by the last read */
                events++;
                if (lat && *nlat < cap && p + 7 < end && p[6] == 'T')
                    lat[(*nlat)++] = t - strtod(p + 7, NULL);
            }
            memcpy(tails[k], end - 8, 8);
        }
    }
    return events;
}

/* k pipelined keep-alive POSTs, then their k answers. */
static void post_batch(int fd, const char *body, size_t len, int k)
{
    char one[512];
    int h = snprintf(one, sizeof one,
                     "POST /v1/app/bench HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n\r\n%.*s",
                     len, (int)len, body);
    for (int i = 0; i < k; i++)
        send_all(fd, one, (size_t)h);
    int answers = 0;
    char buf[65536];
    size_t keep = 0;
    while (answers < k) {
        ssize_t r = read(fd, buf + keep, sizeof buf - keep - 1);
        if (r <= 0)
            die("read answer");
        size_t n = keep + (size_t)r;
        buf[n] = '\0';
        for (char *p = buf; (p = strstr(p, "HTTP/1.1 ")); p += 9)
            answers++;
        /* Keep a tail in case a status line was split between reads. */
        keep = n > 8 ? 8 : n;
        memmove(buf, buf + n - keep, keep);
    }
}

static void post(int fd, const char *body, size_t len)
{
    post_batch(fd, body, len, 1);
}

static void close_all(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
}

/* ---- The three measurements ---- */

/* Events delivered per second with `subs` subscribers spread over the hubs of `group` (one
 * hub, or several sharing broadcasts), every broadcast posted to the first; returns the rate. */
static double fanout(server *group, int nhubs, int subs, int posts)
{
    server *s = &group[0];
    int ports[4];
    for (int i = 0; i < nhubs; i++)
        ports[i] = group[i].port;
    int ep = epoll_create1(0);
    int *fds = subscribe(ports, nhubs, subs, ep);
    usleep(500000);
    while (drain(ep, fds, 100, NULL, NULL, 0) > 0)
        ;
    char body[100];
    memset(body, 'x', sizeof body);
    int pub = dial(s->port);
    double cpu0[4], self0 = self_cpu(), t0 = now_s();
    for (int i = 0; i < nhubs; i++)
        cpu0[i] = cpu_of(group[i].pid);
    uint64_t got = 0, want = (uint64_t)subs * (uint64_t)posts;
    /* Broadcasts go out 10 at a time, pipelined on one keep-alive connection. */
    for (int i = 0; i < posts; i += 10) {
        post_batch(pub, body, sizeof body, 10);
        got += drain(ep, fds, 0, NULL, NULL, 0);
    }
    double deadline = now_s() + 30;
    while (got < want && now_s() < deadline)
        got += drain(ep, fds, 100, NULL, NULL, 0);
    double dt = now_s() - t0;
    double events = (double)got;
    printf("  %-9s %9.0f events/s  (%d subscribers, %d broadcasts, %.0f%% delivered in %.2f s; "
           "server cpu",
           s->name, events / dt, subs, posts, 100.0 * (double)got / (double)want, dt);
    for (int i = 0; i < nhubs; i++)
        printf(" %.2f s", cpu_of(group[i].pid) - cpu0[i]);
    printf(", generator cpu %.2f s)\n", self_cpu() - self0);
    close(pub);
    close_all(fds, subs);
    close(ep);
    fflush(stdout);
    return events / dt;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void latency(server *s, int subs, int posts)
{
    int ep = epoll_create1(0);
    int *fds = subscribe(&s->port, 1, subs, ep);
    usleep(300000);
    while (drain(ep, fds, 100, NULL, NULL, 0) > 0)
        ;
    int pub = dial(s->port);
    size_t cap = (size_t)subs * (size_t)posts, n = 0;
    double *lat = malloc(sizeof *lat * cap);
    for (int i = 0; i < posts; i++) {
        char body[64];
        int len = snprintf(body, sizeof body, "T%.9f", now_s());
        post(pub, body, (size_t)len);
        double until = now_s() + 0.02;
        while (now_s() < until)
            drain(ep, fds, 1, lat, &n, cap);
    }
    double until = now_s() + 1;
    while (n < cap && now_s() < until)
        drain(ep, fds, 10, lat, &n, cap);
    qsort(lat, n, sizeof *lat, by_value);
    printf("  %-9s p50 %.3f ms, p99 %.3f ms  (%d subscribers, %d broadcasts, %zu deliveries)\n",
           s->name, n ? lat[n / 2] * 1e3 : 0, n ? lat[n * 99 / 100] * 1e3 : 0, subs, posts, n);
    free(lat);
    close(pub);
    close_all(fds, subs);
    close(ep);
    fflush(stdout);
}

static void hold(server *s, int subs)
{
    long before = rss_kib(s->pid);
    int ep = epoll_create1(0);
    int *fds = subscribe(&s->port, 1, subs, ep);
    double until = now_s() + 3;
    while (now_s() < until)
        drain(ep, fds, 100, NULL, NULL, 0);
    long after = rss_kib(s->pid);
    /* Are they all still there? A broadcast must reach every one. */
    int pub = dial(s->port);
    post(pub, "x", 1);
    uint64_t got = 0;
    until = now_s() + 10;
    while (got < (uint64_t)subs && now_s() < until)
        got += drain(ep, fds, 100, NULL, NULL, 0);
    printf("  %-9s %d subscribers held (a broadcast reached %.0f%%); %.1f KiB per idle "
           "subscriber (RSS %ld -> %ld KiB)\n",
           s->name, subs, 100.0 * (double)got / (double)subs, (double)(after - before) / subs,
           before, after);
    close(pub);
    close_all(fds, subs);
    close(ep);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_hub SHOAL_BINARY NODE_MODULES_DIR [--quick]\n");
        return 2;
    }
    bool quick = argc > 3 && strcmp(argv[3], "--quick") == 0;
    prepare_process();
    char bin[4096];
    snprintf(bin, sizeof bin, "%s/signalhub/bin.js", argv[2]);
    char *shoal_argv[] = {argv[1],  "hub",        "--listen", "127.0.0.1:0", "--max-per-address",
                          "100000", "--max-rate", "0",        NULL};
    char *node_argv[] = {"node", bin, "listen", "-p", "0", "-h", "127.0.0.1", "-q", NULL};
    server servers[2] = {start("shoal", shoal_argv, true), start("signalhub", node_argv, false)};

    int subs = quick ? 50 : 1000, posts = quick ? 20 : 2000;
    printf("fanout: events delivered per second, one channel\n");
    for (int i = 0; i < 2; i++)
        fanout(&servers[i], 1, subs, posts);
    printf("latency: broadcast to delivery\n");
    for (int i = 0; i < 2; i++)
        latency(&servers[i], quick ? 10 : 100, quick ? 20 : 500);
    printf("hold: concurrent idle subscribers\n");
    for (int i = 0; i < 2; i++)
        hold(&servers[i], quick ? 200 : 10000);
    for (int i = 0; i < 2; i++)
        stop(&servers[i]);

    /* Scale-out: two shoal hubs sharing broadcasts through a redis-server, the subscribers
     * split between them, every broadcast posted to the first; against one hub alone, in turns,
     * three times each (the medians). */
    int redis_port = free_port();
    char port_arg[16], redis_arg[32];
    snprintf(port_arg, sizeof port_arg, "%d", redis_port);
    snprintf(redis_arg, sizeof redis_arg, "127.0.0.1:%d", redis_port);
    char *redis_argv[] = {"redis-server", "--port",     port_arg,  "--bind",
                          "127.0.0.1",    "--save",     "",        "--appendonly",
                          "no",           "--loglevel", "warning", NULL};
    pid_t redis = spawn(redis_argv);
    wait_listening(redis_port);
    char *group_argv[] = {argv[1],  "hub",        "--listen", "127.0.0.1:0", "--max-per-address",
                          "100000", "--max-rate", "0",        "--redis",     redis_arg,
                          NULL};
    server alone = start("1 hub", shoal_argv, true);
    server group[2] = {start("2 hubs", group_argv, true), start("2 hubs", group_argv, true)};
    usleep(500000); /* both subscribed to Redis */
    printf("fanout, scaled out: two hubs sharing through Redis, the subscribers split between "
           "them, against one hub\n");
    double one[3], two[3];
    for (int r = 0; r < 3; r++) {
        one[r] = fanout(&alone, 1, subs, posts);
        two[r] = fanout(group, 2, subs, posts);
    }
    qsort(one, 3, sizeof *one, by_value);
    qsort(two, 3, sizeof *two, by_value);
    printf("  medians: one hub %.0f events/s, two hubs %.0f events/s: %.2fx\n", one[1], two[1],
           two[1] / one[1]);
    stop(&alone);
    for (int i = 0; i < 2; i++)
        stop(&group[i]);
    kill(redis, SIGTERM);
    waitpid(redis, NULL, 0);
    return 0;
}

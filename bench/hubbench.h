/* What the hub benchmarks (bench_hub, bench_hub_hostile) share: the servers under test run as
 * child processes, their CPU time and memory read from /proc, plain sockets to 127.0.0.1. */
#ifndef SHOAL_BENCH_HUBBENCH_H
#define SHOAL_BENCH_HUBBENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct server {
    const char *name;
    pid_t pid;
    int port;
} server;

/* Room for many sockets (65,536 descriptors, or the hard limit), and no SIGPIPE. */
void prepare_process(void);
double now_s(void); /* monotonic seconds */
/* Says what failed (with errno) and exits 1. */
void die(const char *what);
/* Runs argv, which prints the port it listens on in its first line (shoal: "…:PORT", signalhub:
 * "… PORT"). */
server start(const char *name, char *const argv[], bool shoal);
/* SIGTERM, and waits. */
void stop(server *s);
/* Starts a helper whose output nobody needs. */
pid_t spawn(char *const argv[]);
int free_port(void);
/* Waits until something listens on the port (10 s at most). */
void wait_listening(int port);
double cpu_of(pid_t pid); /* CPU seconds the process has used */
long rss_kib(pid_t pid);  /* its resident memory */
double self_cpu(void);    /* CPU seconds this process has used */
/* A blocking TCP connection to 127.0.0.1:port, Nagle off. */
int dial(int port);
void send_all(int fd, const char *buf, size_t len);

#endif

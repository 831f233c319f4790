/* Debian's coturn for tests, on 127.0.0.1: TURN over UDP and TCP on one port and over TLS on
 * another (a certificate for 127.0.0.1 made here), STUN on the first, REST credentials from a
 * shared secret (use-auth-secret), verbose log in a file of its own. */
#ifndef SHOAL_TEST_COTURN_H
#define SHOAL_TEST_COTURN_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct test_coturn {
    uint16_t port, tls_port;
    char *cert; /* the server's certificate (PEM), to trust */
    char *log;  /* its log */
    char *dir, *key, *pidfile;
    GPid pid;
} test_coturn;

/* A free TCP port on 127.0.0.1 (free when asked). */
uint16_t test_free_port(void);
/* Starts it and waits until it listens; false (said why on stderr) when it cannot. */
bool test_coturn_start(test_coturn *t, const char *secret);
void test_coturn_stop(test_coturn *t);

#endif

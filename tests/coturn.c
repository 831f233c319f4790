/* Debian's coturn for tests (see coturn.h). */
#include "coturn.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

uint16_t test_free_port(void)
{
    GSocket *s = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, 0, NULL);
    GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *addr = g_inet_socket_address_new(lo, 0);
    g_socket_bind(s, addr, TRUE, NULL);
    GSocketAddress *bound = g_socket_get_local_address(s, NULL);
    uint16_t port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    g_object_unref(bound), g_object_unref(addr), g_object_unref(lo), g_object_unref(s);
    return port;
}

/* Waits until something accepts TCP connections on 127.0.0.1:port. */
static bool listening(uint16_t port)
{
    for (int i = 0; i < 100; i++) {
        GSocketClient *c = g_socket_client_new();
        g_socket_client_set_enable_proxy(c, FALSE);
        GSocketConnection *conn = g_socket_client_connect_to_host(c, "127.0.0.1", port, NULL, NULL);
        g_object_unref(c);
        if (conn) {
            g_object_unref(conn);
            return true;
        }
        g_usleep(50000);
    }
    return false;
}

/* A certificate for 127.0.0.1, made here with the openssl command. */
static bool make_certificate(test_coturn *t)
{
    t->cert = g_build_filename(t->dir, "cert.pem", NULL);
    t->key = g_build_filename(t->dir, "key.pem", NULL);
    char *argv[] = {"openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=127.0.0.1",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1",
                    "-keyout",
                    t->key,
                    "-out",
                    t->cert,
                    NULL};
    int status = -1;
    bool ran =
        g_spawn_sync(NULL, argv, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, NULL, NULL, &status, NULL);
    g_chmod(t->key, 0644); /* coturn may read it as its own user */
    return ran && g_spawn_check_wait_status(status, NULL);
}

/* Debian's coturn on 127.0.0.1: TURN over UDP and TCP on one port and over TLS on another, with
 * REST credentials (use-auth-secret), and STUN on the first. */
bool test_coturn_start(test_coturn *t, const char *secret)
{
    t->port = test_free_port();
    t->tls_port = test_free_port();
    t->dir = g_dir_make_tmp("shoal-turn-XXXXXX", NULL);
    g_chmod(t->dir, 0777); /* coturn may drop root for its own user before it logs */
    if (!make_certificate(t))
        return false;
    t->pidfile = g_build_filename(t->dir, "pid", NULL);
    t->log = g_build_filename(t->dir, "log", NULL);
    char *port_arg = g_strdup_printf("--listening-port=%u", t->port);
    char *tls_arg = g_strdup_printf("--tls-listening-port=%u", t->tls_port);
    char *log_arg = g_strdup_printf("--log-file=%s", t->log);
    char *secret_arg = g_strdup_printf("--static-auth-secret=%s", secret);
    char *cert_arg = g_strdup_printf("--cert=%s", t->cert);
    char *key_arg = g_strdup_printf("--pkey=%s", t->key);
    char *db_arg = g_strdup_printf("--userdb=%s/turndb", t->dir);
    char *argv[] = {"turnserver",
                    "-n",
                    "--listening-ip=127.0.0.1",
                    "--relay-ip=127.0.0.1",
                    port_arg,
                    tls_arg,
                    "--allow-loopback-peers",
                    "--use-auth-secret",
                    secret_arg,
                    "--realm=shoal.test",
                    cert_arg,
                    key_arg,
                    db_arg,
                    "--no-dtls",
                    "--no-cli",
                    "--pidfile",
                    t->pidfile,
                    log_arg,
                    "--simple-log",
                    "-V",
                    NULL};
    GError *err = NULL;
    bool started = g_spawn_async(NULL, argv, NULL,
                                 G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                                     G_SPAWN_STDERR_TO_DEV_NULL | G_SPAWN_DO_NOT_REAP_CHILD,
                                 NULL, NULL, &t->pid, &err);
    g_free(port_arg), g_free(tls_arg), g_free(log_arg), g_free(secret_arg);
    g_free(cert_arg), g_free(key_arg), g_free(db_arg);
    if (!started) {
        fprintf(stderr, "turnserver: %s (scripts/setup-debian installs coturn)\n",
                err ? err->message : "?");
        g_clear_error(&err);
        return false;
    }
    return listening(t->port) && listening(t->tls_port);
}

void test_coturn_stop(test_coturn *t)
{
    kill(t->pid, SIGTERM);
    waitpid(t->pid, NULL, 0);
    g_spawn_close_pid(t->pid);
    char *db = g_build_filename(t->dir, "turndb", NULL);
    const char *files[] = {t->pidfile, t->log, t->cert, t->key, db};
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++)
        remove(files[i]);
    g_free(db);
    g_rmdir(t->dir);
    g_free(t->pidfile), g_free(t->log), g_free(t->dir), g_free(t->cert), g_free(t->key);
}

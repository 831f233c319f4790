/* The hub client over HTTPS: a shoal hub serving a certificate made at test time by openssl,
 * trusted through the client's ca_file; a certificate it does not trust fails the stream.
 * Usage: test_hub_client_https SHOAL_BINARY */
#include "harness.h"

#include "shoal/hub_client.h"

#include <gio/gio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

typedef struct seen {
    int connected, failed, messages;
} seen;

static void on_state(size_t hub, shoal_hub_stream_state st, void *ud)
{
    (void)hub;
    seen *s = ud;
    s->connected += st == SHOAL_HUB_STREAM_CONNECTED;
    s->failed += st == SHOAL_HUB_STREAM_FAILED;
}

static void on_message(size_t hub, const char *data, size_t len, void *ud)
{
    (void)hub;
    seen *s = ud;
    if (len == 2 && memcmp(data, "{}", 2) == 0)
        s->messages++;
}

static bool wait_for(int *flag, int ms)
{
    gint64 until = g_get_monotonic_time() + (gint64)ms * 1000;
    while (*flag == 0 && g_get_monotonic_time() < until)
        g_main_context_iteration(NULL, FALSE) || (g_usleep(1000), 0);
    return *flag > 0;
}

static const char *shoal_bin;
static char *dir;

static shoal_hub_client *client(seen *s, const char *ca, int port)
{
    shoal_hub_client_config cfg;
    shoal_hub_client_config_default(&cfg);
    cfg.ca_file = ca;
    cfg.auto_reconnect = false;
    shoal_hub_client_callbacks cb = {on_state, on_message, s};
    shoal_hub_client *cl = NULL;
    if (!CHECK_EQ_ERR(shoal_hub_client_new(&cl, &cfg, &cb), SHOAL_OK))
        return NULL;
    char text[64];
    int n = snprintf(text, sizeof text, "https://127.0.0.1:%d", port);
    shoal_hub_addr a;
    CHECK_EQ_ERR(shoal_hub_addr_parse(&a, text, (size_t)n, NULL), SHOAL_OK);
    shoal_hub_client_add_hub(cl, &a);
    const char *channels[] = {"all"};
    CHECK_EQ_ERR(shoal_hub_client_subscribe(cl, channels, 1), SHOAL_OK);
    shoal_hub_client_connect(cl, 0);
    return cl;
}

static bool make_cert(const char *cert, const char *key, const char *cn)
{
    char *subj = g_strdup_printf("/CN=%s", cn);
    char *argv[] = {"openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-days",
                    "1",
                    "-subj",
                    subj,
                    "-addext",
                    "subjectAltName=IP:127.0.0.1",
                    "-keyout",
                    (char *)key,
                    "-out",
                    (char *)cert,
                    NULL};
    int status = -1;
    bool ok =
        g_spawn_sync(NULL, argv, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, NULL, NULL, &status, NULL) &&
        status == 0;
    g_free(subj);
    return ok;
}

static void a_trusted_hub_streams_over_https(void)
{
    char *cert = g_build_filename(dir, "cert.pem", NULL),
         *key = g_build_filename(dir, "key.pem", NULL);
    char *other = g_build_filename(dir, "other.pem", NULL),
         *okey = g_build_filename(dir, "ok.pem", NULL);
    if (!CHECK(make_cert(cert, key, "hub")) || !CHECK(make_cert(other, okey, "stranger")))
        return;
    char *argv[] = {(char *)shoal_bin, "hub", "--listen", "127.0.0.1:0", "--cert", cert,
                    "--key",           key,   NULL};
    char *env[] = {"ASAN_OPTIONS=detect_leaks=0", NULL};
    GPid pid;
    int out = -1;
    if (!CHECK(g_spawn_async_with_pipes(NULL, argv, env, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                        &pid, NULL, &out, NULL, NULL)))
        return;
    char line[256] = {0};
    size_t n = 0;
    while (n < sizeof line - 1 && read(out, line + n, 1) == 1 && line[n] != '\n')
        n++;
    close(out);
    const char *colon = strrchr(line, ':');
    int port = colon ? atoi(colon + 1) : 0;

    seen good = {0}, bad = {0};
    shoal_hub_client *trusting = client(&good, cert, port);
    CHECK(wait_for(&good.connected, 5000));
    shoal_hub_client_broadcast(trusting, 0, "all", "{}", 2, NULL, NULL);
    CHECK(wait_for(&good.messages, 5000));
    shoal_hub_client *doubting = client(&bad, other, port);
    CHECK(wait_for(&bad.failed, 5000));
    CHECK_EQ_INT(bad.connected, 0);
    shoal_hub_client_free(trusting);
    shoal_hub_client_free(doubting);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    g_spawn_close_pid(pid);
    seen none = {0};
    shoal_hub_client_config cfg;
    shoal_hub_client_config_default(&cfg);
    cfg.ca_file = "/nonexistent/ca.pem";
    shoal_hub_client_callbacks cb = {on_state, on_message, &none};
    shoal_hub_client *cl = NULL;
    CHECK_EQ_ERR(shoal_hub_client_new(&cl, &cfg, &cb), SHOAL_E_INVAL);
    g_free(cert);
    g_free(key);
    g_free(other);
    g_free(okey);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    shoal_bin = argv[1];
    dir = g_dir_make_tmp("shoal-https-XXXXXX", NULL);
    RUN(a_trusted_hub_streams_over_https);
    char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    int rc = system(cmd);
    (void)rc;
    g_free(cmd);
    return harness_finish();
}

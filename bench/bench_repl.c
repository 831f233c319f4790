/* Benchmarks of replication against the goals of issues 7 and 18: messages per second of an
 * initial sync of 100,000 messages (10 feeds of 10,000), against the references in the same run:
 *   shoal to shoal over TCP (net:, secret handshake and box stream), two processes, with
 *   createHistoryStream and with EBT (issue 18: >= 3x two ssb-ebt 9 nodes, >= 2.5x ssb-server);
 *   shoal to shoal over WebRTC, two processes meeting at a `shoal hub` run in the fetcher (EBT,
 *   as the nodes choose it);
 *   ssb-server 16 to ssb-server 16 (bench/ssb_repl.js: EBT, as the reference replicates);
 *   two modern nodes, ssb-db2 6 and ssb-ebt 9 (bench/ssb_repl.js --modern).
 * Where the time goes, on the same messages: ed25519 verifications per second on one core (the
 * floor: every message's signature is checked), whole validations in one thread (parse,
 * canonical form, hash, signature), the same minus the chain checks in batches on one thread and
 * on every core (what a sync does first), and appends to the store, validating, one transaction
 * per message and 256 per transaction.
 * Each sync's clock runs from the dial to the fetcher's last message stored, every one validated;
 * the feeds are checked whole afterwards.
 * Usage: bench_repl NODE_MODULES_DIR [--quick | --shoal-only]   (--shoal-only: no reference;
 * the modern node's packages are read from NODE_MODULES_DIR/../../ssb-modern/node_modules) */
#include "shoal/hub_server.h"
#include "shoal/identity.h"
#include "shoal/link.h"
#include "shoal/net.h"
#include "shoal/node.h"
#include "shoal/repl.h"

#include <glib.h>
#include <glib-unix.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int nfeeds = 10, per_feed = 10000;
static shoal_keypair *authors;
static shoal_buf *texts; /* canonical texts, feed by feed, in order */
static char dir[] = "/tmp/shoal-bench-repl-XXXXXX";
static GMainLoop *loop;
static const char *const loopback[] = {"127.0.0.1", NULL};

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t total(void)
{
    return (size_t)nfeeds * (size_t)per_feed;
}

static char *path_of(const char *name)
{
    return g_build_filename(dir, name, NULL);
}

static void remove_store(const char *name)
{
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char *p = g_strdup_printf("%s/%s%s", dir, name, suffix[i]);
        unlink(p);
        g_free(p);
    }
}

/* The messages, and the same as compact JSON lines for the reference. */
static void generate(void)
{
    authors = calloc((size_t)nfeeds, sizeof *authors);
    texts = calloc(total(), sizeof *texts);
    char *jsonl = path_of("messages.jsonl");
    FILE *out = fopen(jsonl, "w");
    if (!authors || !texts || !out)
        abort();
    for (int f = 0; f < nfeeds; f++) {
        uint8_t seed[32];
        memset(seed, 0x60 + f, sizeof seed);
        shoal_keypair_from_seed(&authors[f], seed);
        shoal_feed_state st = {0};
        for (int s = 1; s <= per_feed; s++) {
            char content[96];
            size_t len =
                (size_t)snprintf(content, sizeof content,
                                 "{\"type\":\"post\",\"text\":\"message %d of feed %d\"}", s, f);
            shoal_buf *t = &texts[(size_t)f * (size_t)per_feed + (size_t)(s - 1)];
            *t = (shoal_buf)SHOAL_BUF_INIT;
            shoal_msg_info info;
            if (shoal_msg_create(&authors[f], &st, 1700000000000.0 + s, content, len, NULL, t,
                                 &info, NULL) != SHOAL_OK)
                abort();
            st = (shoal_feed_state){.known = true, .sequence = s};
            memcpy(st.id, info.id, 32);
            shoal_json *j;
            if (shoal_json_parse(t->data, t->len, &j) != SHOAL_OK)
                abort();
            shoal_u16buf u = {0};
            shoal_json_stringify_compact(j, &u);
            shoal_buf line = SHOAL_BUF_INIT;
            shoal_u16_to_utf8(u.data, u.len, &line);
            fwrite(line.data, 1, line.len, out);
            fputc('\n', out);
            shoal_buf_free(&line);
            shoal_u16buf_free(&u);
            shoal_json_free(j);
        }
    }
    fclose(out);
    g_free(jsonl);
}

/* ---- where the time goes ----------------------------------------------------------------------
 */

static double verifications_per_second(int n)
{
    uint8_t msg[400], sig[64];
    randombytes_buf(msg, sizeof msg);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, authors[0].sec);
    double t0 = seconds();
    for (int i = 0; i < n; i++)
        if (crypto_sign_verify_detached(sig, msg, sizeof msg, authors[0].pub) != 0)
            abort();
    return n / (seconds() - t0);
}

static double validations_per_second(void)
{
    double t0 = seconds();
    for (int f = 0; f < nfeeds; f++) {
        shoal_feed_state st = {0};
        for (int s = 0; s < per_feed; s++) {
            const shoal_buf *t = &texts[(size_t)f * (size_t)per_feed + (size_t)s];
            shoal_msg_info info;
            if (shoal_msg_validate(t->data, t->len, &st, NULL, &info, NULL) != SHOAL_OK)
                abort();
            st = (shoal_feed_state){.known = true, .sequence = info.sequence};
            memcpy(st.id, info.id, 32);
        }
    }
    return (double)total() / (seconds() - t0);
}

/* Prechecks every message in batches of 512 (what a sync does before the in-order append) on
 * `threads` threads. */
static double prechecks_per_second(unsigned threads)
{
    enum { BATCH = 512 };
    const char *jsons[BATCH];
    size_t lens[BATCH];
    shoal_buf canonical[BATCH];
    shoal_msg_checked checked[BATCH];
    double t0 = seconds();
    for (size_t at = 0; at < total(); at += BATCH) {
        size_t n = total() - at < BATCH ? total() - at : BATCH;
        for (size_t i = 0; i < n; i++) {
            jsons[i] = texts[at + i].data;
            lens[i] = texts[at + i].len;
            canonical[i] = (shoal_buf)SHOAL_BUF_INIT;
        }
        if (shoal_msg_precheck_batch(jsons, lens, n, NULL, threads, canonical, checked) != SHOAL_OK)
            abort();
        for (size_t i = 0; i < n; i++) {
            if (!checked[i].ok)
                abort();
            shoal_buf_free(&canonical[i]);
        }
    }
    return (double)total() / (seconds() - t0);
}

/* Appends every message to a fresh store, `batch` per transaction (validated inside, as always). */
static double appends_per_second(const char *name, size_t batch)
{
    remove_store(name);
    char *p = path_of(name);
    shoal_feed_store *st;
    if (shoal_feed_store_open(p, &st) != SHOAL_OK)
        abort();
    g_free(p);
    const char **ptrs = malloc(batch * sizeof *ptrs);
    size_t *lens = malloc(batch * sizeof *lens);
    double t0 = seconds();
    for (size_t at = 0; at < total(); at += batch) {
        size_t n = total() - at < batch ? total() - at : batch, appended;
        for (size_t i = 0; i < n; i++) {
            ptrs[i] = texts[at + i].data;
            lens[i] = texts[at + i].len;
        }
        if (shoal_feed_store_append(st, ptrs, lens, NULL, n, NULL, 0, &appended, NULL) != SHOAL_OK)
            abort();
    }
    double rate = (double)total() / (seconds() - t0);
    free(ptrs);
    free(lens);
    shoal_feed_store_close(st);
    return rate;
}

/* ---- syncs ---------------------------------------------------------------------------------- */

/* CPU seconds (user and system, every thread) of this process, or of its waited-for children. */
static double cpu(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

/* Where a sync's CPU went, per message: the fetcher (every thread) and the serving process. */
static void cpu_per_message(const char *sync, double fetcher, double server)
{
    printf("  %s: CPU per message, fetcher %.1f us (all threads), server %.1f us\n", sync,
           fetcher * 1e6 / (double)total(), server * 1e6 / (double)total());
}

/* Every feed is whole in the store at `name`. */
static void check_whole(const char *name)
{
    char *p = path_of(name);
    shoal_feed_store *st;
    if (shoal_feed_store_open(p, &st) != SHOAL_OK)
        abort();
    g_free(p);
    for (int f = 0; f < nfeeds; f++) {
        shoal_feed_state head;
        if (shoal_feed_store_head(st, authors[f].pub, &head) != SHOAL_OK ||
            head.sequence != per_feed) {
            fprintf(stderr, "bench_repl: feed %d ends at %lld\n", f, (long long)head.sequence);
            exit(1);
        }
    }
    shoal_feed_store_close(st);
}

static gboolean on_guard(gpointer ud)
{
    (void)ud;
    fprintf(stderr, "bench_repl: a sync took more than 10 minutes\n");
    exit(1);
}

typedef struct fetcher {
    bool ebt;
    shoal_repl *repl;
    shoal_feed_store *store;
    int done;        /* feeds whole */
    double t0, took; /* from the dial */
} fetcher;

static void fetch_progress(shoal_repl *r, shoal_rpc *from, const uint8_t feed[32], int64_t head,
                           void *ud)
{
    (void)r, (void)from, (void)feed;
    fetcher *f = ud;
    if (head == per_feed && ++f->done == nfeeds) {
        f->took = seconds() - f->t0;
        g_main_loop_quit(loop);
    }
}

static int64_t wall_clock(void *ud)
{
    (void)ud;
    return g_get_real_time() / 1000;
}

/* The manifest (shoal_basics), which EBT's choice reads on both sides, as a node's links have. */
static const shoal_basics basics = {.clock = wall_clock};

static void tcp_established(shoal_net_conn *conn, void *ud)
{
    fetcher *f = ud;
    shoal_rpc *rpc = shoal_net_conn_rpc(conn);
    if (f->ebt) {
        if (shoal_basics_register(rpc, &basics) != SHOAL_OK ||
            shoal_repl_start(f->repl, rpc, shoal_net_conn_remote(conn), true) != SHOAL_OK)
            abort();
        return;
    }
    for (int i = 0; i < nfeeds; i++)
        if (shoal_repl_request(f->repl, rpc, authors[i].pub, false) != SHOAL_OK)
            abort();
}

static void tcp_serve_established(shoal_net_conn *conn, void *ud)
{
    if (shoal_basics_register(shoal_net_conn_rpc(conn), &basics) != SHOAL_OK ||
        shoal_repl_start(ud, shoal_net_conn_rpc(conn), shoal_net_conn_remote(conn), false) !=
            SHOAL_OK)
        abort();
}

static void tcp_closed(shoal_net_conn *conn, int err, void *ud)
{
    (void)conn, (void)err, (void)ud;
    g_main_loop_quit(loop);
}

static shoal_feed_store *open_store(const char *name)
{
    char *p = path_of(name);
    shoal_feed_store *st;
    if (shoal_feed_store_open(p, &st) != SHOAL_OK)
        abort();
    g_free(p);
    return st;
}

/* The serving side over TCP, in a child: serves "source.db" until the fetcher hangs up, with EBT
 * or createHistoryStream, as the fetcher asks. */
static void tcp_serve(int ready_fd, bool ebt)
{
    shoal_feed_store *st = open_store("source.db");
    shoal_repl *repl = shoal_repl_new(st, NULL, &(shoal_repl_callbacks){0}, NULL);
    shoal_keypair keys;
    shoal_keypair_generate(&keys);
    if (ebt && shoal_repl_use_ebt(repl, keys.pub, NULL) != SHOAL_OK)
        abort();
    shoal_net_config cfg = {.keys = &keys};
    shoal_net_callbacks cb = {tcp_serve_established, tcp_closed};
    shoal_net_server *server;
    if (shoal_net_listen(&cfg, "127.0.0.1", 0, &cb, repl, &server) != SHOAL_OK)
        abort();
    uint8_t msg[34];
    msg[0] = (uint8_t)(shoal_net_server_port(server) >> 8);
    msg[1] = (uint8_t)shoal_net_server_port(server);
    memcpy(msg + 2, keys.pub, 32);
    if (write(ready_fd, msg, sizeof msg) != (ssize_t)sizeof msg)
        abort();
    g_main_loop_run(loop);
    shoal_net_server_free(server);
    shoal_repl_free(repl);
    shoal_feed_store_close(st);
}

/* The fetcher's intake pool has checked batches: they are stored. */
static gboolean on_intake(gint fd, GIOCondition cond, gpointer ud)
{
    (void)fd, (void)cond;
    shoal_repl_intake_ready(ud);
    return G_SOURCE_CONTINUE;
}

static double sync_tcp(bool ebt)
{
    remove_store("fetched-tcp.db");
    int fds[2];
    if (pipe(fds) != 0)
        abort();
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        loop = g_main_loop_new(NULL, FALSE);
        tcp_serve(fds[1], ebt);
        _exit(0);
    }
    close(fds[1]);
    uint8_t msg[34];
    if (read(fds[0], msg, sizeof msg) != (ssize_t)sizeof msg)
        abort();
    close(fds[0]);
    fetcher f = {.ebt = ebt, .store = open_store("fetched-tcp.db")};
    f.repl = shoal_repl_new(f.store, NULL, &(shoal_repl_callbacks){.progress = fetch_progress}, &f);
    shoal_keypair keys;
    shoal_keypair_generate(&keys);
    if (ebt && shoal_repl_use_ebt(f.repl, keys.pub, NULL) != SHOAL_OK)
        abort();
    int intake = shoal_repl_intake_fd(f.repl); /* as a node's */
    if (intake < 0)
        abort();
    guint intake_watch = g_unix_fd_add(intake, G_IO_IN, on_intake, f.repl);
    for (int i = 0; ebt && i < nfeeds; i++)
        if (shoal_repl_follow(f.repl, authors[i].pub, true) != SHOAL_OK)
            abort();
    shoal_net_config cfg = {.keys = &keys};
    shoal_net_callbacks cb = {tcp_established, tcp_closed};
    guint guard = g_timeout_add_seconds(600, on_guard, NULL);
    double self0 = cpu(RUSAGE_SELF), children0 = cpu(RUSAGE_CHILDREN);
    f.t0 = seconds();
    shoal_net_conn *conn =
        shoal_net_dial(&cfg, "127.0.0.1", (uint16_t)(msg[0] << 8 | msg[1]), msg + 2, &cb, &f);
    g_main_loop_run(loop);
    g_source_remove(guard);
    if (f.done != nfeeds) {
        fprintf(stderr, "bench_repl: the TCP sync ended with %d of %d feeds\n", f.done, nfeeds);
        exit(1);
    }
    shoal_repl_forget(f.repl, shoal_net_conn_rpc(conn));
    shoal_net_conn_close(conn); /* `closed` quits the loop once the goodbyes are through */
    g_main_loop_run(loop);
    double self = cpu(RUSAGE_SELF) - self0;
    int status;
    waitpid(child, &status, 0);
    cpu_per_message(ebt ? "TCP, EBT" : "TCP", self, cpu(RUSAGE_CHILDREN) - children0);
    g_source_remove(intake_watch);
    shoal_repl_free(f.repl);
    shoal_feed_store_close(f.store);
    check_whole("fetched-tcp.db");
    return (double)total() / f.took;
}

/* ---- over WebRTC: two nodes meeting at a hub ----------------------------------------------------
 */

static double rtc_t0, rtc_took;
static int rtc_done;

static void rtc_connected(shoal_node *node, shoal_node_peer *peer, void *ud)
{
    (void)node, (void)peer, (void)ud;
    if (rtc_t0 == 0)
        rtc_t0 = seconds();
}

static void rtc_log(shoal_node *node, const char *line, void *ud)
{
    (void)node, (void)ud;
    if (strncmp(line, "dialling", 8) == 0 && rtc_t0 == 0)
        rtc_t0 = seconds();
}

static void rtc_progress(shoal_node *node, shoal_node_peer *peer, const uint8_t feed[32],
                         int64_t head, void *ud)
{
    (void)node, (void)peer, (void)feed, (void)ud;
    if (head == per_feed && ++rtc_done == nfeeds) {
        rtc_took = seconds() - rtc_t0;
        g_main_loop_quit(loop);
    }
}

/* One node replicating through the hub at `url`: the source (serving "source.db") or the
 * fetcher (into "fetched-rtc.db", following every feed). */
static shoal_node *rtc_node(const char *url, bool source, shoal_feed_store *st)
{
    shoal_keypair keys;
    shoal_keypair_generate(&keys);
    static shoal_rtc_config rtc = {.local_addresses = loopback};
    uint8_t(*follows)[32] = g_malloc((gsize)nfeeds * 32);
    for (int i = 0; i < nfeeds; i++)
        memcpy(follows[i], authors[i].pub, 32);
    shoal_node_config cfg = {.keys = &keys,
                             .rtc = &rtc,
                             .store = st,
                             .follows = (const uint8_t(*)[32])follows,
                             .nfollows = source ? 0 : (size_t)nfeeds};
    shoal_node_callbacks cb = {.connected = rtc_connected, .log = rtc_log};
    if (!source)
        cb.progress = rtc_progress;
    shoal_node *node;
    shoal_hub_addr hub;
    if (shoal_node_new(&cfg, &cb, NULL, &node) != SHOAL_OK ||
        shoal_hub_addr_parse(&hub, url, strlen(url), NULL) != SHOAL_OK ||
        shoal_node_add_hub(node, &hub) != SHOAL_OK)
        abort();
    g_free(follows);
    return node;
}

static double sync_rtc(void)
{
    remove_store("fetched-rtc.db");
    int fds[2];
    char url[64] = {0};
    if (pipe(fds) != 0)
        abort();
    pid_t child = fork(); /* before the hub, whose socket the child must not share */
    if (child == 0) {
        close(fds[1]);
        if (read(fds[0], url, sizeof url - 1) <= 0)
            _exit(1);
        loop = g_main_loop_new(NULL, FALSE);
        shoal_feed_store *st = open_store("source.db");
        rtc_node(url, true, st);
        g_main_loop_run(loop); /* until killed */
        _exit(1);
    }
    close(fds[0]);
    shoal_hub_server_config hcfg;
    shoal_hub_server_config_default(&hcfg);
    hcfg.port = 0;
    shoal_hub_server *hub;
    char *why = NULL;
    if (shoal_hub_server_start(&hub, &hcfg, &why) != SHOAL_OK)
        abort();
    snprintf(url, sizeof url, "http://127.0.0.1:%u", shoal_hub_server_port(hub));
    if (write(fds[1], url, strlen(url)) != (ssize_t)strlen(url))
        abort();
    close(fds[1]);
    shoal_feed_store *st = open_store("fetched-rtc.db");
    shoal_node *node = rtc_node(url, false, st);
    double self0 = cpu(RUSAGE_SELF), children0 = cpu(RUSAGE_CHILDREN);
    guint guard = g_timeout_add_seconds(600, on_guard, NULL);
    g_main_loop_run(loop);
    g_source_remove(guard);
    double self = cpu(RUSAGE_SELF) - self0;
    shoal_node_free(node); /* both vanish: no goodbyes to wait for */
    kill(child, SIGKILL);
    int status;
    waitpid(child, &status, 0);
    cpu_per_message("WebRTC", self, cpu(RUSAGE_CHILDREN) - children0);
    shoal_hub_server_free(hub);
    shoal_feed_store_close(st);
    check_whole("fetched-rtc.db");
    return (double)total() / rtc_took;
}

/* A reference's rate, from bench/ssb_repl.js and the packages in `modules` (`flag`: "--modern"
 * or ""); 0 when it cannot run. */
static double reference(const char *script, const char *modules, const char *flag)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "node '%s' '%s' '%s/messages.jsonl' %s", script, modules, dir, flag);
    FILE *p = popen(cmd, "r");
    double secs = 0;
    long messages = 0;
    char line[512];
    while (p && fgets(line, sizeof line, p))
        if (sscanf(line, "{\"messages\":%ld,\"seconds\":%lf", &messages, &secs) == 2)
            break;
    if (p)
        pclose(p);
    return messages == (long)total() && secs > 0 ? (double)messages / secs : 0;
}

/* The benchmark's folder, removed: 0, or 1 when it could not be. */
static int remove_dir(void)
{
    char *rm = g_strdup_printf("rm -rf '%s'", dir);
    int rc = system(rm);
    g_free(rm);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr,
                "usage: bench_repl NODE_MODULES_DIR [--quick | --shoal-only | --ebt-only]\n");
        return 2;
    }
    bool quick = argc > 2 && strcmp(argv[2], "--quick") == 0;
    /* the EBT sync alone, for runs that alternate two builds */
    bool ebt_only = argc > 2 && strcmp(argv[2], "--ebt-only") == 0;
    bool shoal_only = quick || (argc > 2 && strcmp(argv[2], "--shoal-only") == 0);
    if (quick)
        nfeeds = 2, per_feed = 100;
    if (sodium_init() < 0 || !mkdtemp(dir))
        return 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    loop = g_main_loop_new(NULL, FALSE);
    generate();
    printf("%d feeds of %d messages\n", nfeeds, per_feed);
    if (ebt_only) {
        appends_per_second("source.db", 256); /* the source */
        printf("%-48s %10.0f /s\n", "initial sync, shoal to shoal over TCP with EBT",
               sync_tcp(true));
        return remove_dir();
    }
    double verify = verifications_per_second(quick ? 200 : 20000);
    printf("%-48s %10.0f /s\n", "ed25519 verifications, one core", verify);
    double validate = validations_per_second();
    printf("%-48s %10.0f /s  (%.0f %% of the verifications' rate)\n",
           "validations (parse, canonical, hash, verify)", validate, 100 * validate / verify);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("%-48s %10.0f /s\n", "prechecks (all but the chain), one thread",
           prechecks_per_second(1));
    char what[64];
    snprintf(what, sizeof what, "prechecks, %ld threads (one per core)", cores);
    printf("%-48s %10.0f /s\n", what, prechecks_per_second((unsigned)cores));
    printf("%-48s %10.0f /s\n", "store appends, one transaction per message",
           appends_per_second("one-by-one.db", 1));
    printf("%-48s %10.0f /s\n", "store appends, 256 per transaction",
           appends_per_second("source.db", 256));
    char *script = g_strdup_printf("%s/../../../bench/ssb_repl.js", argv[1]);
    char *modern_modules = g_strdup_printf("%s/../../ssb-modern/node_modules", argv[1]);
    double ref = shoal_only ? 0 : reference(script, argv[1], "");
    double modern = shoal_only ? 0 : reference(script, modern_modules, "--modern");
    g_free(script);
    g_free(modern_modules);
    double tcp = sync_tcp(false);
    double ebt = sync_tcp(true);
    double rtc = sync_rtc();
    if (ref > 0)
        printf("%-48s %10.0f /s\n", "initial sync, ssb-server to ssb-server (EBT)", ref);
    if (modern > 0)
        printf("%-48s %10.0f /s\n", "initial sync, ssb-ebt 9 to ssb-ebt 9 (ssb-db2)", modern);
    printf("%-48s %10.0f /s  x%.2f of ssb-server, %.0f %% of one core's verifications\n",
           "initial sync, shoal to shoal over TCP", tcp, ref > 0 ? tcp / ref : 0,
           100 * tcp / verify);
    printf("%-48s %10.0f /s  x%.2f of ssb-server (goal 2.5), x%.2f of ssb-ebt 9 (goal 3)\n",
           "initial sync, shoal to shoal over TCP with EBT", ebt, ref > 0 ? ebt / ref : 0,
           modern > 0 ? ebt / modern : 0);
    printf("%-48s %10.0f /s  (every core verifying: %.0f /s; %.0f %% of that ceiling)\n", "", ebt,
           verify * (double)cores, 100 * ebt / (verify * (double)cores));
    printf("%-48s %10.0f /s  x%.2f of ssb-server, x%.2f of ssb-ebt 9\n",
           "initial sync, shoal to shoal over WebRTC (EBT)", rtc, ref > 0 ? rtc / ref : 0,
           modern > 0 ? rtc / modern : 0);
    if (!shoal_only && (ref <= 0 || modern <= 0)) {
        fprintf(stderr, "bench_repl: a reference's figure is missing (%s failed)\n",
                ref <= 0 ? "ssb_repl.js" : "ssb_repl.js --modern");
        return 1;
    }
    return remove_dir();
}

/* Benchmarks of the secret handshake and the box stream against the goals of issue 5, beside
 * the reference (secret-handshake and pull-box-stream on Node, bench/node_shs.js) in the same
 * run:
 *   handshakes  >= 5,000 per second on one core. Measured three ways: both sides in one thread
 *               (what the reference figure measures), the server's side alone and the client's
 *               side alone (each replaying the other side's messages of a fixed run);
 *   box stream  >= 500 MB/s on one core, boxing and unboxing 4096-byte chunks (64 KiB reads).
 * Each line gives the figure, its ratio to the goal and to the reference.
 * Usage: bench_shs NODE_MODULES_DIR [--quick] */
#include "shoal/boxs.h"
#include "shoal/shs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static shoal_keypair alice, bob;
static shoal_shs_keycache cache; /* for the rows of peers met before */
static bool use_cache;
static const uint8_t client_eph[32] = {11}, server_eph[32] = {12};

/* One handshake; `fixed` injects the ephemeral keys (so messages replay), else fresh ones. */
static void handshake(bool fixed, uint8_t msgs[4][SHOAL_SHS_MAX_MESSAGE])
{
    shoal_shs c, s;
    shoal_shs_client_init(&c, shoal_shs_main_network, &alice, bob.pub, fixed ? client_eph : NULL);
    shoal_shs_server_init(&s, shoal_shs_main_network, &bob, fixed ? server_eph : NULL);
    uint8_t msg[SHOAL_SHS_MAX_MESSAGE], reply[SHOAL_SHS_MAX_MESSAGE];
    size_t len, n;
    if (shoal_shs_start(&s, msg, &n) || shoal_shs_start(&c, msg, &len))
        abort();
    shoal_shs *turn[] = {&s, &c, &s, &c};
    for (int i = 0; i < 4; i++) {
        if (msgs)
            memcpy(msgs[i], msg, len);
        if (shoal_shs_input(turn[i], msg, len, reply, &len) != SHOAL_OK)
            abort();
        memcpy(msg, reply, len);
    }
    shoal_shs_outcome o;
    if (shoal_shs_take_outcome(&c, &o) || shoal_shs_take_outcome(&s, &o))
        abort();
}

/* One side of the fixed run, the other side's messages replayed. */
static void one_side(bool server, uint8_t msgs[4][SHOAL_SHS_MAX_MESSAGE])
{
    static const size_t sizes[] = {64, 64, 112, 80};
    shoal_shs x;
    if (server)
        shoal_shs_server_init(&x, shoal_shs_main_network, &bob, server_eph);
    else
        shoal_shs_client_init(&x, shoal_shs_main_network, &alice, bob.pub, client_eph);
    if (use_cache)
        shoal_shs_use_cache(&x, &cache);
    uint8_t out[SHOAL_SHS_MAX_MESSAGE];
    size_t n;
    if (shoal_shs_start(&x, out, &n))
        abort();
    for (int i = server ? 0 : 1; i < 4; i += 2)
        if (shoal_shs_input(&x, msgs[i], sizes[i], out, &n) != SHOAL_OK)
            abort();
    shoal_shs_outcome o;
    if (shoal_shs_take_outcome(&x, &o))
        abort();
}

static double rate(int n, void (*fn)(uint8_t (*)[SHOAL_SHS_MAX_MESSAGE], bool),
                   uint8_t msgs[4][SHOAL_SHS_MAX_MESSAGE], bool arg)
{
    double t0 = seconds();
    for (int i = 0; i < n; i++)
        fn(msgs, arg);
    return n / (seconds() - t0);
}

static void both(uint8_t (*msgs)[SHOAL_SHS_MAX_MESSAGE], bool unused)
{
    (void)msgs, (void)unused;
    handshake(false, NULL);
}

static void side(uint8_t (*msgs)[SHOAL_SHS_MAX_MESSAGE], bool server)
{
    one_side(server, msgs);
}

/* Boxes `bytes` in one call (cut into 4096-byte frames), then unboxes them 64 KiB at a time as
 * a socket would deliver them. MB/s of plaintext each way. */
static void box_stream(size_t bytes, double *box_mbs, double *unbox_mbs)
{
    uint8_t key[32] = {1}, nonce[24] = {2};
    uint8_t *plain = malloc(bytes), *wire = malloc(shoal_boxs_encoded_size(bytes));
    memset(plain, 7, bytes);
    memset(wire, 0, shoal_boxs_encoded_size(bytes)); /* page faults are not the cipher's cost */
    shoal_boxs_encoder enc;
    shoal_boxs_encoder_init(&enc, key, nonce);
    double t0 = seconds();
    size_t wire_len = shoal_boxs_encode(&enc, plain, bytes, wire);
    *box_mbs = bytes / 1e6 / (seconds() - t0);
    shoal_boxs_decoder *dec = malloc(sizeof *dec);
    shoal_boxs_decoder_init(dec, key, nonce);
    size_t out = 0;
    t0 = seconds();
    for (size_t at = 0; at < wire_len;) {
        size_t n = wire_len - at < 65536 ? wire_len - at : 65536;
        const uint8_t *chunk;
        size_t chunk_len;
        long used = shoal_boxs_decode(dec, wire + at, n, &chunk, &chunk_len);
        if (used < 0)
            abort();
        out += chunk_len;
        at += (size_t)used;
    }
    *unbox_mbs = bytes / 1e6 / (seconds() - t0);
    if (out != bytes)
        abort();
    free(plain), free(wire), free(dec);
}

/* The reference's figures, from bench/node_shs.js. */
static bool node_figures(const char *modules, int handshakes, int megabytes, double *hs,
                         double *box, double *unbox)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "node '%s/../../../bench/node_shs.js' '%s' %d %d", modules, modules,
             handshakes, megabytes);
    FILE *p = popen(cmd, "r");
    if (!p)
        return false;
    char line[512] = "";
    bool ok = fgets(line, sizeof line, p) != NULL;
    ok = pclose(p) == 0 && ok;
    return ok && sscanf(line,
                        "{\"handshakes_per_second\":%lf,\"box_mb_per_second\":%lf,"
                        "\"unbox_mb_per_second\":%lf}",
                        hs, box, unbox) == 3;
}

static void row(const char *what, double value, const char *unit, double goal, double ref)
{
    printf("%-44s %12.0f %-6s goal %6.0f  x%.2f   reference %8.0f  x%.2f\n", what, value, unit,
           goal, value / goal, ref, ref > 0 ? value / ref : 0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_shs NODE_MODULES_DIR [--quick]\n");
        return 2;
    }
    bool quick = argc > 2 && strcmp(argv[2], "--quick") == 0;
    int n = quick ? 50 : 5000, megabytes = quick ? 4 : 256;
    uint8_t seed[32] = {1};
    shoal_keypair_from_seed(&alice, seed);
    seed[0] = 2;
    shoal_keypair_from_seed(&bob, seed);
    uint8_t msgs[4][SHOAL_SHS_MAX_MESSAGE];
    handshake(true, msgs);

    double ref_hs = 0, ref_box = 0, ref_unbox = 0;
    if (!node_figures(argv[1], quick ? 50 : 2000, quick ? 4 : 64, &ref_hs, &ref_box, &ref_unbox))
        fprintf(stderr, "bench_shs: the reference's figures are missing (node_shs.js failed)\n");
    double box, unbox;
    box_stream((size_t)megabytes << 20, &box, &unbox);
    row("handshakes/s, both sides in one thread", rate(n, both, NULL, false), "hs/s", 5000, ref_hs);
    row("handshakes/s, the server's side alone", rate(n, side, msgs, true), "hs/s", 5000, 0);
    row("handshakes/s, the client's side alone", rate(n, side, msgs, false), "hs/s", 5000, 0);
    use_cache = true; /* the peer's key was converted once, on a handshake before */
    row("  the server's side, a client met before", rate(n, side, msgs, true), "hs/s", 5000, 0);
    row("  the client's side, a server met before", rate(n, side, msgs, false), "hs/s", 5000, 0);
    row("box stream: boxing, 4096-byte chunks", box, "MB/s", 500, ref_box);
    row("box stream: unboxing, 64 KiB reads", unbox, "MB/s", 500, ref_unbox);
    return ref_hs > 0 ? 0 : 1;
}

/* mDNS candidates on a LAN of our own: a network namespace with a veth pair, 10.98.0.1 on one
 * end (named shoalm0: libnice passes over interfaces named veth*). Two peers that hide their host
 * addresses behind `<uuid>.local` names signal no address and still meet, each having looked the
 * other's name up; a name nobody answers costs two queries and is dropped; a peer's lookups are
 * bounded; the responder answers a legacy unicast query to its sender and multicasts an answer at
 * most once a second. */
#include "harness.h"
#include "shoal/mdns.h"
#include "shoal/rtc.h"

#include <arpa/inet.h>
#include <glib.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LAN "10.98.0.1"

static shoal_rtc *rtc;
static GMainLoop *loop;
static GString *logged; /* what rtc logged, a line each */

static void on_log(shoal_log_level level, const char *module, const char *msg, void *ud)
{
    (void)level, (void)module, (void)ud;
    g_string_append_printf(logged, "%s\n", msg);
}

typedef struct side {
    shoal_rtc_peer *peer;
    struct side *other;
    bool open;
    int closed;
    GString *signalled; /* every candidate it signalled, one per line */
} side;

static side a, b;

static void on_description(shoal_rtc_peer *p, bool offer, const char *sdp, void *ud)
{
    (void)p;
    side *s = ud;
    CHECK_EQ_ERR(shoal_rtc_peer_set_remote(s->other->peer, offer, sdp, strlen(sdp)), SHOAL_OK);
}

static void on_candidate(shoal_rtc_peer *p, const char *candidate, void *ud)
{
    (void)p;
    side *s = ud;
    g_string_append_printf(s->signalled, "%s\n", candidate);
    if (s->other->peer)
        CHECK_EQ_ERR(shoal_rtc_peer_add_candidate(s->other->peer, candidate), SHOAL_OK);
}

static void on_open(shoal_rtc_peer *p, void *ud)
{
    (void)p;
    ((side *)ud)->open = true;
    if (a.open && b.open)
        g_main_loop_quit(loop);
}

static void on_message(shoal_rtc_peer *p, const uint8_t *d, size_t n, bool bin, void *ud)
{
    (void)p, (void)d, (void)n, (void)bin, (void)ud;
}

static void on_closed(shoal_rtc_peer *p, int err, void *ud)
{
    (void)p;
    side *s = ud;
    s->closed = err;
    s->peer = NULL;
    if (a.closed != -1 && b.closed != -1)
        g_main_loop_quit(loop);
}

static const shoal_rtc_callbacks callbacks = {on_description, on_candidate, on_open, on_message,
                                              NULL,           on_closed,    NULL};

static gboolean give_up(gpointer ud)
{
    (void)ud;
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

static void run_ms(unsigned ms)
{
    guint guard = g_timeout_add(ms, give_up, NULL);
    g_main_loop_run(loop);
    GSource *s = g_main_context_find_source_by_id(NULL, guard);
    if (s && !g_source_is_destroyed(s))
        g_source_remove(guard);
}

/* A socket on the mDNS port, joined to the group: it hears every query and multicast answer. */
static int listener(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), one = 1;
    struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons(SHOAL_MDNS_PORT)};
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    CHECK(bind(fd, (struct sockaddr *)&any, sizeof any) == 0);
    struct ip_mreqn m = {.imr_ifindex = (int)if_nametoindex("shoalm0")};
    inet_pton(AF_INET, SHOAL_MDNS_GROUP4, &m.imr_multiaddr);
    CHECK(setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) == 0);
    CHECK(setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m) == 0);
    return fd;
}

/* Everything the socket holds, as GBytes. */
static GPtrArray *drain(int fd)
{
    GPtrArray *got = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    uint8_t buf[SHOAL_MDNS_MAX_MESSAGE];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
        g_ptr_array_add(got, g_bytes_new(buf, (size_t)n));
    return got;
}

/* How many of the datagrams ask for `name`'s address, and how many answer it. */
static void count(const GPtrArray *got, const char *name, int *queries, int *answers)
{
    *queries = *answers = 0;
    for (guint d = 0; d < got->len; d++) {
        gsize n;
        const uint8_t *buf = g_bytes_get_data(g_ptr_array_index(got, d), &n);
        shoal_mdns_message m;
        if (shoal_mdns_parse(buf, n, &m) != SHOAL_OK)
            continue;
        for (size_t i = 0; i < m.nquestions && !m.response; i++)
            *queries +=
                strcmp(m.questions[i].name, name) == 0 && m.questions[i].type == SHOAL_MDNS_A;
        for (size_t i = 0; i < m.nrecords && m.response; i++)
            *answers += strcmp(m.records[i].name, name) == 0;
    }
}

static void start(void)
{
    a = (side){.other = &b, .closed = -1, .signalled = g_string_new("")};
    b = (side){.other = &a, .closed = -1, .signalled = g_string_new("")};
    b.peer = shoal_rtc_peer_new(rtc, false, NULL, NULL, &callbacks, &b);
    a.peer = shoal_rtc_peer_new(rtc, true, "shoal", NULL, &callbacks, &a);
    CHECK(a.peer && b.peer);
}

static void finish(void)
{
    if (a.peer)
        shoal_rtc_peer_close(a.peer);
    if (b.peer)
        shoal_rtc_peer_close(b.peer);
    for (int i = 0; i < 10 && (a.closed == -1 || b.closed == -1); i++)
        run_ms(1000);
    g_string_free(a.signalled, TRUE);
    g_string_free(b.signalled, TRUE);
}

/* The name the side's host candidate went behind, into name. */
static void hidden_name(const side *s, char name[SHOAL_MDNS_NAME_SIZE])
{
    gchar **lines = g_strsplit(s->signalled->str, "\n", -1);
    name[0] = '\0';
    for (gchar **l = lines; *l && !name[0]; l++)
        if (!shoal_mdns_candidate_name(*l, name))
            name[0] = '\0';
    g_strfreev(lines);
}

static void hidden_peers_meet_through_their_names(void)
{
    start();
    run_ms(15000);
    CHECK(a.open && b.open);
    /* no address of ours was signalled, only names */
    CHECK(strstr(a.signalled->str, LAN) == NULL);
    CHECK(strstr(b.signalled->str, LAN) == NULL);
    CHECK(strstr(a.signalled->str, ".local ") != NULL);
    char name[SHOAL_MDNS_NAME_SIZE];
    hidden_name(&a, name);
    CHECK(shoal_mdns_name_valid(name, strlen(name)));
    shoal_rtc_path path;
    CHECK(a.peer && shoal_rtc_peer_path(a.peer, &path));
    if (a.peer && shoal_rtc_peer_path(a.peer, &path)) {
        CHECK_EQ_STR(path.local_type, "host");
        CHECK_EQ_STR(path.remote_type, "host"); /* looked up, not learnt from its checks */
        CHECK(strncmp(path.remote, LAN ":", strlen(LAN) + 1) == 0);
    }
    finish();
}

static void the_responder_answers_legacy_and_multicast_queries(void)
{
    start();
    run_ms(15000);
    char name[SHOAL_MDNS_NAME_SIZE];
    hidden_name(&a, name);
    int group = listener();

    /* a legacy unicast query, from a port not 5353: answered to its sender, id kept, TTL ≤ 10 */
    int q = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in from = {.sin_family = AF_INET};
    inet_pton(AF_INET, LAN, &from.sin_addr);
    CHECK(bind(q, (struct sockaddr *)&from, sizeof from) == 0);
    struct ip_mreqn via = {.imr_ifindex = (int)if_nametoindex("shoalm0")};
    setsockopt(q, IPPROTO_IP, IP_MULTICAST_IF, &via, sizeof via);
    uint8_t msg[128];
    size_t len = shoal_mdns_query_write(name, SHOAL_MDNS_A, msg, sizeof msg);
    msg[0] = 0x42, msg[1] = 0x17;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(SHOAL_MDNS_PORT)};
    inet_pton(AF_INET, SHOAL_MDNS_GROUP4, &to.sin_addr);
    CHECK(sendto(q, msg, len, 0, (struct sockaddr *)&to, sizeof to) == (ssize_t)len);
    run_ms(300);
    uint8_t buf[SHOAL_MDNS_MAX_MESSAGE];
    ssize_t n = recv(q, buf, sizeof buf, MSG_DONTWAIT);
    shoal_mdns_message m;
    CHECK(n > 0 && shoal_mdns_parse(buf, (size_t)n, &m) == SHOAL_OK);
    if (n > 0 && shoal_mdns_parse(buf, (size_t)n, &m) == SHOAL_OK) {
        CHECK(m.response);
        CHECK_EQ_INT(m.id, 0x4217);
        CHECK_EQ_INT(m.nquestions, 1); /* the question, repeated */
        CHECK_EQ_STR(m.questions[0].name, name);
        CHECK_EQ_INT(m.nrecords, 1);
        CHECK_EQ_STR(m.records[0].name, name);
        CHECK_EQ_INT(m.records[0].ttl, 10);
        CHECK_EQ_MEM(m.records[0].addr, 4, ((uint8_t[]){10, 98, 0, 1}), 4);
    }
    close(q);

    /* multicast queries from port 5353, three in a row: one multicast answer */
    msg[0] = msg[1] = 0;
    run_ms(1100); /* the last multicast answer (a's own lookup of it) is a second old */
    g_ptr_array_unref(drain(group));
    for (int i = 0; i < 3; i++)
        CHECK(sendto(group, msg, len, 0, (struct sockaddr *)&to, sizeof to) == (ssize_t)len);
    run_ms(300);
    GPtrArray *got = drain(group);
    int queries, answers;
    count(got, name, &queries, &answers);
    g_ptr_array_unref(got);
    CHECK_EQ_INT(queries, 3);
    CHECK_EQ_INT(answers, 1);
    close(group);
    finish();
}

static void unanswered_and_excess_names_are_bounded(void)
{
    int group = listener();
    a = (side){.other = &b, .closed = -1, .signalled = g_string_new("")};
    b = (side){.other = &a, .closed = -1, .signalled = g_string_new("")};
    b.peer = shoal_rtc_peer_new(rtc, false, NULL, NULL, &callbacks, &b);
    /* ten names nobody holds: the first four are asked for, twice each (but nobody-1, answered
     * at once below), then dropped */
    for (int i = 0; i < 10; i++) {
        char line[160];
        snprintf(line, sizeof line, "candidate:%d 1 udp 2122260223 nobody-%d.local %d typ host", i,
                 i, 5000 + i);
        CHECK_EQ_ERR(shoal_rtc_peer_add_candidate(b.peer, line), SHOAL_OK);
    }
    /* an answer for nobody-0 from a port not 5353 is not believed; one from 5353 is */
    shoal_mdns_record lie = {.name = "nobody-0.local", .addr = {10, 98, 0, 1}, .ttl = 120};
    uint8_t answer[128];
    size_t alen = shoal_mdns_answer_write(&lie, 1, NULL, 0, answer, sizeof answer);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(SHOAL_MDNS_PORT)};
    inet_pton(AF_INET, SHOAL_MDNS_GROUP4, &to.sin_addr);
    int other = socket(AF_INET, SOCK_DGRAM, 0);
    struct ip_mreqn via = {.imr_ifindex = (int)if_nametoindex("shoalm0")};
    setsockopt(other, IPPROTO_IP, IP_MULTICAST_IF, &via, sizeof via);
    g_string_truncate(logged, 0);
    CHECK(sendto(other, answer, alen, 0, (struct sockaddr *)&to, sizeof to) == (ssize_t)alen);
    run_ms(300);
    CHECK(strstr(logged->str, "mDNS: nobody-0.local is") == NULL);
    lie.name[7] = '1'; /* nobody-1 */
    alen = shoal_mdns_answer_write(&lie, 1, NULL, 0, answer, sizeof answer);
    CHECK(sendto(group, answer, alen, 0, (struct sockaddr *)&to, sizeof to) == (ssize_t)alen);
    run_ms(300);
    CHECK(strstr(logged->str, "mDNS: nobody-1.local is 10.98.0.1") != NULL);
    close(other);
    run_ms(3700);
    GPtrArray *got = drain(group);
    for (int i = 0; i < 10; i++) {
        char name[32];
        snprintf(name, sizeof name, "nobody-%d.local", i);
        int queries, answers;
        count(got, name, &queries, &answers);
        CHECK_EQ_INT(answers, i < 2); /* ours, above */
        if (i == 1)
            CHECK_EQ_INT(queries, 1);
        else if (i < 4)
            CHECK_EQ_INT(queries, 2);
        else
            CHECK_EQ_INT(queries, 0);
    }
    g_ptr_array_unref(got);
    close(group);
    shoal_rtc_peer_abandon(b.peer);
    g_string_free(a.signalled, TRUE);
    g_string_free(b.signalled, TRUE);
}

/* Runs itself again in a network namespace of its own, with one multicast-capable interface. */
static void isolate(char **argv)
{
    if (getenv("SHOAL_NETNS"))
        return;
    setenv("SHOAL_NETNS", "1", 1);
    const char *setup = "ip link set lo up && ip link add shoalm0 type veth peer name shoalm1 && "
                        "ip addr add " LAN "/24 dev shoalm0 && ip link set shoalm0 up && "
                        "ip link set shoalm1 up && exec \"$0\"";
    if (geteuid() == 0)
        execlp("unshare", "unshare", "-n", "sh", "-c", setup, argv[0], (char *)NULL);
    else
        execlp("unshare", "unshare", "-r", "-n", "sh", "-c", setup, argv[0], (char *)NULL);
    perror("unshare");
    exit(1);
}

int main(int argc, char **argv)
{
    (void)argc;
    isolate(argv);
    static const char *const lan[] = {LAN, NULL};
    shoal_rtc_config cfg = {.local_addresses = lan, .mdns = SHOAL_RTC_MDNS_HIDE};
    logged = g_string_new("");
    shoal_log_set_level(SHOAL_LOG_INFO);
    shoal_log_set_sink(on_log, NULL);
    CHECK_EQ_ERR(shoal_rtc_new(&cfg, &rtc), SHOAL_OK);
    loop = g_main_loop_new(NULL, FALSE);
    RUN(hidden_peers_meet_through_their_names);
    RUN(the_responder_answers_legacy_and_multicast_queries);
    RUN(unanswered_and_excess_names_are_bounded);
    shoal_rtc_free(rtc);
    g_main_loop_unref(loop);
    g_string_free(logged, TRUE);
    return harness_finish();
}

/* Multicast DNS as WebRTC's mDNS candidates use it: names of one label under .local, queries and
 * answers written as RFC 6762 asks and read back, a browser's answer read, anything malformed
 * (cut short, looping, overlong) refused, and candidate lines whose address is such a name. */
#include "harness.h"
#include "shoal/mdns.h"

#include <stdlib.h>
#include <string.h>

static int parse(const uint8_t *msg, size_t len, shoal_mdns_message *out)
{
    char *guarded = harness_guarded((const char *)msg, len);
    int rc = shoal_mdns_parse((const uint8_t *)guarded, len, out);
    free(guarded);
    return rc;
}

static void names_are_one_label_under_local(void)
{
    static const char *const good[] = {"a.local", "1f0e9c3a-5b7d-4e21-9a0b-7c6d5e4f3a21.local",
                                       "Host-1.LOCAL", "x_y.local."};
    static const char *const bad[] = {"",         ".local",    "local",   "a.b.local",
                                      "a.localx", "a .local",  "a.lan",   "a..local",
                                      "é.local",  "a.local..", "10.0.0.1"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK(shoal_mdns_name_valid(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(!shoal_mdns_name_valid(bad[i], strlen(bad[i])));
    char longest[64 + 6 + 1];
    memset(longest, 'a', 63);
    memcpy(longest + 63, ".local", 7);
    CHECK(shoal_mdns_name_valid(longest, strlen(longest)));
    memset(longest, 'a', 64);
    memcpy(longest + 64, ".local", 7);
    CHECK(!shoal_mdns_name_valid(longest, strlen(longest)));
}

static void a_query_asks_one_question(void)
{
    uint8_t msg[128];
    size_t len = shoal_mdns_query_write("Peer-1.local", SHOAL_MDNS_AAAA, msg, sizeof msg);
    static const uint8_t want[] = {0,   0,   0,   0,   0,   1,   0,   0,   0,   0,
                                   0,   0,   6,   'p', 'e', 'e', 'r', '-', '1', 5,
                                   'l', 'o', 'c', 'a', 'l', 0,   0,   28,  0,   1};
    CHECK_EQ_MEM(msg, len, want, sizeof want);
    shoal_mdns_message m;
    CHECK_EQ_ERR(parse(msg, len, &m), SHOAL_OK);
    CHECK(!m.response);
    CHECK_EQ_INT(m.nquestions, 1);
    CHECK_EQ_STR(m.questions[0].name, "peer-1.local");
    CHECK_EQ_INT(m.questions[0].type, SHOAL_MDNS_AAAA);
    CHECK_EQ_INT(shoal_mdns_query_write("peer.lan", SHOAL_MDNS_A, msg, sizeof msg), 0);
    CHECK_EQ_INT(shoal_mdns_query_write("Peer-1.local", SHOAL_MDNS_A, msg, len - 1), 0);
}

static void answers_read_back(void)
{
    shoal_mdns_record r[2] = {
        {.name = "peer.local", .addr = {10, 0, 0, 7}, .ttl = 120},
        {.name = "peer.local", .v6 = true, .addr = {0xfd, 0, [15] = 1}, .ttl = 120}};
    uint8_t msg[256];
    size_t len = shoal_mdns_answer_write(r, 2, NULL, 0, msg, sizeof msg);
    CHECK(len > 12);
    CHECK_EQ_INT(msg[2], 0x84); /* QR, AA */
    shoal_mdns_message m;
    CHECK_EQ_ERR(parse(msg, len, &m), SHOAL_OK);
    CHECK(m.response);
    CHECK_EQ_INT(m.id, 0);
    CHECK_EQ_INT(m.nrecords, 2);
    CHECK_EQ_STR(m.records[1].name, "peer.local");
    CHECK(m.records[1].v6);
    CHECK_EQ_MEM(m.records[1].addr, 16, r[1].addr, 16);
    CHECK_EQ_INT(m.records[0].ttl, 120);
    /* the second name points back at the first; the multicast answer sets cache-flush */
    CHECK_EQ_INT(msg[12 + 12 + 2], 0x80);
    CHECK_EQ_INT(msg[12 + 12 + 10 + 4], 0xC0);

    /* a legacy unicast answer: the query's id, its question, TTL at most 10 s */
    shoal_mdns_question q = {.name = "peer.local", .type = SHOAL_MDNS_A};
    len = shoal_mdns_answer_write(r, 1, &q, 0x1234, msg, sizeof msg);
    CHECK_EQ_ERR(parse(msg, len, &m), SHOAL_OK);
    CHECK_EQ_INT(m.id, 0x1234);
    CHECK_EQ_INT(m.nquestions, 1);
    CHECK_EQ_INT(m.nrecords, 1);
    CHECK_EQ_INT(m.records[0].ttl, 10);
    CHECK_EQ_INT(shoal_mdns_answer_write(r, 2, NULL, 0, msg, 40), 0);
}

/* An answer as Chromium's responder sends it for a WebRTC candidate's name. */
static const uint8_t browser_answer[] = {
    0,   0,   0x84, 0,   0,    0,   0,   1,   0,   0,   0,   0,   36,  '4', '4', '0', 'c', '8',
    'a', '2', 'e',  '-', 'b',  '2', '9', 'd', '-', '4', 'e', '3', 'f', '-', '9', '0', 'a', '1',
    '-', '7', 'c',  '3', 'f',  '5', 'e', '2', '1', 'd', '0', 'b', '8', 5,   'l', 'o', 'c', 'a',
    'l', 0,   0,    1,   0x80, 1,   0,   0,   0,   120, 0,   4,   10,  99,  0,   1};

static void a_browsers_answer_is_read(void)
{
    shoal_mdns_message m;
    CHECK_EQ_ERR(parse(browser_answer, sizeof browser_answer, &m), SHOAL_OK);
    CHECK_EQ_INT(m.nrecords, 1);
    CHECK_EQ_STR(m.records[0].name, "440c8a2e-b29d-4e3f-90a1-7c3f5e21d0b8.local");
    CHECK(!m.records[0].v6);
    CHECK_EQ_MEM(m.records[0].addr, 4, ((uint8_t[]){10, 99, 0, 1}), 4);
    CHECK_EQ_INT(m.records[0].ttl, 120);
}

static void every_shorter_message_is_refused(void)
{
    shoal_mdns_message m;
    for (size_t n = 0; n < sizeof browser_answer; n++)
        CHECK_EQ_ERR(parse(browser_answer, n, &m), SHOAL_E_MDNS);
}

static void names_that_loop_or_point_forward_are_refused(void)
{
    /* one question whose name is a label and then a pointer to its own start */
    static const uint8_t loop[] = {0, 0, 0, 0,   0,    1,  0, 0, 0, 0,
                                   0, 0, 1, 'a', 0xC0, 12, 0, 1, 0, 1};
    /* a pointer to a place after itself */
    static const uint8_t forward[] = {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 14, 0, 0, 1, 0, 1};
    /* the second question points into the first, which is fine */
    static const uint8_t backward[] = {0, 0, 0,   0,    0,   2,   0,   0,   0,   0, 0,
                                       0, 1, 'a', 5,    'l', 'o', 'c', 'a', 'l', 0, 0,
                                       1, 0, 1,   0xC0, 12,  0,   28,  0,   1};
    /* a label type of the old extensions (0x40) */
    static const uint8_t extended[] = {0, 0, 0,    0,   0, 1, 0, 0, 0, 0,
                                       0, 0, 0x41, 'a', 0, 0, 1, 0, 1};
    shoal_mdns_message m;
    CHECK_EQ_ERR(parse(loop, sizeof loop, &m), SHOAL_E_MDNS);
    CHECK_EQ_ERR(parse(forward, sizeof forward, &m), SHOAL_E_MDNS);
    CHECK_EQ_ERR(parse(extended, sizeof extended, &m), SHOAL_E_MDNS);
    CHECK_EQ_ERR(parse(backward, sizeof backward, &m), SHOAL_OK);
    CHECK_EQ_INT(m.nquestions, 2);
    CHECK_EQ_STR(m.questions[1].name, "a.local");
}

/* A message whose second record's name enters a chain of `k` pointers, each to the one before
 * it, laid in the first record's (skipped) data and ending at the root: k + 1 jumps. */
static size_t pointer_chain(uint8_t *msg, int k)
{
    static const uint8_t head[] = {0, 0, 0x84, 0,  0, 0, 0, 2, 0, 0, 0,
                                   0, 0, 0,    16, 0, 1, 0, 0, 0, 9};
    memcpy(msg, head, sizeof head);
    size_t n = sizeof head;
    msg[n++] = 0, msg[n++] = (uint8_t)(1 + 2 * k); /* rdlength */
    size_t root = n;
    msg[n++] = 0;
    for (int i = 0; i < k; i++) {
        size_t target = i == 0 ? root : n - 2;
        msg[n++] = 0xC0, msg[n++] = (uint8_t)target;
    }
    size_t last = n - 2;
    msg[n++] = 0xC0, msg[n++] = (uint8_t)last;
    static const uint8_t tail[] = {0, 1, 0, 1, 0, 0, 0, 9, 0, 4, 1, 2, 3, 4};
    memcpy(msg + n, tail, sizeof tail);
    return n + sizeof tail;
}

static void long_pointer_chains_are_refused(void)
{
    uint8_t msg[128];
    shoal_mdns_message m;
    CHECK_EQ_ERR(parse(msg, pointer_chain(msg, 15), &m), SHOAL_OK); /* 16 jumps */
    CHECK_EQ_ERR(parse(msg, pointer_chain(msg, 16), &m), SHOAL_E_MDNS);
}

static void other_opcodes_and_errors_are_refused(void)
{
    uint8_t msg[sizeof browser_answer];
    memcpy(msg, browser_answer, sizeof msg);
    shoal_mdns_message m;
    msg[2] = 0x84 | 0x20; /* opcode 4, NOTIFY */
    CHECK_EQ_ERR(parse(msg, sizeof msg, &m), SHOAL_E_MDNS);
    msg[2] = 0x84;
    msg[3] = 3; /* NXDOMAIN */
    CHECK_EQ_ERR(parse(msg, sizeof msg, &m), SHOAL_E_MDNS);
}

static void overlong_names_and_counts_are_refused(void)
{
    /* five labels of 63 bytes: 320 bytes, past DNS's 255 */
    uint8_t msg[12 + 5 * 64 + 1 + 4] = {0, 0, 0, 0, 0, 1};
    size_t n = 12;
    for (int i = 0; i < 5; i++) {
        msg[n++] = 63;
        memset(msg + n, 'a', 63);
        n += 63;
    }
    msg[n++] = 0;
    msg[n + 1] = 1, msg[n + 3] = 1;
    n += 4;
    shoal_mdns_message m;
    CHECK_EQ_ERR(parse(msg, n, &m), SHOAL_E_MDNS);
    /* 65 questions and records claimed */
    uint8_t many[12] = {0, 0, 0, 0, 0, 60, 0, 5};
    CHECK_EQ_ERR(parse(many, sizeof many, &m), SHOAL_E_MDNS);
}

static void only_what_resolves_a_name_is_kept(void)
{
    /* an answer with a PTR record, a TXT record, an A record of a name of two labels, a record
     * of a class not IN, and then the one wanted A record */
    static const uint8_t msg[] = {
        0, 0, 0x84, 0,  0, 0, 0,    5,   0, 0,   0,    0,    1,  'a',  5,   'l', 'o', 'c', 'a', 'l',
        0, 0, 12,   0,  1, 0, 0,    0,   9, 0,   2,    0xC0, 12, 0xC0, 12,  0,   16,  0,   1,   0,
        0, 0, 9,    0,  3, 2, 'h',  'i', 1, 'b', 0xC0, 12,   0,  1,    0,   1,   0,   0,   0,   9,
        0, 4, 1,    2,  3, 4, 0xC0, 12,  0, 1,   0,    3,    0,  0,    0,   9,   0,   4,   1,   2,
        3, 4, 0xC0, 12, 0, 1, 0x80, 1,   0, 0,   0,    9,    0,  4,    192, 168, 1,   9};
    shoal_mdns_message m;
    CHECK_EQ_ERR(parse(msg, sizeof msg, &m), SHOAL_OK);
    CHECK_EQ_INT(m.nrecords, 1);
    CHECK_EQ_STR(m.records[0].name, "a.local");
    CHECK_EQ_MEM(m.records[0].addr, 4, ((uint8_t[]){192, 168, 1, 9}), 4);
    CHECK_EQ_INT(m.records[0].ttl, 9);
    /* an A record whose length is not 4 is stepped over */
    uint8_t odd[sizeof msg];
    memcpy(odd, msg, sizeof msg);
    odd[sizeof msg - 5] = 3;
    CHECK_EQ_ERR(parse(odd, sizeof msg - 1, &m), SHOAL_OK);
    CHECK_EQ_INT(m.nrecords, 0);
}

static void labels_never_pass_for_other_labels(void)
{
    /* one label "a.local" under the root; "a" then "local" then a label holding a NUL: neither
     * is the name a.local, and neither is kept */
    static const uint8_t dotted[] = {0, 0,   0x84, 0,   0,   0,   0,   1,   0, 0, 0, 0,
                                     7, 'a', '.',  'l', 'o', 'c', 'a', 'l', 0, 0, 1, 0,
                                     1, 0,   0,    0,   9,   0,   4,   1,   2, 3, 4};
    static const uint8_t nul[] = {0,   0, 0x84, 0,   0,   0,   0,   1, 0, 0, 0, 0, 1,
                                  'a', 5, 'l',  'o', 'c', 'a', 'l', 1, 0, 0, 0, 1, 0,
                                  1,   0, 0,    0,   9,   0,   4,   1, 2, 3, 4};
    shoal_mdns_message m;
    CHECK_EQ_ERR(parse(dotted, sizeof dotted, &m), SHOAL_OK);
    CHECK_EQ_INT(m.nrecords, 0);
    CHECK_EQ_ERR(parse(nul, sizeof nul, &m), SHOAL_OK);
    CHECK_EQ_INT(m.nrecords, 0);
}

static void candidates_with_mdns_names(void)
{
    char name[SHOAL_MDNS_NAME_SIZE], out[256];
    const char *browser = "candidate:2213714502 1 udp 2113937151 "
                          "440C8A2E-b29d-4e3f-90a1-7c3f5e21d0b8.local 53709 typ host generation 0 "
                          "network-cost 999";
    CHECK(shoal_mdns_candidate_name(browser, name));
    CHECK_EQ_STR(name, "440c8a2e-b29d-4e3f-90a1-7c3f5e21d0b8.local");
    CHECK(!shoal_mdns_candidate_name("candidate:1 1 udp 1 10.0.0.1 5000 typ host", name));
    CHECK(!shoal_mdns_candidate_name("a=candidate:1 1 udp 1 x.local 5000 typ", name));
    CHECK(shoal_mdns_candidate_name("a=candidate:1 1 udp 1 x.local 5000 typ host", name));

    CHECK_EQ_ERR(shoal_mdns_candidate_rewrite(browser, "10.99.0.1", false, out, sizeof out),
                 SHOAL_OK);
    CHECK_EQ_STR(out, "candidate:2213714502 1 udp 2113937151 10.99.0.1 53709 typ host generation 0 "
                      "network-cost 999");
    const char *srflx = "a=candidate:3 1 UDP 1686052607 203.0.113.5 40000 typ srflx raddr "
                        "192.168.1.5 rport 40001";
    CHECK_EQ_ERR(shoal_mdns_candidate_rewrite(srflx, NULL, true, out, sizeof out), SHOAL_OK);
    CHECK_EQ_STR(out, "candidate:3 1 UDP 1686052607 203.0.113.5 40000 typ srflx raddr 0.0.0.0 "
                      "rport 0");
    CHECK_EQ_ERR(shoal_mdns_candidate_rewrite(srflx, NULL, true, out, 40), SHOAL_E_RTC_CANDIDATE);
    CHECK_EQ_ERR(shoal_mdns_candidate_rewrite("candidate:1 1 udp", NULL, true, out, sizeof out),
                 SHOAL_E_RTC_CANDIDATE);
    CHECK_EQ_ERR(
        shoal_mdns_candidate_rewrite("m=audio 1 2 3 4 5 typ host", NULL, false, out, sizeof out),
        SHOAL_E_RTC_CANDIDATE);
}

int main(void)
{
    RUN(names_are_one_label_under_local);
    RUN(a_query_asks_one_question);
    RUN(answers_read_back);
    RUN(a_browsers_answer_is_read);
    RUN(every_shorter_message_is_refused);
    RUN(names_that_loop_or_point_forward_are_refused);
    RUN(overlong_names_and_counts_are_refused);
    RUN(long_pointer_chains_are_refused);
    RUN(other_opcodes_and_errors_are_refused);
    RUN(only_what_resolves_a_name_is_kept);
    RUN(labels_never_pass_for_other_labels);
    RUN(candidates_with_mdns_names);
    return harness_finish();
}

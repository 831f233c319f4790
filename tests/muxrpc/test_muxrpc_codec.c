/* The packet codec: headers byte for byte, every way a packet can be split on arrival, the
 * goodbye, and the errors (an undefined body type, a body over the limit, bytes after goodbye). */
#include "harness.h"
#include "shoal/muxrpc.h"

#include <stdlib.h>
#include <string.h>

static void headers_are_written_as_the_reference_writes_them(void)
{
    uint8_t h[9];
    shoal_rpc_packet p = {true, true, SHOAL_RPC_JSON, -3, NULL, 4};
    shoal_rpc_header_encode(&p, h);
    CHECK_EQ_MEM(h, 9, "\x0e\x00\x00\x00\x04\xff\xff\xff\xfd", 9);
    p = (shoal_rpc_packet){false, false, SHOAL_RPC_STRING, 0x01020304, NULL, 0x10203};
    shoal_rpc_header_encode(&p, h);
    CHECK_EQ_MEM(h, 9, "\x01\x00\x01\x02\x03\x01\x02\x03\x04", 9);
}

/* Two packets and a goodbye. */
static const uint8_t wire[] = "\x09\x00\x00\x00\x03\x00\x00\x00\x07"
                              "abc"
                              "\x06\x00\x00\x00\x04\xff\xff\xff\xf9"
                              "true"
                              "\x00\x00\x00\x00\x00\x00\x00\x00\x00";
#define WIRE_LEN (sizeof wire - 1)

/* Decodes wire[0..len) in pieces of `step`, checking what comes out. */
static void decode_in_pieces(size_t step)
{
    shoal_rpc_decoder dec;
    shoal_rpc_decoder_init(&dec, 1024);
    int packets = 0;
    bool saw_goodbye = false;
    for (size_t at = 0; at < WIRE_LEN;) {
        size_t n = WIRE_LEN - at < step ? WIRE_LEN - at : step;
        char *piece = harness_guarded((const char *)wire + at, n);
        shoal_rpc_packet p;
        bool got, goodbye;
        long used = shoal_rpc_decode(&dec, (const uint8_t *)piece, n, &p, &got, &goodbye);
        CHECK(used > 0);
        if (got && packets++ == 0) {
            CHECK(p.stream && !p.end);
            CHECK_EQ_INT(p.type, SHOAL_RPC_STRING);
            CHECK_EQ_INT(p.req, 7);
            CHECK_EQ_MEM(p.body, p.len, "abc", 3);
        } else if (got) {
            CHECK(!p.stream && p.end);
            CHECK_EQ_INT(p.type, SHOAL_RPC_JSON);
            CHECK_EQ_INT(p.req, -7);
            CHECK_EQ_MEM(p.body, p.len, "true", 4);
        }
        saw_goodbye |= goodbye;
        free(piece);
        at += (size_t)(used > 0 ? used : 1);
    }
    CHECK_EQ_INT(packets, 2);
    CHECK(saw_goodbye);
    shoal_rpc_decoder_free(&dec);
}

static void packets_come_out_whole_however_they_are_split(void)
{
    for (size_t step = 1; step <= WIRE_LEN; step++)
        decode_in_pieces(step);
}

static void every_prefix_of_a_packet_needs_more(void)
{
    for (size_t n = 0; n < 12; n++) {
        shoal_rpc_decoder dec;
        shoal_rpc_decoder_init(&dec, 1024);
        shoal_rpc_packet p;
        bool got, goodbye;
        char *piece = harness_guarded((const char *)wire, n);
        CHECK_EQ_INT(shoal_rpc_decode(&dec, (const uint8_t *)piece, n, &p, &got, &goodbye), n);
        CHECK(!got && !goodbye);
        free(piece);
        shoal_rpc_decoder_free(&dec);
    }
}

static void bad_packets_fail_for_good(void)
{
    static const struct {
        const char *bytes;
        size_t len;
        int err;
    } cases[] = {
        {"\x0b\x00\x00\x00\x01\x00\x00\x00\x01x", 10, SHOAL_E_RPC_TYPE},
        {"\x02\x00\x00\x04\x01\x00\x00\x00\x01", 9, SHOAL_E_RPC_TOO_LARGE},
        {"\x02\xff\xff\xff\xff\x00\x00\x00\x01", 9, SHOAL_E_RPC_TOO_LARGE},
        {"\x00\x00\x00\x00\x00\x00\x00\x00\x00x", 10, SHOAL_E_RPC_CLOSED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        shoal_rpc_decoder dec;
        shoal_rpc_decoder_init(&dec, 1024);
        shoal_rpc_packet p;
        bool got, goodbye;
        const uint8_t *in = (const uint8_t *)cases[i].bytes;
        long rc = shoal_rpc_decode(&dec, in, cases[i].len, &p, &got, &goodbye);
        if (rc > 0) /* the goodbye case: the byte after it comes next */
            rc = shoal_rpc_decode(&dec, in + rc, cases[i].len - (size_t)rc, &p, &got, &goodbye);
        CHECK_EQ_ERR((int)rc, cases[i].err);
        CHECK_EQ_ERR((int)shoal_rpc_decode(&dec, wire, WIRE_LEN, &p, &got, &goodbye), cases[i].err);
        shoal_rpc_decoder_free(&dec);
    }
}

static void a_zero_length_packet_reads_as_goodbye_as_in_the_reference(void)
{
    shoal_rpc_decoder dec;
    shoal_rpc_decoder_init(&dec, 1024);
    shoal_rpc_packet p;
    bool got, goodbye;
    const uint8_t zero_body[] = {0x0e, 0, 0, 0, 0, 0, 0, 0, 5};
    CHECK_EQ_INT(shoal_rpc_decode(&dec, zero_body, 9, &p, &got, &goodbye), 9);
    CHECK(goodbye && !got);
    shoal_rpc_decoder_free(&dec);
}

int main(void)
{
    RUN(headers_are_written_as_the_reference_writes_them);
    RUN(packets_come_out_whole_however_they_are_split);
    RUN(every_prefix_of_a_packet_needs_more);
    RUN(bad_packets_fail_for_good);
    RUN(a_zero_length_packet_reads_as_goodbye_as_in_the_reference);
    return harness_finish();
}

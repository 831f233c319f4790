/* libFuzzer target for what the LAN sends to shoal's multicast DNS socket, and for the candidate
 * lines that carry mDNS names: a message read is written back (its records, as an answer) to one
 * that reads the same; a candidate's name, once read, is a valid name, and a rewritten candidate
 * reads as a candidate again. */
#include "shoal/mdns.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void message(const uint8_t *data, size_t size)
{
    shoal_mdns_message m, back;
    if (shoal_mdns_parse(data, size, &m) != SHOAL_OK)
        return;
    if (m.nquestions > SHOAL_MDNS_MAX_QUESTIONS || m.nrecords > SHOAL_MDNS_MAX_RECORDS)
        abort();
    for (size_t i = 0; i < m.nquestions; i++)
        if (!shoal_mdns_name_valid(m.questions[i].name, strlen(m.questions[i].name)))
            abort();
    uint8_t out[SHOAL_MDNS_MAX_MESSAGE];
    size_t len = shoal_mdns_answer_write(m.records, m.nrecords, NULL, 0, out, sizeof out);
    if (len == 0 || shoal_mdns_parse(out, len, &back) != SHOAL_OK || back.nrecords != m.nrecords)
        abort();
    for (size_t i = 0; i < m.nrecords; i++)
        if (strcmp(back.records[i].name, m.records[i].name) != 0 ||
            back.records[i].v6 != m.records[i].v6 || back.records[i].ttl != m.records[i].ttl ||
            memcmp(back.records[i].addr, m.records[i].addr, 16) != 0)
            abort();
}

static void candidate(const uint8_t *data, size_t size)
{
    if (size > 1024)
        return;
    char text[1025], name[SHOAL_MDNS_NAME_SIZE], out[1100];
    memcpy(text, data, size);
    text[size] = '\0';
    if (shoal_mdns_candidate_name(text, name) && !shoal_mdns_name_valid(name, strlen(name)))
        abort();
    if (shoal_mdns_candidate_rewrite(text, "10.0.0.1", true, out, sizeof out) == SHOAL_OK &&
        shoal_mdns_candidate_name(out, name))
        abort(); /* the name was replaced by an address */
    if (shoal_mdns_name_valid(text, size)) {
        uint8_t q[128];
        shoal_mdns_message m;
        size_t len = shoal_mdns_query_write(text, SHOAL_MDNS_A, q, sizeof q);
        if (len == 0 || shoal_mdns_parse(q, len, &m) != SHOAL_OK || m.nquestions != 1)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    message(data, size);
    candidate(data, size);
    return 0;
}

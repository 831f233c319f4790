/* shoal mdns: the multicast DNS messages (RFC 6762) that resolve and answer the `<name>.local`
 * host candidates behind which WebRTC hides local addresses (draft-ietf-mmusic-mdns-ice-
 * candidates), and the candidate lines that carry such names (pure).
 *
 * Only what that use needs is read: questions and A/AAAA records for names of one label under
 * `local` (a browser's are UUIDs: "1f2e…-….local"). Everything else in a message is stepped over,
 * never kept. A message is a datagram: it is read whole or refused (SHOAL_E_MDNS), with name
 * compression followed only backwards, so no message makes the reader loop or read past its end.
 *
 * Why not a library: Debian's one, Avahi, resolves through a system daemon (absent in containers
 * and network namespaces, and reached over D-Bus), and no other is packaged. */
#ifndef SHOAL_MDNS_H
#define SHOAL_MDNS_H

#include "shoal/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHOAL_MDNS_PORT          5353
#define SHOAL_MDNS_GROUP4        "224.0.0.251"
#define SHOAL_MDNS_NAME_SIZE     72   /* one label (63 at most), ".local", NUL */
#define SHOAL_MDNS_MAX_QUESTIONS 8    /* kept from one message; more are stepped over */
#define SHOAL_MDNS_MAX_RECORDS   8    /* kept from one message; more are stepped over */
#define SHOAL_MDNS_MAX_ENTRIES   64   /* questions and records read from one message, in all */
#define SHOAL_MDNS_MAX_MESSAGE   9000 /* RFC 6762 17: the largest an mDNS datagram may be */
#define SHOAL_MDNS_TTL           120  /* seconds an answer of ours holds (RFC 6762 10) */

typedef enum shoal_mdns_type {
    SHOAL_MDNS_A = 1,
    SHOAL_MDNS_AAAA = 28,
    SHOAL_MDNS_ANY = 255,
} shoal_mdns_type;

typedef struct shoal_mdns_question {
    char name[SHOAL_MDNS_NAME_SIZE]; /* lowercase */
    shoal_mdns_type type;            /* A, AAAA or ANY (others are not kept) */
} shoal_mdns_question;

typedef struct shoal_mdns_record {
    char name[SHOAL_MDNS_NAME_SIZE]; /* lowercase */
    bool v6;                         /* AAAA: 16 bytes of addr, else A: 4 */
    uint8_t addr[16];
    uint32_t ttl; /* seconds; 0 says the name is gone (a goodbye, RFC 6762 10.1) */
} shoal_mdns_record;

typedef struct shoal_mdns_message {
    uint16_t id;
    bool response;
    size_t nquestions, nrecords;
    shoal_mdns_question questions[SHOAL_MDNS_MAX_QUESTIONS];
    shoal_mdns_record records[SHOAL_MDNS_MAX_RECORDS]; /* answers and additional records */
} shoal_mdns_message;

/* Whether name[0..len) is one label (letters, digits, '-', '_'; 1-63 bytes) then ".local",
 * in any case, with or without a final dot. */
bool shoal_mdns_name_valid(const char *name, size_t len);

/* Reads one datagram. SHOAL_E_MDNS when it is not a DNS message: too short, a count or length
 * past its end, a label over 63 bytes, a name over 255, a compression pointer that does not
 * point backwards (or more than 16 in one name), more than SHOAL_MDNS_MAX_ENTRIES questions and
 * records, or an opcode or response code not 0 (RFC 6762 18.3, 18.11). */
SHOAL_MUST_CHECK int shoal_mdns_parse(const uint8_t *msg, size_t len, shoal_mdns_message *out);

/* A query (id 0, multicast answers asked) with one question, for the A or AAAA (`type`) records
 * of `name` (valid), into out[0..cap). The length written; 0 when the name is not valid or cap
 * too small (96 is enough). */
size_t shoal_mdns_query_write(const char *name, shoal_mdns_type type, uint8_t *out, size_t cap);

/* An answer with `records` (at most SHOAL_MDNS_MAX_RECORDS, each name valid), into out[0..cap): for
 * a multicast answer, id 0 and the cache-flush bit set (RFC 6762 10.2); for a legacy unicast one
 * (`question` the query's whose source port was not 5353, RFC 6762 6.7), the query's id, its
 * question repeated and the TTL at most 10 s. The length written; 0 when a name is not valid or cap
 * too small. */
size_t shoal_mdns_answer_write(const shoal_mdns_record *records, size_t n,
                               const shoal_mdns_question *question, uint16_t id, uint8_t *out,
                               size_t cap);

/* ---- Candidate lines ------------------------------------------------------------------------
 * `candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>
 *  [raddr <address> rport <port>] …` (RFC 8839 5.1), with or without "a=". */

/* Whether the candidate's address is an mDNS name; if so the name, lowercase, into name. */
bool shoal_mdns_candidate_name(const char *candidate, char name[SHOAL_MDNS_NAME_SIZE]);

/* The candidate (without "a="), its address replaced by `address` (borrowed; NULL: kept), and
 * with hide_related its related address and port replaced by "0.0.0.0" and 0, as browsers write
 * them when they hide local addresses, into out[0..cap) with a NUL. SHOAL_E_RTC_CANDIDATE when
 * the line is not a candidate or the result does not fit. */
SHOAL_MUST_CHECK int shoal_mdns_candidate_rewrite(const char *candidate, const char *address,
                                                  bool hide_related, char *out, size_t cap);

#endif

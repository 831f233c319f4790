/* shoal discover: what a stored message tells the daemon to do.
 *
 * Two things travel in feeds and change what a peer does (nothing of them is gossiped in a
 * table of its own):
 *   - whom we follow: our own {"type":"contact","contact":ID,"following":bool}, as in every SSB
 *     client; the last such message of ours about ID decides;
 *   - which hubs to join: {"type":"rtc-hub","address":URL}, from any feed we hold, names a hub
 *     (`shoal hubs announce` publishes one).
 * shoal_discover reads one message and says which of these it is. It is pure: no store, no
 * clock, no state; the daemon feeds it each message once, as replication or publishing appends
 * it, and carries out what it says (follow, unfollow, join the hub unless it is blocked). */
#ifndef SHOAL_DISCOVER_H
#define SHOAL_DISCOVER_H

#include "shoal/core.h"
#include "shoal/ref.h"

/* The content types that mean something here. */
#define SHOAL_CONTACT_MESSAGE_TYPE "contact"
#define SHOAL_HUB_MESSAGE_TYPE     "rtc-hub"

typedef enum shoal_discovery_kind {
    SHOAL_DISCOVER_NOTHING,  /* a message of another kind, or one that does not qualify */
    SHOAL_DISCOVER_FOLLOW,   /* our own contact message: follow `feed` */
    SHOAL_DISCOVER_UNFOLLOW, /* our own contact message: stop following `feed` */
    SHOAL_DISCOVER_HUB,      /* `feed` (the message's author) names the hub `hub` */
} shoal_discovery_kind;

typedef struct shoal_discovery {
    shoal_discovery_kind kind;
    uint8_t feed[32];   /* FOLLOW, UNFOLLOW: the contact; HUB: who named the hub */
    shoal_hub_addr hub; /* HUB: the hub (compare with shoal_hub_addr_equal) */
} shoal_discovery;

/* Reads the message text[0..len) (a message's JSON, {"author":…,"content":…,…}, as the feed store
 * keeps it; nothing is read past len) for our own feed `self`:
 *   - FOLLOW or UNFOLLOW when its author is `self`, its content's type is "contact", "contact" is
 *     a feed id other than `self` and "following" is a boolean;
 *   - HUB when its author is a feed id, its content's type is "rtc-hub" and "address" is a hub
 *     address (shoal_hub_addr_parse's, any form it takes);
 *   - NOTHING for anything else: another type, a content that is not an object (a private
 *     message), a field missing or of the wrong kind, an id or an address that does not parse,
 *     a contact naming `self`, another feed's contact message, a keyed message
 *     ({"key","value"}: give it the value).
 * With NOTHING, every other field of *out is zero. Errors: SHOAL_E_JSON when the text is not a
 * JSON object (jansson's reading: a repeated key's last value counts, as in JavaScript; "\u0000"
 * in a string and nesting deeper than 2048 are refused), SHOAL_E_NOMEM; *out then says NOTHING.
 * Messages are not validated here: the store holds only valid ones. */
SHOAL_MUST_CHECK int shoal_discover(const char *text, size_t len, const uint8_t self[32],
                                    shoal_discovery *out);

#endif

/* The feed module's JSON tree, shared by its files. */
#ifndef SHOAL_FEED_INTERNAL_H
#define SHOAL_FEED_INTERNAL_H

#include "shoal/feed.h"

typedef enum shoal_json_kind {
    SHOAL_JSON_NULL,
    SHOAL_JSON_FALSE,
    SHOAL_JSON_TRUE,
    SHOAL_JSON_NUMBER,
    SHOAL_JSON_STRING,
    SHOAL_JSON_ARRAY,
    SHOAL_JSON_OBJECT,
} shoal_json_kind;

struct shoal_json {
    shoal_json_kind kind;
    double num;
    uint16_t *str; /* STRING: UTF-16 */
    size_t slen;
    size_t n, cap;      /* ARRAY, OBJECT */
    shoal_json **items; /* elements, or values in insertion order */
    uint16_t **keys;    /* OBJECT */
    size_t *klens;
};

/* The chain's rules for a message precheck found ok: NULL when it follows `state`, else why
 * not, in ssb-validate's words. */
const char *shoal__msg_chain(const shoal_msg_checked *c, const shoal_feed_state *state);

/* ECMAScript's Number::toString of a finite double. */
void shoal__number_to_string(double x, char out[40]);

#endif

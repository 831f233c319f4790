/* The project's known-answer vectors (the JSON files in tests/vectors), read with jansson. */
#ifndef SHOAL_TEST_VECTORS_H
#define SHOAL_TEST_VECTORS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The parsed file tests/vectors/<name>; exits the test with a message when it cannot be read. */
json_t *vectors_load(const char *name);
/* Decodes the hex string at obj[key] into out[0..cap) and returns its length; exits the test
 * when the key is missing, the hex malformed or the value longer than cap. */
size_t vectors_hex(const json_t *obj, const char *key, uint8_t *out, size_t cap);

#endif

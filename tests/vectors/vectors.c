#include "vectors.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *vectors_load(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", SHOAL_VECTORS_DIR, name);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root) {
        fprintf(stderr, "cannot read %s: %s (line %d)\n", path, err.text, err.line);
        exit(1);
    }
    return root;
}

size_t vectors_hex(const json_t *obj, const char *key, uint8_t *out, size_t cap)
{
    const char *hex = json_string_value(json_object_get(obj, key));
    size_t len = 0;
    if (!hex || sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &len, NULL) != 0) {
        fprintf(stderr, "vector %s: missing, malformed or longer than %zu bytes\n", key, cap);
        exit(1);
    }
    return len;
}

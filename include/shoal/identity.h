/* shoal identity: an SSB identity in the `secret` file format every SSB implementation reads.
 *
 * The file is JSON — {"curve":"ed25519","public":"<base64>.ed25519","private":"<base64>.ed25519",
 * "id":"@<base64>.ed25519"} — among lines starting with '#', which are comments. `private` holds
 * the 64-byte libsodium secret key (seed ‖ public key). So an existing ~/.ssb/secret works, and a
 * file shoal writes works with ssb-server. */
#ifndef SHOAL_IDENTITY_H
#define SHOAL_IDENTITY_H

#include "shoal/core.h"
#include "shoal/ref.h"
#include "shoal/shs.h"

/* Reads a secret file's text[0..len). Errors: SHOAL_E_IDENTITY_FORMAT (not that JSON, a curve
 * other than ed25519, a key that is not base64 of the right size), SHOAL_E_IDENTITY_MISMATCH
 * (the private key's public half, `public` and `id` do not all name the same key). */
SHOAL_MUST_CHECK int shoal_identity_parse(const char *text, size_t len, shoal_keypair *out);

/* Appends the secret file for `keys` (check shoal_buf_status). */
void shoal_identity_format(const shoal_keypair *keys, shoal_buf *out);

/* The feed id of a public key: "@<base64>.ed25519". */
void shoal_identity_feed_id(const uint8_t pub[32], char out[SHOAL_REF_STRSIZE]);

/* Reads the secret file at `path`. SHOAL_E_IDENTITY_IO when it cannot be read (errno tells),
 * else as shoal_identity_parse. */
SHOAL_MUST_CHECK int shoal_identity_load(const char *path, shoal_keypair *out);

/* Reads the secret file at `path`, or, when there is none, creates one (mode 0600, never
 * replacing a file that appears meanwhile) with a fresh identity. *created says which. */
SHOAL_MUST_CHECK int shoal_identity_load_or_create(const char *path, shoal_keypair *out,
                                                   bool *created);

#endif

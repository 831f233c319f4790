/* Validation of classic SSB messages, with ssb-validate's rules and words. See shoal/feed.h. */
#include "feed_internal.h"

#include <math.h>
#include <sodium.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define MAX_LATIN1 8192

static const shoal_json *get(const shoal_json *obj, const char *key)
{
    return shoal_json_member(obj, key);
}

static bool key_is(const shoal_json *obj, size_t i, const char *key)
{
    size_t n = strlen(key), k = 0;
    while (k < n && k < obj->klens[i] && obj->keys[i][k] == (uint8_t)key[k])
        k++;
    return k == n && obj->klens[i] == n;
}

/* The message's keys in the order ssb-validate demands (author and sequence may swap). */
static bool valid_order(const shoal_json *m)
{
    static const char *const a[] = {"previous", "author",  "sequence", "timestamp",
                                    "hash",     "content", "signature"};
    static const char *const b[] = {"previous", "sequence", "author",   "timestamp",
                                    "hash",     "content",  "signature"};
    if (m->n != 7)
        return false;
    bool ok_a = true, ok_b = true;
    for (size_t i = 0; i < 7; i++) {
        ok_a &= key_is(m, i, a[i]);
        ok_b &= key_is(m, i, b[i]);
    }
    return ok_a || ok_b;
}

/* An ASCII string's bytes (NULL if it holds anything else), for ids and base64. */
static bool ascii(const shoal_json *s, char *out, size_t cap)
{
    if (!s || s->kind != SHOAL_JSON_STRING || s->slen >= cap)
        return false;
    for (size_t i = 0; i < s->slen; i++) {
        if (s->str[i] >= 0x80)
            return false;
        out[i] = (char)s->str[i];
    }
    out[s->slen] = '\0';
    return true;
}

static bool u16_ends_with(const shoal_json *s, const char *suffix)
{
    size_t k = strlen(suffix);
    if (s->slen < k)
        return false;
    for (size_t i = 0; i < k; i++)
        if (s->str[s->slen - k + i] != (uint8_t)suffix[i])
            return false;
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Canonical standard base64 of exactly `size` bytes. */
static bool canonical_b64(const char *s, size_t len, uint8_t *out, size_t size, size_t *got)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '='))
            return false;
    }
    *got = 0;
    if (len % 4 != 0 ||
        sodium_base642bin(out, size, s, len, NULL, got, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    /* canonical: encoding the bytes again gives the same text */
    size_t cap = sodium_base64_ENCODED_LEN(*got, sodium_base64_VARIANT_ORIGINAL);
    char *back = shoal_malloc(cap);
    if (!back)
        return false;
    sodium_bin2base64(back, cap, out, *got, sodium_base64_VARIANT_ORIGINAL);
    bool same = strlen(back) == len && memcmp(back, s, len) == 0;
    shoal_free(back);
    return same;
}

static const char *check_content(const shoal_json *c)
{
    if (!c || c->kind == SHOAL_JSON_NULL)
        return "Message content must not be null";
    if (c->kind == SHOAL_JSON_ARRAY)
        return "Message content must not be an array";
    if (c->kind == SHOAL_JSON_STRING) {
        /* encrypted: <base64>.box (or .box2, ...) */
        size_t dot = SIZE_MAX;
        for (size_t i = 0; i + 3 < c->slen; i++)
            if (c->str[i] == '.' && c->str[i + 1] == 'b' && c->str[i + 2] == 'o' &&
                c->str[i + 3] == 'x')
                dot = i;
        if (dot == SIZE_MAX)
            return "Message content string must contain '.box'";
        char *b64 = shoal_malloc(dot + 1);
        uint8_t *bin = shoal_malloc(dot + 1);
        size_t got;
        bool ok = b64 && bin;
        for (size_t i = 0; ok && i < dot; i++) {
            ok = c->str[i] < 0x80;
            b64[i] = (char)c->str[i];
        }
        ok = ok && canonical_b64(b64, dot, bin, dot + 1, &got);
        shoal_free(b64);
        shoal_free(bin);
        return ok ? NULL : "Message content string base64 must be canonical";
    }
    if (c->kind != SHOAL_JSON_OBJECT)
        return "Message content must be a string or an object";
    const shoal_json *type = get(c, "type");
    if (!type || type->kind != SHOAL_JSON_STRING)
        return "Message content type must be a string";
    if (type->slen < 3)
        return "Message content type length must not be less than 3";
    if (type->slen > 52)
        return "Message content type length must not be greater than 52";
    return NULL;
}

/* The checks that need no cryptography, in ssb-validate's order; with `chain` false, all but
 * those against the feed's state (previous and sequence). */
static const char *check_shape(const shoal_json *m, const shoal_feed_state *state, bool chain,
                               shoal_msg_info *info, uint8_t sig[64])
{
    if (m->kind == SHOAL_JSON_NULL)
        return "Message must not be null";
    if (m->kind != SHOAL_JSON_OBJECT)
        return "Message must be an object";
    if (!valid_order(m))
        return "Message must have a valid order";
    const shoal_json *author = get(m, "author");
    char text[256];
    if (!author || author->kind != SHOAL_JSON_STRING)
        return "Message author must be a string";
    if (!ascii(author, text, sizeof text) || !ends_with(text, ".ed25519"))
        return "Message author must end with '.ed25519'";
    /* as ssb-validate decodes it: padding is not checked, only the length of what comes out */
    size_t got = 0;
    const char *b64 = text + (text[0] == '@');
    size_t b64_len = strlen(b64) - strlen(".ed25519");
    while (b64_len > 0 && b64[b64_len - 1] == '=')
        b64_len--;
    uint8_t author_raw[64];
    if (sodium_base642bin(author_raw, sizeof author_raw, b64, b64_len, NULL, &got, NULL,
                          sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0 ||
        got != 32)
        return "Author must decode to a value with 32 bytes";
    memcpy(info->author, author_raw, 32);
    const shoal_json *hash = get(m, "hash");
    if (!ascii(hash, text, sizeof text) || strcmp(text, "sha256") != 0)
        return "Message hash must be 'sha256'";
    const shoal_json *ts = get(m, "timestamp");
    if (!ts || ts->kind != SHOAL_JSON_NUMBER)
        return "Message timestamp must be a number";
    info->timestamp = ts->num;
    const shoal_json *seq = get(m, "sequence");
    if (!seq || seq->kind != SHOAL_JSON_NUMBER)
        return "Message sequence must be a number";
    const shoal_json *prev = get(m, "previous");
    if (!chain) {
        /* judged later, against the state; a sequence no feed reaches can follow nothing */
        if (!(seq->num >= 1 && seq->num <= 9007199254740992.0))
            return "Message sequence must increase by one";
    } else if (state && state->known) {
        char id[64], expected[64];
        sodium_bin2base64(expected + 1, sizeof expected - 1, state->id, 32,
                          sodium_base64_VARIANT_ORIGINAL);
        expected[0] = '%';
        strcat(expected, ".sha256");
        if (!ascii(prev, id, sizeof id) || strcmp(id, expected) != 0)
            return "Message previous must be the previous message ID";
        if (seq->num != (double)state->sequence + 1)
            return "Message sequence must increase by one";
    } else {
        if (!prev || prev->kind != SHOAL_JSON_NULL)
            return "Message previous must be the previous message ID"; /* none: null */
        if (seq->num != 1)
            return "Message sequence must be 1 for the first message";
    }
    info->sequence = (int64_t)seq->num; /* now known to be the previous one's plus one */
    const char *content = check_content(get(m, "content"));
    if (content)
        return content;
    const shoal_json *signature = get(m, "signature");
    if (!signature || signature->kind != SHOAL_JSON_STRING ||
        !u16_ends_with(signature, ".sig.ed25519"))
        return "Message signature must end with '.sig.ed25519'";
    uint8_t raw[128];
    if (!ascii(signature, text, sizeof text) ||
        !canonical_b64(text, strlen(text) - strlen(".sig.ed25519"), raw, sizeof raw, &got))
        return "Signature base64 must be canonical";
    if (got != 64)
        return "Signature must decode to a value with 64 bytes";
    memcpy(sig, raw, 64);
    return NULL;
}

/* The network's HMAC key, as ssb-validate reads it: base64's characters ('=' only at the end),
 * then the length of what they decode to (as Node's lenient decoder counts it). NULL, or why it
 * is refused. */
static const char *hmac_of(const char *hmac_key, uint8_t hmac[32])
{
    if (!hmac_key)
        return NULL;
    size_t key_len = strlen(hmac_key), data = 0;
    bool charset = true;
    for (size_t i = 0; i < key_len; i++) {
        char c = hmac_key[i];
        bool b64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '+' || c == '/';
        charset &= b64 || (c == '=' && i >= key_len - 2);
        data += b64;
    }
    size_t got = 0;
    if (!charset)
        return "HMAC key must be canonical base64";
    if (data * 3 / 4 != 32)
        return "HMAC key must decode to a value with 32 bytes";
    if (!canonical_b64(hmac_key, key_len, hmac, 32, &got))
        return "HMAC key must be canonical base64";
    return NULL;
}

/* Where the canonical text `whole` (UTF-8) of message `m` would end without its signature: when
 * the signature is its last field, as every client writes it, JSON.stringify of the object
 * without it lays the rest out alike, so the text is `whole` up to its last field's line, closed.
 * 0 when it is not so (the text is then laid out anew). */
static size_t without_signature(const shoal_json *m, const shoal_buf *whole)
{
    static const char line[] = ",\n  \"signature\": \"";
    if (!whole || m->n == 0 || !key_is(m, m->n - 1, "signature") || whole->len < 2)
        return 0;
    const char *end = whole->data + whole->len - 2; /* the closing "\n}" */
    const char *nl = end;
    while (nl > whole->data && nl[-1] != '\n')
        nl--;
    if ((size_t)(nl - whole->data) < 2 || memcmp(nl - 2, line, sizeof line - 1) != 0)
        return 0;
    return (size_t)(nl - 2 - whole->data); /* up to the comma before the line */
}

/* Whether `sig` verifies the message's bytes without its signature (over their HMAC when the
 * network has a key); `whole` is its canonical text, or NULL. SHOAL_E_NOMEM aside, *ok says. */
static int signature_verifies(const shoal_json *m, const shoal_buf *whole, const uint8_t sig[64],
                              const uint8_t author[32], const uint8_t *hmac, bool *ok)
{
    shoal_u16buf unsigned_msg = {0};
    shoal_buf bytes = SHOAL_BUF_INIT;
    size_t cut = without_signature(m, whole);
    if (cut > 0) {
        shoal_buf_append(&bytes, whole->data, cut);
        shoal_buf_append(&bytes, "\n}", 2);
    } else {
        shoal_json_stringify(m, "signature", &unsigned_msg);
        shoal_u16_to_utf8(unsigned_msg.data, unsigned_msg.len, &bytes);
    }
    int rc = unsigned_msg.status ? unsigned_msg.status : shoal_buf_status(&bytes);
    if (rc == SHOAL_OK) {
        uint8_t signed_bytes[crypto_auth_BYTES];
        const uint8_t *msg = (const uint8_t *)bytes.data;
        size_t msg_len = bytes.len;
        if (hmac) { /* a network with its own key signs the HMAC of the bytes */
            crypto_auth(signed_bytes, msg, msg_len, hmac);
            msg = signed_bytes;
            msg_len = sizeof signed_bytes;
        }
        *ok = crypto_sign_verify_detached(sig, msg, msg_len, author) == 0;
    }
    shoal_u16buf_free(&unsigned_msg);
    shoal_buf_free(&bytes);
    return rc;
}

/* The id: sha256 over the serialisation's UTF-16 units, each cut to its low byte. */
static void message_id(const shoal_u16buf *whole, uint8_t id[32])
{
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    uint8_t chunk[256];
    for (size_t at = 0; at < whole->len;) {
        size_t n = whole->len - at < sizeof chunk ? whole->len - at : sizeof chunk;
        for (size_t i = 0; i < n; i++)
            chunk[i] = (uint8_t)whole->data[at + i];
        crypto_hash_sha256_update(&h, chunk, n);
        at += n;
    }
    crypto_hash_sha256_final(&h, id);
}

int shoal_msg_validate(const char *text, size_t len, const shoal_feed_state *state,
                       const char *hmac_key, shoal_msg_info *info, const char **reason)
{
    uint8_t hmac[32];
    const char *why = hmac_of(hmac_key, hmac);
    shoal_json *m = NULL;
    int rc = why ? SHOAL_OK : shoal_json_parse(text, len, &m);
    if (rc == SHOAL_E_JSON) {
        why = "Message must be an object";
        rc = SHOAL_OK;
    } else if (rc != SHOAL_OK) {
        return rc;
    }
    shoal_u16buf whole = {0};
    uint8_t sig[64];
    if (!why)
        why = check_shape(m, state, true, info, sig);
    if (!why) {
        shoal_json_stringify(m, NULL, &whole);
        rc = whole.status;
    }
    if (!why && rc == SHOAL_OK) {
        bool ok = false;
        if (whole.len >= MAX_LATIN1)
            why = "Message must decode a value with fewer than 8192 bytes (latin1)";
        else if ((rc = signature_verifies(m, NULL, sig, info->author, hmac_key ? hmac : NULL,
                                          &ok)) == SHOAL_OK &&
                 !ok)
            why = "Signature value must verify the unsigned message bytes";
    }
    if (!why && rc == SHOAL_OK)
        message_id(&whole, info->id);
    shoal_u16buf_free(&whole);
    shoal_json_free(m);
    if (rc != SHOAL_OK)
        return rc;
    if (reason)
        *reason = why;
    return why ? SHOAL_E_MSG_INVALID : SHOAL_OK;
}

/* ---- the dear parts of validation, in parallel ------------------------------------------------
 */

/* How a message names its previous one: 0 null, 1 an id in canonical form, -1 anything else. */
static int previous_of(const shoal_json *prev, uint8_t id[32])
{
    if (prev && prev->kind == SHOAL_JSON_NULL)
        return 0;
    char text[64], again[64] = "%";
    size_t got = 0;
    if (!ascii(prev, text, sizeof text) || text[0] != '%' || !ends_with(text, ".sha256") ||
        sodium_base642bin(id, 32, text + 1, strlen(text) - 1 - strlen(".sha256"), NULL, &got, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        got != 32)
        return -1;
    sodium_bin2base64(again + 1, sizeof again - 1, id, 32, sodium_base64_VARIANT_ORIGINAL);
    strcat(again, ".sha256");
    return strcmp(text, again) == 0 ? 1 : -1; /* the very text a previous message's id makes */
}

/* One message received: its canonical text, and all of validation that needs no state. */
static int precheck(const char *json, size_t len, const uint8_t *hmac, shoal_buf *text,
                    shoal_msg_checked *c)
{
    *c = (shoal_msg_checked){0};
    shoal_json *item;
    int rc = shoal_json_parse(json, len, &item);
    if (rc != SHOAL_OK)
        return rc == SHOAL_E_JSON ? SHOAL_OK : rc;
    const shoal_json *value = item->kind == SHOAL_JSON_OBJECT ? get(item, "value") : NULL;
    const shoal_json *m = value ? value : item;
    shoal_u16buf whole = {0};
    size_t before = text->len;
    shoal_json_stringify(m, NULL, &whole);
    shoal_u16_to_utf8(whole.data, whole.len, text);
    rc = whole.status ? whole.status : shoal_buf_status(text);
    uint8_t sig[64];
    if (rc == SHOAL_OK && !check_shape(m, NULL, false, &c->info, sig) && whole.len < MAX_LATIN1)
        rc = signature_verifies(m, before == 0 ? text : NULL, sig, c->info.author, hmac, &c->ok);
    if (rc == SHOAL_OK && c->ok) {
        c->sequence = get(m, "sequence")->num;
        c->previous = previous_of(get(m, "previous"), c->previous_id);
        message_id(&whole, c->info.id);
    }
    shoal_u16buf_free(&whole);
    shoal_json_free(item);
    return rc;
}

const char *shoal__msg_chain(const shoal_msg_checked *c, const shoal_feed_state *state)
{
    if (state->known) {
        if (c->previous != 1 || memcmp(c->previous_id, state->id, 32) != 0)
            return "Message previous must be the previous message ID";
        if (c->sequence != (double)state->sequence + 1)
            return "Message sequence must increase by one";
    } else {
        if (c->previous != 0)
            return "Message previous must be the previous message ID";
        if (c->sequence != 1)
            return "Message sequence must be 1 for the first message";
    }
    return NULL;
}

typedef struct precheck_job {
    const char *const *jsons;
    const size_t *lens;
    size_t n;
    const uint8_t *hmac;
    shoal_buf *texts;
    shoal_msg_checked *checked;
    atomic_size_t next;
    atomic_int status;
} precheck_job;

static void *precheck_worker(void *arg)
{
    precheck_job *job = arg;
    for (size_t i; (i = atomic_fetch_add(&job->next, 1)) < job->n;) {
        int rc = precheck(job->jsons[i], job->lens[i], job->hmac, &job->texts[i], &job->checked[i]);
        if (rc != SHOAL_OK)
            atomic_store(&job->status, rc);
    }
    return NULL;
}

int shoal_msg_precheck_batch(const char *const *jsons, const size_t *lens, size_t n,
                             const char *hmac_key, unsigned threads, shoal_buf *texts,
                             shoal_msg_checked *checked)
{
    uint8_t hmac[32];
    bool bad_key = hmac_of(hmac_key, hmac) != NULL; /* then nothing is ok: validation says why */
    precheck_job job = {jsons, lens, n, hmac_key ? hmac : NULL, texts, checked, 0, SHOAL_OK};
    pthread_t helpers[SHOAL_MSG_MAX_THREADS];
    unsigned started = 0;
    for (unsigned t = 1; t < threads && t < SHOAL_MSG_MAX_THREADS && t < n; t++)
        if (pthread_create(&helpers[started], NULL, precheck_worker, &job) == 0)
            started++;
    precheck_worker(&job); /* the caller's thread works too, and alone if none started */
    for (unsigned t = 0; t < started; t++)
        pthread_join(helpers[t], NULL);
    for (size_t i = 0; bad_key && i < n; i++)
        checked[i].ok = false;
    return atomic_load(&job.status);
}

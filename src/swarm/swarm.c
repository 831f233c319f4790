/* The swarm's messages: parse and write (pure). See shoal/swarm.h. */
#include "shoal/swarm.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void shoal_swarm_channel(const uint8_t feed[32], char out[SHOAL_SWARM_CHANNEL_SIZE])
{
    sodium_bin2base64(out, SHOAL_SWARM_CHANNEL_SIZE, feed, 32,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int shoal_swarm_channel_feed(const char *channel, uint8_t feed[32])
{
    size_t len = strlen(channel), got = 0;
    if (len != SHOAL_SWARM_CHANNEL_SIZE - 1)
        return SHOAL_E_SWARM_FORMAT;
    for (size_t i = 0; i < len; i++) {
        char c = channel[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return SHOAL_E_SWARM_FORMAT;
    }
    if (sodium_base642bin(feed, 32, channel, len, NULL, &got, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        got != 32)
        return SHOAL_E_SWARM_FORMAT;
    /* canonical only: the last character carries no stray bits */
    char back[SHOAL_SWARM_CHANNEL_SIZE];
    shoal_swarm_channel(feed, back);
    return strcmp(back, channel) == 0 ? SHOAL_OK : SHOAL_E_SWARM_FORMAT;
}

/* What an announce or leave signs. */
static void statement(const char *app, const char *type, const char *from, int64_t ts,
                      shoal_buf *out)
{
    shoal_buf_appendf(out, "shoal-swarm:%s:%s:%s:%lld", app, type, from, (long long)ts);
}

void shoal_swarm_write_presence(const shoal_keypair *keys, const char *app, bool leave,
                                int64_t now_ms, shoal_buf *out)
{
    const char *type = leave ? "leave" : "connect";
    char from[SHOAL_SWARM_CHANNEL_SIZE], feed[SHOAL_REF_STRSIZE];
    shoal_swarm_channel(keys->pub, from);
    shoal_ref ref = {.kind = SHOAL_REF_FEED};
    memcpy(ref.key, keys->pub, 32);
    shoal_ref_format(&ref, feed);
    shoal_buf msg = SHOAL_BUF_INIT;
    statement(app, type, from, now_ms, &msg);
    uint8_t sig[64];
    char sig_b64[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL)];
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg.data, msg.len, keys->sec);
    sodium_bin2base64(sig_b64, sizeof sig_b64, sig, 64, sodium_base64_VARIANT_ORIGINAL);
    shoal_buf_free(&msg);
    shoal_buf_appendf(out,
                      "{\"type\":\"%s\",\"from\":\"%s\",\"feed\":\"%s\",\"ts\":%lld,"
                      "\"sig\":\"%s\"}",
                      type, from, feed, (long long)now_ms, sig_b64);
}

void shoal_swarm_write_signal(const char *from, const char *session, const json_t *signal,
                              shoal_buf *out)
{
    json_t *msg = json_pack("{s:s, s:s, s:O}", "from", from, "session", session, "signal", signal);
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    if (text)
        shoal_buf_append_str(out, text);
    else if (out->status == SHOAL_OK)
        out->status = SHOAL_E_NOMEM; /* jansson ran out of memory */
    free(text);
    json_decref(msg);
}

static int presence(const char *app, json_t *j, const char *type, bool compat, shoal_swarm_msg *out)
{
    const char *feed = json_string_value(json_object_get(j, "feed"));
    const char *sig = json_string_value(json_object_get(j, "sig"));
    json_t *ts = json_object_get(j, "ts");
    if (!feed && !sig && !ts)
        return compat ? SHOAL_OK : SHOAL_E_SWARM_UNSIGNED; /* a plain webrtc-swarm peer */
    shoal_ref ref;
    uint8_t signature[64];
    size_t got = 0;
    if (!feed || !sig || !json_is_integer(ts) ||
        shoal_ref_parse(&ref, feed, strlen(feed), NULL) != SHOAL_OK || ref.kind != SHOAL_REF_FEED ||
        strlen(sig) != 88 ||
        sodium_base642bin(signature, sizeof signature, sig, 88, NULL, &got, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        got != 64)
        return SHOAL_E_SWARM_FORMAT;
    char channel[SHOAL_SWARM_CHANNEL_SIZE];
    shoal_swarm_channel(ref.key, channel);
    if (strcmp(channel, out->from) != 0)
        return SHOAL_E_SWARM_SIGNATURE; /* a channel that is not the signer's */
    out->ts = json_integer_value(ts);
    shoal_buf msg = SHOAL_BUF_INIT;
    statement(app, type, out->from, out->ts, &msg);
    int rc = shoal_buf_status(&msg);
    if (rc == SHOAL_OK &&
        crypto_sign_verify_detached(signature, (const uint8_t *)msg.data, msg.len, ref.key) != 0)
        rc = SHOAL_E_SWARM_SIGNATURE;
    shoal_buf_free(&msg);
    if (rc != SHOAL_OK)
        return rc;
    out->has_feed = true;
    memcpy(out->feed, ref.key, 32);
    return SHOAL_OK;
}

int shoal_swarm_parse(const char *app, const char *data, size_t len, int64_t now_ms, bool compat,
                      shoal_swarm_msg *out)
{
    memset(out, 0, sizeof *out);
    json_t *j = json_loadb(data, len, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *from = json_string_value(json_object_get(j, "from"));
    json_t *signal = json_object_get(j, "signal");
    int rc = SHOAL_OK;
    if (!json_is_object(j) || !from || strlen(from) == 0 || strlen(from) > SHOAL_SWARM_MAX_FROM) {
        rc = SHOAL_E_SWARM_FORMAT;
    } else if (type && (strcmp(type, "connect") == 0 || strcmp(type, "leave") == 0)) {
        strcpy(out->from, from);
        out->kind = strcmp(type, "leave") == 0 ? SHOAL_SWARM_LEAVE : SHOAL_SWARM_ANNOUNCE;
        rc = presence(app, j, type, compat, out);
        if (rc == SHOAL_OK && out->has_feed &&
            (out->ts > now_ms + SHOAL_SWARM_WINDOW_MS || out->ts < now_ms - SHOAL_SWARM_WINDOW_MS))
            rc = SHOAL_E_SWARM_STALE;
    } else if (json_is_object(signal)) {
        strcpy(out->from, from);
        out->kind = SHOAL_SWARM_SIGNAL;
        const char *session = json_string_value(json_object_get(j, "session"));
        if (session && strlen(session) < SHOAL_SWARM_SESSION_SIZE)
            strcpy(out->session, session);
        else if (session)
            rc = SHOAL_E_SWARM_FORMAT;
        /* a shoal peer's channel names its key; a plain peer's need not */
        out->has_feed = shoal_swarm_channel_feed(from, out->feed) == SHOAL_OK;
        if (rc == SHOAL_OK && !out->has_feed && !compat)
            rc = SHOAL_E_SWARM_UNSIGNED;
        if (rc == SHOAL_OK)
            out->signal = json_incref(signal);
    } else {
        rc = SHOAL_E_SWARM_FORMAT;
    }
    json_decref(j);
    return rc;
}

void shoal_swarm_msg_clear(shoal_swarm_msg *msg)
{
    json_decref(msg->signal);
    msg->signal = NULL;
}

bool shoal_swarm_we_lead(const char *ours, const char *theirs)
{
    return strcmp(ours, theirs) < 0;
}

/* ---- sealed signals -------------------------------------------------------------------------- */

#define NONCE crypto_box_NONCEBYTES

/* The X25519 keys crypto_box takes, from our ed25519 pair and the other's ed25519 key. */
static bool box_keys(const shoal_keypair *ours, const uint8_t theirs[32], uint8_t pk[32],
                     uint8_t sk[32])
{
    return crypto_sign_ed25519_pk_to_curve25519(pk, theirs) == 0 &&
           crypto_sign_ed25519_sk_to_curve25519(sk, ours->sec) == 0;
}

int shoal_swarm_seal(const shoal_keypair *ours, const char *to, int64_t now_ms, const char *signal,
                     size_t len, shoal_buf *out)
{
    uint8_t theirs[32], pk[32], sk[32];
    if (shoal_swarm_channel_feed(to, theirs) != SHOAL_OK || !box_keys(ours, theirs, pk, sk))
        return SHOAL_E_SWARM_FORMAT;
    shoal_buf inner = SHOAL_BUF_INIT;
    shoal_buf_appendf(&inner, "{\"to\":\"%s\",\"ts\":%lld,\"msg\":", to, (long long)now_ms);
    shoal_buf_append(&inner, signal, len);
    shoal_buf_append_char(&inner, '}');
    int rc = shoal_buf_status(&inner);
    size_t boxed = NONCE + crypto_box_MACBYTES + inner.len;
    uint8_t *box = rc == SHOAL_OK ? shoal_malloc(boxed) : NULL;
    char *b64 =
        box ? shoal_malloc(sodium_base64_ENCODED_LEN(boxed, sodium_base64_VARIANT_ORIGINAL)) : NULL;
    if (b64) {
        randombytes_buf(box, NONCE);
        if (crypto_box_easy(box + NONCE, (const uint8_t *)inner.data, inner.len, box, pk, sk) != 0)
            rc = SHOAL_E_SWARM_FORMAT; /* their key is a weak point: no shared key */
    }
    if (b64 && rc == SHOAL_OK) {
        sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(boxed, sodium_base64_VARIANT_ORIGINAL),
                          box, boxed, sodium_base64_VARIANT_ORIGINAL);
        char from[SHOAL_SWARM_CHANNEL_SIZE];
        shoal_swarm_channel(ours->pub, from);
        shoal_buf_appendf(out, "{\"from\":\"%s\",\"sealed\":\"%s\"}", from, b64);
        rc = shoal_buf_status(out);
    } else if (rc == SHOAL_OK && !b64) {
        rc = SHOAL_E_NOMEM;
    }
    sodium_memzero(sk, sizeof sk);
    shoal_free(box);
    shoal_free(b64);
    shoal_buf_free(&inner);
    return rc;
}

/* Opens {"from","sealed"} addressed to us: the inner signal's text into *msg. */
static int unseal(const shoal_keypair *ours, const char *from, const char *sealed, int64_t now_ms,
                  shoal_buf *msg, uint8_t nonce[24], int64_t *ts)
{
    uint8_t theirs[32], pk[32], sk[32];
    size_t slen = strlen(sealed), boxed;
    uint8_t *box = shoal_malloc(slen ? slen : 1);
    if (!box)
        return SHOAL_E_NOMEM;
    int rc = SHOAL_E_SWARM_SEAL;
    if (shoal_swarm_channel_feed(from, theirs) == SHOAL_OK && box_keys(ours, theirs, pk, sk) &&
        sodium_base642bin(box, slen, sealed, slen, NULL, &boxed, NULL,
                          sodium_base64_VARIANT_ORIGINAL) == 0 &&
        boxed >= NONCE + crypto_box_MACBYTES) {
        size_t plen = boxed - NONCE - crypto_box_MACBYTES;
        uint8_t *plain = shoal_malloc(plen + 1);
        if (!plain)
            rc = SHOAL_E_NOMEM;
        else if (crypto_box_open_easy(plain, box + NONCE, boxed - NONCE, box, pk, sk) == 0) {
            json_t *inner = json_loadb((const char *)plain, plen, 0, NULL);
            const char *to = json_string_value(json_object_get(inner, "to"));
            json_t *jts = json_object_get(inner, "ts");
            const json_t *m = json_object_get(inner, "msg");
            char ours_ch[SHOAL_SWARM_CHANNEL_SIZE];
            shoal_swarm_channel(ours->pub, ours_ch);
            char *text = json_is_object(m) ? json_dumps(m, JSON_COMPACT) : NULL;
            if (!to || strcmp(to, ours_ch) != 0 || !json_is_integer(jts) || !text)
                rc = SHOAL_E_SWARM_SEAL;
            else if (json_integer_value(jts) > now_ms + SHOAL_SWARM_WINDOW_MS ||
                     json_integer_value(jts) < now_ms - SHOAL_SWARM_WINDOW_MS)
                rc = SHOAL_E_SWARM_STALE;
            else {
                *ts = json_integer_value(jts);
                memcpy(nonce, box, NONCE);
                shoal_buf_append_str(msg, text);
                rc = shoal_buf_status(msg);
            }
            free(text);
            json_decref(inner);
        }
        shoal_free(plain);
    }
    sodium_memzero(sk, sizeof sk);
    shoal_free(box);
    return rc;
}

int shoal_swarm_open(const shoal_keypair *ours, const char *app, const char *data, size_t len,
                     int64_t now_ms, bool compat, shoal_swarm_msg *out, uint8_t nonce[24],
                     bool *sealed)
{
    *sealed = false;
    json_t *j = json_loadb(data, len, 0, NULL);
    const char *from = json_string_value(json_object_get(j, "from"));
    const char *box = json_string_value(json_object_get(j, "sealed"));
    if (!box) { /* an announce, a leave, or a plain peer's signal */
        json_decref(j);
        int rc = shoal_swarm_parse(app, data, len, now_ms, compat, out);
        if (rc == SHOAL_OK && out->kind == SHOAL_SWARM_SIGNAL && out->has_feed) {
            shoal_swarm_msg_clear(out);
            rc = SHOAL_E_SWARM_UNSEALED;
        }
        return rc;
    }
    memset(out, 0, sizeof *out);
    shoal_buf msg = SHOAL_BUF_INIT;
    int64_t ts = 0;
    int rc = from && strlen(from) <= SHOAL_SWARM_MAX_FROM
                 ? unseal(ours, from, box, now_ms, &msg, nonce, &ts)
                 : SHOAL_E_SWARM_FORMAT;
    if (rc == SHOAL_OK)
        rc = shoal_swarm_parse(app, msg.data, msg.len, now_ms, compat, out);
    if (rc == SHOAL_OK && (out->kind != SHOAL_SWARM_SIGNAL || strcmp(out->from, from) != 0)) {
        shoal_swarm_msg_clear(out);
        rc = SHOAL_E_SWARM_SEAL; /* a sealed announce, or a signal of someone else's inside */
    }
    if (rc == SHOAL_OK) {
        out->ts = ts;
        *sealed = true;
    }
    shoal_buf_free(&msg);
    json_decref(j);
    return rc;
}

/* ---- replays --------------------------------------------------------------------------------- */

typedef struct seen {
    uint8_t nonce[NONCE];
    int64_t ts; /* the sealing time it carried; 0 free */
} seen;

struct shoal_swarm_replay {
    size_t cap;
    int64_t floor; /* the newest sealing time of a nonce let go while fresh: none at or before
                      it can be told from a replay any more */
    seen slot[];
};

shoal_swarm_replay *shoal_swarm_replay_new(size_t cap)
{
    shoal_swarm_replay *r = shoal_calloc(1, sizeof *r + cap * sizeof(seen));
    if (r)
        r->cap = cap;
    return r;
}

void shoal_swarm_replay_free(shoal_swarm_replay *r)
{
    shoal_free(r);
}

int shoal_swarm_replay_check(shoal_swarm_replay *r, const uint8_t nonce[24], int64_t ts,
                             int64_t now_ms)
{
    if (ts <= r->floor)
        return SHOAL_E_SWARM_REPLAY;
    seen *room = NULL, *oldest = NULL;
    for (size_t i = 0; i < r->cap; i++) {
        seen *s = &r->slot[i];
        bool fresh = s->ts != 0 && s->ts >= now_ms - SHOAL_SWARM_WINDOW_MS;
        if (fresh && sodium_memcmp(s->nonce, nonce, NONCE) == 0)
            return SHOAL_E_SWARM_REPLAY;
        if (!fresh && !room)
            room = s; /* what it held would be refused as stale anyway */
        if (fresh && (!oldest || s->ts < oldest->ts))
            oldest = s;
    }
    if (!room) { /* full of fresh ones (a flood): the oldest goes, and the floor rises to it */
        room = oldest;
        if (room->ts > r->floor)
            r->floor = room->ts;
        if (ts <= r->floor)
            return SHOAL_E_SWARM_REPLAY;
    }
    memcpy(room->nonce, nonce, NONCE);
    room->ts = ts != 0 ? ts : 1;
    return SHOAL_OK;
}

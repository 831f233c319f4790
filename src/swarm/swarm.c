/* The swarm's messages: parse and write (pure). See shoal/swarm.h. */
#include "shoal/swarm.h"

#include <sodium.h>
#include <stdio.h>
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

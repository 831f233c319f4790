/* STUN and TURN servers: URLs, a hub's answer, coturn's REST credentials, the signed request
 * (pure). See shoal/ice.h. */
#include "shoal/ice.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- URLs ---------------------------------------------------------------------------------- */

static bool take_prefix(const char **s, size_t *len, const char *prefix)
{
    size_t n = strlen(prefix);
    if (*len < n || strncasecmp(*s, prefix, n) != 0)
        return false;
    *s += n;
    *len -= n;
    return true;
}

int shoal_ice_url_parse(shoal_ice_server *out, const char *s, size_t len)
{
    memset(out, 0, sizeof *out);
    if (take_prefix(&s, &len, "stun:"))
        out->scheme = SHOAL_ICE_STUN;
    else if (take_prefix(&s, &len, "turn:"))
        out->scheme = SHOAL_ICE_TURN;
    else if (take_prefix(&s, &len, "turns:"))
        out->scheme = SHOAL_ICE_TURNS, out->tcp = true;
    else
        return SHOAL_E_ICE_URL;
    const char *query = memchr(s, '?', len);
    size_t auth_len = query ? (size_t)(query - s) : len;
    if (query) {
        /* RFC 7065: the only query is the transport, and only for TURN */
        const char *q = query + 1;
        size_t qlen = len - auth_len - 1;
        if (out->scheme == SHOAL_ICE_STUN || !take_prefix(&q, &qlen, "transport="))
            return SHOAL_E_ICE_URL;
        if (qlen == 3 && strncasecmp(q, "tcp", 3) == 0)
            out->tcp = true;
        else if (!(qlen == 3 && strncasecmp(q, "udp", 3) == 0 && out->scheme == SHOAL_ICE_TURN))
            return SHOAL_E_ICE_URL; /* turns: over UDP would be DTLS, which libnice lacks */
    }
    /* "stun://host" is not the form, and a path has no place */
    if (auth_len == 0 || memchr(s, '/', auth_len))
        return SHOAL_E_ICE_URL;
    int rc = shoal_authority_parse(s, auth_len, &out->host, &out->port, NULL);
    if (rc != SHOAL_OK)
        return rc;
    if (out->port == 0)
        out->port = out->scheme == SHOAL_ICE_TURNS ? SHOAL_ICE_TLS_PORT : SHOAL_ICE_PORT;
    return SHOAL_OK;
}

void shoal_ice_url_format(const shoal_ice_server *server, shoal_buf *out)
{
    static const char *const schemes[] = {"stun", "turn", "turns"};
    bool v6 = server->host.kind == SHOAL_HOST_IPV6;
    shoal_buf_appendf(out, "%s:%s%s%s:%u%s", schemes[server->scheme], v6 ? "[" : "",
                      server->host.name, v6 ? "]" : "", server->port,
                      server->scheme == SHOAL_ICE_TURN && server->tcp ? "?transport=tcp" : "");
}

const char *shoal_ice_transport_name(const shoal_ice_server *server)
{
    return server->scheme == SHOAL_ICE_TURNS ? "tls" : server->tcp ? "tcp" : "udp";
}

bool shoal_ice_server_equal(const shoal_ice_server *a, const shoal_ice_server *b)
{
    return a->scheme == b->scheme && a->tcp == b->tcp && a->port == b->port &&
           strcmp(a->host.name, b->host.name) == 0 && strcmp(a->username, b->username) == 0 &&
           strcmp(a->credential, b->credential) == 0;
}

bool shoal_ice_server_is_local(const shoal_ice_server *server)
{
    const char *h = server->host.name;
    if (server->host.kind == SHOAL_HOST_IPV4) {
        unsigned a = 0, b = 0;
        if (sscanf(h, "%u.%u", &a, &b) != 2)
            return true;
        return a == 127 || a == 0 || (a == 169 && b == 254) || a >= 224;
    }
    if (server->host.kind == SHOAL_HOST_IPV6) /* RFC 5952 text: lowercase, shortest */
        return strcmp(h, "::1") == 0 || strcmp(h, "::") == 0 || strncmp(h, "fe8", 3) == 0 ||
               strncmp(h, "fe9", 3) == 0 || strncmp(h, "fea", 3) == 0 ||
               strncmp(h, "feb", 3) == 0 || strncmp(h, "ff", 2) == 0 ||
               strncmp(h, "::ffff:", 7) == 0;
    size_t len = strlen(h); /* RFC 6761: localhost names are this machine's */
    return strcmp(h, "localhost") == 0 || (len > 10 && strcmp(h + len - 10, ".localhost") == 0);
}

bool shoal_ice_servers_add(shoal_ice_servers *list, const shoal_ice_server *server)
{
    for (size_t i = 0; i < list->n; i++)
        if (shoal_ice_server_equal(&list->s[i], server))
            return true;
    if (list->n == SHOAL_ICE_MAX_SERVERS)
        return false;
    list->s[list->n++] = *server;
    return true;
}

/* ---- A hub's answer ------------------------------------------------------------------------ */

static bool copy_name(char out[SHOAL_ICE_NAME_SIZE], const json_t *v)
{
    const char *s = json_string_value(v);
    size_t len = s ? json_string_length(v) : 0;
    if (!s || len >= SHOAL_ICE_NAME_SIZE || memchr(s, '\0', len))
        return false;
    memcpy(out, s, len + 1);
    return true;
}

/* One URL of an entry, with the entry's credentials; skipped when shoal cannot use it. */
static void take_url(shoal_ice_servers *out, const json_t *url, const json_t *entry)
{
    shoal_ice_server server;
    if (!json_is_string(url) ||
        shoal_ice_url_parse(&server, json_string_value(url), json_string_length(url)) != SHOAL_OK)
        return;
    if (server.scheme != SHOAL_ICE_STUN &&
        !(copy_name(server.username, json_object_get(entry, "username")) &&
          copy_name(server.credential, json_object_get(entry, "credential"))))
        return;
    (void)shoal_ice_servers_add(out, &server);
}

int shoal_ice_servers_parse(shoal_ice_servers *out, uint32_t *ttl_s, const char *json, size_t len)
{
    out->n = 0;
    *ttl_s = SHOAL_ICE_TTL_DEFAULT;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    if (!root)
        return SHOAL_E_JSON;
    int rc = SHOAL_E_ICE_FORMAT;
    const json_t *servers = json_object_get(root, "iceServers");
    const json_t *ttl = json_object_get(root, "ttl");
    if (!json_is_array(servers) || (ttl && !json_is_integer(ttl)))
        goto done;
    if (ttl) {
        json_int_t t = json_integer_value(ttl);
        *ttl_s = t < 60 ? 60 : t > 7 * 86400 ? 7 * 86400 : (uint32_t)t;
    }
    size_t i;
    const json_t *entry;
    json_array_foreach(servers, i, entry)
    {
        const json_t *urls = json_object_get(entry, "urls");
        if (!json_is_object(entry) || !(json_is_string(urls) || json_is_array(urls)))
            goto done;
        if (json_is_string(urls)) {
            take_url(out, urls, entry);
            continue;
        }
        size_t j;
        const json_t *url;
        json_array_foreach(urls, j, url) take_url(out, url, entry);
    }
    rc = SHOAL_OK;
done:
    json_decref(root);
    if (rc != SHOAL_OK)
        out->n = 0;
    return rc;
}

int shoal_ice_servers_write(const shoal_ice_servers *list, uint32_t ttl_s, shoal_buf *out)
{
    json_t *servers = json_array();
    for (size_t i = 0; servers && i < list->n; i++) {
        const shoal_ice_server *s = &list->s[i];
        shoal_buf url = SHOAL_BUF_INIT;
        shoal_ice_url_format(s, &url);
        json_t *entry = shoal_buf_status(&url) == SHOAL_OK
                            ? json_pack("{s:[s#]}", "urls", url.data, url.len)
                            : NULL;
        shoal_buf_free(&url);
        if (entry && s->scheme != SHOAL_ICE_STUN &&
            json_object_set_new(entry, "username", json_string(s->username)) +
                    json_object_set_new(entry, "credential", json_string(s->credential)) !=
                0)
            json_decref(entry), entry = NULL;
        if (json_array_append_new(servers, entry) != 0)
            json_decref(servers), servers = NULL;
    }
    json_t *root =
        servers ? json_pack("{s:o,s:I}", "iceServers", servers, "ttl", (json_int_t)ttl_s) : NULL;
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (!text)
        return SHOAL_E_NOMEM;
    shoal_buf_append_str(out, text);
    free(text);
    return shoal_buf_status(out);
}

/* ---- coturn's REST credentials ------------------------------------------------------------- */

void shoal_ice_rest_credentials(shoal_ice_server *turn, const uint8_t *secret, size_t secret_len,
                                const char *who, int64_t expires)
{
    snprintf(turn->username, sizeof turn->username, "%lld:%s", (long long)expires, who);
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    if (!HMAC(EVP_sha1(), secret, (int)secret_len, (const uint8_t *)turn->username,
              strlen(turn->username), mac, &mac_len)) {
        turn->credential[0] = '\0'; /* none: the TURN server refuses, nobody is misled */
        return;
    }
    sodium_bin2base64(turn->credential, sizeof turn->credential, mac, mac_len,
                      sodium_base64_VARIANT_ORIGINAL);
}

/* ---- The signed request -------------------------------------------------------------------- */

#define AUTH_SCHEME "SSB-Ed25519 "

static size_t statement(char *out, size_t size, const char *host, int64_t ts)
{
    int n = snprintf(out, size, "shoal-ice:%s:%lld", host, (long long)ts);
    return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

void shoal_ice_auth_sign(const shoal_keypair *keys, const char *host, int64_t now_s,
                         char out[SHOAL_ICE_AUTH_SIZE])
{
    char msg[320], feed[SHOAL_REF_STRSIZE];
    size_t len = statement(msg, sizeof msg, host, now_s);
    uint8_t sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg, len, keys->sec);
    shoal_ref ref = {.kind = SHOAL_REF_FEED};
    memcpy(ref.key, keys->pub, 32);
    shoal_ref_format(&ref, feed);
    char sig_b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(sig_b64, sizeof sig_b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, SHOAL_ICE_AUTH_SIZE, AUTH_SCHEME "%s %lld %s", feed, (long long)now_s, sig_b64);
}

int shoal_ice_auth_check(const char *header, size_t len, const char *host, int64_t now_s,
                         uint8_t feed[32])
{
    const char *s = header;
    if (!take_prefix(&s, &len, AUTH_SCHEME))
        return SHOAL_E_ICE_AUTH;
    /* <feed id> <seconds> <signature>, single spaces */
    const char *sp1 = memchr(s, ' ', len);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - s)) : NULL;
    if (!sp2)
        return SHOAL_E_ICE_AUTH;
    shoal_ref ref;
    if (shoal_ref_parse(&ref, s, (size_t)(sp1 - s), NULL) != SHOAL_OK || ref.kind != SHOAL_REF_FEED)
        return SHOAL_E_ICE_AUTH;
    int64_t ts = 0;
    size_t digits = (size_t)(sp2 - sp1 - 1);
    if (digits == 0 || digits > 12)
        return SHOAL_E_ICE_AUTH;
    for (const char *d = sp1 + 1; d < sp2; d++) {
        if (*d < '0' || *d > '9')
            return SHOAL_E_ICE_AUTH;
        ts = ts * 10 + (*d - '0');
    }
    const char *sig_b64 = sp2 + 1;
    size_t sig_len = len - (size_t)(sig_b64 - s), got = 0;
    uint8_t sig[crypto_sign_BYTES];
    if (sodium_base642bin(sig, sizeof sig, sig_b64, sig_len, NULL, &got, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        got != sizeof sig)
        return SHOAL_E_ICE_AUTH;
    char msg[320];
    size_t mlen = statement(msg, sizeof msg, host, ts);
    if (crypto_sign_verify_detached(sig, (const uint8_t *)msg, mlen, ref.key) != 0)
        return SHOAL_E_ICE_AUTH;
    if (ts > now_s + SHOAL_ICE_AUTH_WINDOW || ts < now_s - SHOAL_ICE_AUTH_WINDOW)
        return SHOAL_E_SWARM_STALE;
    memcpy(feed, ref.key, 32);
    return SHOAL_OK;
}

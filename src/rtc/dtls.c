/* DTLS 1.2 with OpenSSL over memory BIOs: the context's certificate, the handshake, the check of
 * the peer's certificate against its SDP fingerprint, records in and out. */
#include "rtc_internal.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <string.h>

/* Any certificate passes OpenSSL's check: the only one that counts is the fingerprint's, made
 * once the handshake is done. */
static int accept_any(int ok, X509_STORE_CTX *store)
{
    (void)ok, (void)store;
    return 1;
}

/* The first retransmission after 200 ms, not OpenSSL's 1 s: a lost first flight (the other side
 * not listening yet) costs little. */
static unsigned int retransmit_us(SSL *ssl, unsigned int previous_us)
{
    (void)ssl;
    return previous_us == 0 ? 200000 : previous_us * 2 > 4000000 ? 4000000 : previous_us * 2;
}

int shoal__dtls_context(shoal_rtc *rtc)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
    X509_NAME *name = cert ? X509_get_subject_name(cert) : NULL;
    unsigned int fp_len = 0;
    bool ok =
        key && cert && ctx && name && X509_set_version(cert, 2) &&
        ASN1_INTEGER_set(X509_get_serialNumber(cert), (long)g_random_int_range(1, G_MAXINT32)) &&
        X509_gmtime_adj(X509_getm_notBefore(cert), -3600) &&
        X509_gmtime_adj(X509_getm_notAfter(cert), 30L * 24 * 3600) && X509_set_pubkey(cert, key) &&
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"shoal", -1, -1,
                                   0) &&
        X509_set_issuer_name(cert, name) && X509_sign(cert, key, EVP_sha256()) &&
        X509_digest(cert, EVP_sha256(), rtc->fingerprint, &fp_len) && fp_len == 32 &&
        SSL_CTX_use_certificate(ctx, cert) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
        SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) == 1;
    if (ok) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
        SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU);
        SSL_CTX_set_read_ahead(ctx, 1);
        rtc->ssl_ctx = ctx;
    } else {
        SSL_CTX_free(ctx);
    }
    X509_free(cert); /* the context holds its own references */
    EVP_PKEY_free(key);
    ERR_clear_error();
    return ok ? SHOAL_OK : SHOAL_E_RTC_INIT;
}

/* Sends what the write BIO holds as one datagram: we drain it after every step, so that is one
 * record (or one handshake flight). */
static void flush(shoal_rtc_peer *p)
{
    uint8_t buf[16384];
    int n;
    while ((n = BIO_read(p->wbio, buf, sizeof buf)) > 0)
        shoal__ice_send(p, buf, (size_t)n);
}

static gboolean on_timer(gpointer data);

/* Re-arms the retransmission timer from OpenSSL's wish. */
static void arm(shoal_rtc_peer *p)
{
    if (p->dtls_timer)
        g_source_remove(p->dtls_timer);
    p->dtls_timer = 0;
    struct timeval tv;
    if (!p->dtls_done && DTLSv1_get_timeout(p->ssl, &tv) == 1) {
        guint ms = (guint)(tv.tv_sec * 1000 + tv.tv_usec / 1000);
        p->dtls_timer = g_timeout_add(ms ? ms : 1, on_timer, p);
    }
}

/* After the handshake: the peer's certificate must be the one its SDP named. */
static void handshake_done(shoal_rtc_peer *p)
{
    p->dtls_done = true;
    X509 *cert = SSL_get1_peer_certificate(p->ssl);
    uint8_t md[32];
    unsigned int n = 0;
    bool match = cert && X509_digest(cert, EVP_sha256(), md, &n) && n == 32 &&
                 CRYPTO_memcmp(md, p->remote.fingerprint, 32) == 0;
    X509_free(cert);
    if (!match) {
        shoal__rtc_fail(p, SHOAL_E_RTC_FINGERPRINT);
        return;
    }
    shoal__sctp_start(p);
}

static void step(shoal_rtc_peer *p)
{
    int rc = SSL_do_handshake(p->ssl);
    flush(p);
    if (rc == 1) {
        handshake_done(p);
    } else if (SSL_get_error(p->ssl, rc) != SSL_ERROR_WANT_READ) {
        shoal_log(SHOAL_LOG_INFO, "rtc", "DTLS handshake failed: %s",
                  ERR_reason_error_string(ERR_peek_last_error()));
        ERR_clear_error();
        shoal__rtc_fail(p, SHOAL_E_RTC_DTLS);
        return;
    }
    arm(p);
}

static gboolean on_timer(gpointer data)
{
    shoal_rtc_peer *p = data;
    p->dtls_timer = 0;
    shoal__rtc_ref(p);
    if (!p->failing && DTLSv1_handle_timeout(p->ssl) >= 0) {
        flush(p);
        arm(p);
    }
    shoal__rtc_unref(p);
    return G_SOURCE_REMOVE;
}

void shoal__dtls_start(shoal_rtc_peer *p)
{
    if (p->dtls_started)
        return;
    p->dtls_started = true;
    p->ssl = SSL_new(p->rtc->ssl_ctx);
    p->rbio = BIO_new(BIO_s_mem());
    p->wbio = BIO_new(BIO_s_mem());
    if (!p->ssl || !p->rbio || !p->wbio) {
        BIO_free(p->rbio);
        BIO_free(p->wbio);
        p->rbio = p->wbio = NULL;
        shoal__rtc_fail(p, SHOAL_E_NOMEM);
        return;
    }
    BIO_set_mem_eof_return(p->rbio, -1);
    SSL_set_bio(p->ssl, p->rbio, p->wbio);
    SSL_set_options(p->ssl, SSL_OP_NO_QUERY_MTU);
    DTLS_set_link_mtu(p->ssl, RTC_MTU);
    DTLS_set_timer_cb(p->ssl, retransmit_us);
    /* the answer's setup role: active is the DTLS client */
    bool client = p->initiator ? p->remote.setup == SHOAL_SDP_PASSIVE : true;
    if (client)
        SSL_set_connect_state(p->ssl);
    else
        SSL_set_accept_state(p->ssl);
    step(p);
}

void shoal__dtls_input(shoal_rtc_peer *p, const uint8_t *data, size_t len)
{
    if (!p->ssl || p->failing)
        return;
    BIO_write(p->rbio, data, (int)len);
    if (!p->dtls_done) {
        step(p);
        if (!p->dtls_done || p->failing)
            return;
    }
    static uint8_t record[65536];
    for (;;) {
        int n = SSL_read(p->ssl, record, sizeof record);
        if (n > 0) {
            shoal__sctp_input(p, record, (size_t)n);
            if (p->failing)
                return;
            continue;
        }
        int err = SSL_get_error(p->ssl, n);
        if (err == SSL_ERROR_ZERO_RETURN) {
            shoal__rtc_fail(p, SHOAL_OK); /* close_notify: the other side has closed */
        } else if (err != SSL_ERROR_WANT_READ) {
            ERR_clear_error();
            shoal__rtc_fail(p, SHOAL_E_RTC_DTLS);
        }
        break;
    }
    flush(p); /* alerts, or a renegotiation's answer */
}

void shoal__dtls_write(shoal_rtc_peer *p, const uint8_t *data, size_t len)
{
    if (!p->ssl || !p->dtls_done || p->failing)
        return;
    if (SSL_write(p->ssl, data, (int)len) <= 0) {
        ERR_clear_error();
        shoal__rtc_fail(p, SHOAL_E_RTC_DTLS);
        return;
    }
    flush(p);
}

void shoal__dtls_close(shoal_rtc_peer *p)
{
    if (p->ssl && p->dtls_done) {
        SSL_shutdown(p->ssl);
        flush(p);
    }
}

void shoal__dtls_stop(shoal_rtc_peer *p)
{
    if (p->dtls_timer)
        g_source_remove(p->dtls_timer);
    p->dtls_timer = 0;
    SSL_free(p->ssl); /* frees both BIOs */
    p->ssl = NULL;
    p->rbio = p->wbio = NULL;
    ERR_clear_error();
}

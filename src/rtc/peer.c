/* The peer connection's public face: creation, signalling, sending, closing and teardown. */
#include "rtc_internal.h"

#include <string.h>

#define DEFAULT_MAX_MESSAGE  262144
#define DEFAULT_MAX_BUFFERED (16u << 20)
#define DEFAULT_LOW_WATER    (1u << 20)

int shoal_rtc_new(const shoal_rtc_config *cfg, shoal_rtc **out)
{
    shoal_rtc *rtc = g_new0(shoal_rtc, 1);
    rtc->cfg = *cfg;
    if (!rtc->cfg.max_message)
        rtc->cfg.max_message = DEFAULT_MAX_MESSAGE;
    if (!rtc->cfg.max_buffered)
        rtc->cfg.max_buffered = DEFAULT_MAX_BUFFERED;
    if (!rtc->cfg.low_water)
        rtc->cfg.low_water = DEFAULT_LOW_WATER;
    rtc->addresses = cfg->local_addresses ? g_strdupv((char **)cfg->local_addresses) : NULL;
    if (cfg->ice)
        rtc->ice = *cfg->ice;
    rtc->cfg.ice = NULL;
    rtc->tls_ca_file = g_strdup(cfg->tls_ca_file);
    rtc->cfg.tls_ca_file = NULL;
    rtc->ctx = g_main_context_ref_thread_default();
    if (!shoal__sctp_global_start() || shoal__dtls_context(rtc) != SHOAL_OK) {
        shoal_rtc_free(rtc);
        return SHOAL_E_RTC_INIT;
    }
    *out = rtc;
    return SHOAL_OK;
}

void shoal_rtc_free(shoal_rtc *rtc)
{
    if (!rtc)
        return;
    SSL_CTX_free(rtc->ssl_ctx);
    shoal__mdns_free(rtc);
    g_strfreev(rtc->addresses);
    shoal__tls_relays_free(rtc);
    g_free(rtc->tls_ca_file);
    g_main_context_unref(rtc->ctx);
    g_free(rtc);
}

const uint8_t *shoal_rtc_fingerprint(const shoal_rtc *rtc)
{
    return rtc->fingerprint;
}

void shoal__rtc_ref(shoal_rtc_peer *p)
{
    p->refs++;
}

void shoal__rtc_unref(shoal_rtc_peer *p)
{
    if (--p->refs > 0)
        return;
    g_ptr_array_free(p->held, TRUE);
    g_free(p->label);
    g_free(p);
}

static void tear_down_now(shoal_rtc_peer *p)
{
    if (p->close_timer)
        g_source_remove(p->close_timer);
    p->close_timer = 0;
    if (p->error == SHOAL_OK && !p->abandoned)
        shoal__dtls_close(p); /* close_notify, when DTLS got that far */
    shoal__sctp_stop(p);
    shoal__dtls_stop(p);
    shoal__ice_stop(p);
    p->finished = true;
}

static gboolean teardown(gpointer data)
{
    shoal_rtc_peer *p = data;
    p->teardown_source = 0;
    tear_down_now(p);
    if (p->cb.closed)
        p->cb.closed(p, p->error, p->ud);
    shoal__rtc_unref(p); /* the reference the peer was born with */
    return G_SOURCE_REMOVE;
}

void shoal__rtc_fail(shoal_rtc_peer *p, int err)
{
    if (p->failing)
        return;
    p->failing = true;
    p->error = err;
    p->teardown_source = g_idle_add(teardown, p);
}

/* Our description: ICE credentials (the restart's when `next`), our certificate's fingerprint,
 * the setup role (a restart's answer keeps the role DTLS runs in). */
static void describe(shoal_rtc_peer *p, bool offer, bool next)
{
    char *ufrag = NULL, *pwd = NULL;
    shoal__ice_credentials(p, next, &ufrag, &pwd);
    shoal_sdp_setup setup = offer          ? SHOAL_SDP_ACTPASS
                            : !next        ? SHOAL_SDP_ACTIVE
                            : p->initiator ? SHOAL_SDP_PASSIVE
                                           : SHOAL_SDP_ACTIVE;
    shoal_sdp sdp = {
        .setup = setup, .sctp_port = RTC_SCTP_PORT, .max_message_size = p->rtc->cfg.max_message};
    g_strlcpy(sdp.ice_ufrag, ufrag ? ufrag : "", sizeof sdp.ice_ufrag);
    g_strlcpy(sdp.ice_pwd, pwd ? pwd : "", sizeof sdp.ice_pwd);
    g_strlcpy(sdp.mid, p->have_remote && p->remote.mid[0] ? p->remote.mid : "0", sizeof sdp.mid);
    memcpy(sdp.fingerprint, p->rtc->fingerprint, 32);
    g_free(ufrag);
    g_free(pwd);
    shoal_buf text = SHOAL_BUF_INIT;
    shoal_sdp_write(&sdp, g_random_int(), &text);
    if (shoal_buf_status(&text) != SHOAL_OK) {
        shoal__rtc_fail(p, SHOAL_E_NOMEM);
    } else {
        if (next)
            p->next_described = true;
        else
            p->described = true;
        if (p->cb.description)
            p->cb.description(p, offer, text.data, p->ud);
        for (guint i = 0; i < p->held->len && !p->failing; i++)
            if (p->cb.candidate)
                p->cb.candidate(p, g_ptr_array_index(p->held, i), p->ud);
        g_ptr_array_set_size(p->held, 0);
    }
    shoal_buf_free(&text);
}

static gboolean offer_soon(gpointer data)
{
    shoal_rtc_peer *p = data;
    if (!p->failing)
        describe(p, true, false);
    shoal__rtc_unref(p);
    return G_SOURCE_REMOVE;
}

shoal_rtc_peer *shoal_rtc_peer_new(shoal_rtc *rtc, bool initiator, const char *label,
                                   const shoal_ice_servers *ice, const shoal_rtc_callbacks *cb,
                                   void *ud)
{
    shoal_rtc_peer *p = g_new0(shoal_rtc_peer, 1);
    p->rtc = rtc;
    p->cb = *cb;
    p->ud = ud;
    p->initiator = initiator;
    p->label = g_strdup(label ? label : "");
    p->refs = 1;
    p->held = g_ptr_array_new_with_free_func(g_free);
    g_queue_init(&p->early);
    p->ice = ice ? *ice : rtc->ice;
    if (!shoal__ice_start(p)) {
        shoal__ice_stop(p);
        shoal__rtc_unref(p);
        return NULL;
    }
    /* the offer goes out from the main loop, so the caller has its handle first */
    if (initiator) {
        shoal__rtc_ref(p);
        g_idle_add(offer_soon, p);
    }
    return p;
}

static bool restartable(const shoal_rtc_peer *p)
{
    return !p->failing && !p->closing && p->channel_open;
}

int shoal_rtc_peer_restart(shoal_rtc_peer *p)
{
    if (!restartable(p))
        return SHOAL_E_RTC_STATE;
    if (!shoal__ice_restart(p, true))
        return SHOAL_E_RTC_INIT;
    shoal__rtc_ref(p);
    describe(p, true, true);
    shoal__rtc_unref(p);
    return SHOAL_OK;
}

void shoal_rtc_peer_set_ice(shoal_rtc_peer *p, const shoal_ice_servers *ice)
{
    p->ice = ice ? *ice : p->rtc->ice;
}

/* The other side's description of an ICE restart: an offer (a new restart, or one that crosses
 * ours, answered with our agent) or the answer to ours. */
static int restart_remote(shoal_rtc_peer *p, bool offer, const char *text, size_t len)
{
    if (!restartable(p) || (!offer && (!p->next || !p->next_offered || p->next_has_remote)))
        return SHOAL_E_RTC_STATE;
    shoal_sdp *sdp = g_new(shoal_sdp, 1);
    int rc = shoal_sdp_parse(text, len, sdp);
    if (rc == SHOAL_OK && (memcmp(sdp->fingerprint, p->remote.fingerprint, 32) != 0 ||
                           strcmp(sdp->ice_ufrag, p->remote.ice_ufrag) == 0))
        rc = SHOAL_E_RTC_STATE; /* another certificate, or no new credentials: no restart */
    if (rc == SHOAL_OK && offer && !(p->next && p->next_offered && !p->next_has_remote) &&
        !shoal__ice_restart(p, false))
        rc = SHOAL_E_RTC_INIT;
    if (rc == SHOAL_OK) {
        g_strlcpy(p->remote.ice_ufrag, sdp->ice_ufrag, sizeof p->remote.ice_ufrag);
        g_strlcpy(p->remote.ice_pwd, sdp->ice_pwd, sizeof p->remote.ice_pwd);
        shoal__ice_restart_remote(p, sdp);
        if (offer) {
            shoal__rtc_ref(p);
            describe(p, false, true);
            shoal__rtc_unref(p);
        }
    }
    g_free(sdp);
    return rc;
}

int shoal_rtc_peer_set_remote(shoal_rtc_peer *p, bool offer, const char *sdp, size_t len)
{
    if (p->have_remote && !p->failing)
        return restart_remote(p, offer, sdp, len);
    if (p->failing || p->have_remote || offer == p->initiator)
        return SHOAL_E_RTC_STATE;
    int rc = shoal_sdp_parse(sdp, len, &p->remote);
    if (rc != SHOAL_OK)
        return rc;
    p->have_remote = true;
    shoal__ice_set_remote(p);
    if (offer) {
        shoal__rtc_ref(p);
        describe(p, false, false);
        shoal__rtc_unref(p);
    }
    return SHOAL_OK;
}

int shoal_rtc_peer_add_candidate(shoal_rtc_peer *p, const char *candidate)
{
    return p->failing ? SHOAL_E_RTC_STATE : shoal__ice_add_candidate(p, candidate);
}

int shoal_rtc_peer_send(shoal_rtc_peer *p, const uint8_t *data, size_t len, bool binary)
{
    return shoal__sctp_send(p, data, len, binary);
}

void shoal_rtc_peer_follow_their_channel(shoal_rtc_peer *p)
{
    p->follow_theirs = p->initiator;
}

size_t shoal_rtc_peer_buffered(const shoal_rtc_peer *p)
{
    return p->buffered;
}

bool shoal_rtc_peer_path(const shoal_rtc_peer *p, shoal_rtc_path *out)
{
    if (!p->path.local_type)
        return false;
    *out = p->path;
    out->rtt_ms = shoal__sctp_rtt(p);
    return true;
}

static gboolean close_late(gpointer data)
{
    shoal_rtc_peer *p = data;
    bool draining = p->shutdown_pending && p->buffered < p->close_buffered &&
                    p->close_moves < RTC_CLOSE_MAX; /* the last words are on their way */
    if (draining || p->shutdown_late) {             /* or just went: SCTP's SHUTDOWN too */
        p->close_buffered = p->buffered;
        p->close_moves += draining;
        p->shutdown_late = false;
        return G_SOURCE_CONTINUE;
    }
    p->close_timer = 0;
    shoal__rtc_fail(p,
                    SHOAL_OK); /* the other side did not answer our shutdown in time: we are done */
    return G_SOURCE_REMOVE;
}

void shoal_rtc_peer_close(shoal_rtc_peer *p)
{
    if (p->failing || p->closing)
        return;
    p->closing = true;
    if (!p->sctp_up) {
        shoal__rtc_fail(p, SHOAL_OK);
        return;
    }
    shoal__sctp_close(p);
    p->close_buffered = p->buffered;
    p->close_timer = g_timeout_add(RTC_CLOSE_MS, close_late, p);
}

void shoal_rtc_peer_abandon(shoal_rtc_peer *p)
{
    if (p->finished)
        return;
    p->abandoned = true;
    p->failing = true; /* work still scheduled (an offer, a process call) finds nothing to do */
    if (p->teardown_source)
        g_source_remove(p->teardown_source);
    p->teardown_source = 0;
    tear_down_now(p);
    shoal__rtc_unref(p); /* the reference the peer was born with */
}

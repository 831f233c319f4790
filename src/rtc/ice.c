/* ICE with libnice: one stream of one component; trickled candidates; datagrams queued until the
 * component connects (the controlled side cannot send before it does). */
#include "rtc_internal.h"

#include <string.h>
#include <sys/socket.h>

static void on_candidate(NiceAgent *agent, NiceCandidate *cand, gpointer data)
{
    shoal_rtc_peer *p = data;
    if (p->failing || (p->rtc->cfg.relay_only && cand->type != NICE_CANDIDATE_TYPE_RELAYED))
        return;
    gchar *line = nice_agent_generate_local_candidate_sdp(agent, cand);
    if (!line)
        return;
    /* libnice writes "a=candidate:…"; signalling carries "candidate:…" */
    const char *text = strncmp(line, "a=", 2) == 0 ? line + 2 : line;
    if (!p->described) {
        /* a candidate must not overtake the description it belongs to */
        g_ptr_array_add(p->held, g_strdup(text));
    } else if (p->cb.candidate) {
        shoal__rtc_ref(p);
        p->cb.candidate(p, text, p->ud);
        shoal__rtc_unref(p);
    }
    g_free(line);
}

static void on_state(NiceAgent *agent, guint stream, guint component, guint state, gpointer data)
{
    (void)agent, (void)stream, (void)component;
    shoal_rtc_peer *p = data;
    if (p->failing)
        return;
    shoal__rtc_ref(p);
    if ((state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY) &&
        !p->ice_connected) {
        /* start DTLS at CONNECTED, not READY: READY waits for the controlling side's
         * nomination, which can take seconds */
        p->ice_connected = true;
        /* the kernel's default UDP buffers (208 KiB) drop datagrams under load, even on
         * loopback: 4 MiB each way */
        GSocket *sock = nice_agent_get_selected_socket(p->agent, p->stream, 1);
        if (sock) {
            int size = 4 << 20, fd = g_socket_get_fd(sock);
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
            g_object_unref(sock);
        }
        GBytes *d;
        while ((d = g_queue_pop_head(&p->early)) != NULL) {
            gsize n;
            const guint8 *bytes = g_bytes_get_data(d, &n);
            nice_agent_send(p->agent, p->stream, 1, (guint)n, (const gchar *)bytes);
            g_bytes_unref(d);
        }
        shoal__dtls_start(p);
    } else if (state == NICE_COMPONENT_STATE_FAILED) {
        shoal__rtc_fail(p, SHOAL_E_RTC_ICE_FAILED);
    }
    shoal__rtc_unref(p);
}

static void on_recv(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf,
                    gpointer data)
{
    (void)agent, (void)stream, (void)component;
    shoal_rtc_peer *p = data;
    /* RFC 7983: 20-63 is DTLS; STUN never reaches here */
    if (len == 0 || (uint8_t)buf[0] < 20 || (uint8_t)buf[0] > 63 || p->failing)
        return;
    shoal__rtc_ref(p);
    if (!p->dtls_started && p->have_remote) /* their DTLS arrived before our CONNECTED */
        shoal__dtls_start(p);
    shoal__dtls_input(p, (const uint8_t *)buf, len);
    shoal__rtc_unref(p);
}

bool shoal__ice_start(shoal_rtc_peer *p)
{
    shoal_rtc *rtc = p->rtc;
    /* RFC 7675 consent freshness: a peer that stops answering (killed, or its path gone) fails
     * the component after 30 s, where SCTP alone would hold a dead channel much longer */
    p->agent =
        nice_agent_new_full(rtc->ctx, NICE_COMPATIBILITY_RFC5245,
                            NICE_AGENT_OPTION_ICE_TRICKLE | NICE_AGENT_OPTION_CONSENT_FRESHNESS);
    if (!p->agent)
        return false;
    g_object_set(p->agent, "controlling-mode", p->initiator, "upnp", FALSE, "ice-tcp", FALSE,
                 "stun-pacing-timer", 5, "force-relay", rtc->cfg.relay_only, NULL);
    if (rtc->stun_host)
        g_object_set(p->agent, "stun-server", rtc->stun_host, "stun-server-port",
                     (guint)rtc->cfg.stun_port, NULL);
    for (char **a = rtc->addresses; a && *a; a++) {
        NiceAddress addr;
        nice_address_init(&addr);
        if (nice_address_set_from_string(&addr, *a))
            nice_agent_add_local_address(p->agent, &addr);
    }
    p->stream = nice_agent_add_stream(p->agent, 1);
    if (p->stream == 0)
        return false;
    if (rtc->turn_host)
        nice_agent_set_relay_info(p->agent, p->stream, 1, rtc->turn_host, rtc->cfg.turn_port,
                                  rtc->turn_user ? rtc->turn_user : "",
                                  rtc->turn_password ? rtc->turn_password : "",
                                  NICE_RELAY_TYPE_TURN_UDP);
    g_signal_connect(p->agent, "new-candidate-full", G_CALLBACK(on_candidate), p);
    g_signal_connect(p->agent, "component-state-changed", G_CALLBACK(on_state), p);
    nice_agent_attach_recv(p->agent, p->stream, 1, rtc->ctx, on_recv, p);
    return nice_agent_gather_candidates(p->agent, p->stream);
}

void shoal__ice_credentials(shoal_rtc_peer *p, char **ufrag, char **pwd)
{
    nice_agent_get_local_credentials(p->agent, p->stream, ufrag, pwd);
}

void shoal__ice_set_remote(shoal_rtc_peer *p)
{
    nice_agent_set_remote_credentials(p->agent, p->stream, p->remote.ice_ufrag, p->remote.ice_pwd);
    for (size_t i = 0; i < p->remote.ncandidates; i++)
        (void)shoal__ice_add_candidate(p, p->remote.candidates[i]);
}

int shoal__ice_add_candidate(shoal_rtc_peer *p, const char *candidate)
{
    if (strncmp(candidate, "a=", 2) == 0)
        candidate += 2;
    if (*candidate == '\0') {
        nice_agent_peer_candidate_gathering_done(p->agent, p->stream);
        return SHOAL_OK;
    }
    if (strncmp(candidate, "candidate:", 10) != 0 || strlen(candidate) > 1024)
        return SHOAL_E_RTC_CANDIDATE;
    gchar *line = g_strconcat("a=", candidate, NULL);
    NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(p->agent, p->stream, line);
    g_free(line);
    if (!c)
        return SHOAL_E_RTC_CANDIDATE;
    if (c->transport != NICE_CANDIDATE_TRANSPORT_UDP) {
        /* ICE over TCP (RFC 6544), which browsers offer beside UDP: ICE-TCP is off here, and a
         * candidate of a transport an agent does not use is ignored (RFC 8445 5.1), not an
         * error: refusing it told of a fault where there was none */
        nice_candidate_free(c);
        return SHOAL_OK;
    }
    GSList *list = g_slist_append(NULL, c);
    int added = nice_agent_set_remote_candidates(p->agent, p->stream, 1, list);
    g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
    return added == 1 ? SHOAL_OK : SHOAL_E_RTC_CANDIDATE;
}

void shoal__ice_send(shoal_rtc_peer *p, const uint8_t *data, size_t len)
{
    if (!p->agent)
        return;
    if (!p->ice_connected) {
        if (g_queue_get_length(&p->early) < RTC_MAX_EARLY)
            g_queue_push_tail(&p->early, g_bytes_new(data, len));
        return;
    }
    nice_agent_send(p->agent, p->stream, 1, (guint)len, (const gchar *)data);
}

void shoal__ice_stop(shoal_rtc_peer *p)
{
    g_queue_clear_full(&p->early, (GDestroyNotify)g_bytes_unref);
    if (!p->agent)
        return;
    g_signal_handlers_disconnect_by_data(p->agent, p);
    nice_agent_attach_recv(p->agent, p->stream, 1, p->rtc->ctx, NULL, NULL);
    nice_agent_remove_stream(p->agent, p->stream);
    /* lets TURN allocations be released (it holds the agent until done) */
    nice_agent_close_async(p->agent, NULL, NULL);
    g_object_unref(p->agent);
    p->agent = NULL;
}

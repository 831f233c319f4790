/* ICE with libnice: one stream of one component; trickled candidates; datagrams queued until the
 * component connects (the controlled side cannot send before it does). */
#include "rtc_internal.h"

#include "shoal/mdns.h"

#include <arpa/inet.h>
#include <stdio.h>
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
    char hidden[SHOAL_SDP_MAX_TEXT + 64];
    if (p->rtc->cfg.mdns == SHOAL_RTC_MDNS_HIDE) {
        /* a host address goes behind its name; a reflexive or relayed candidate keeps its own
         * address (public already) but not the host address it came from */
        bool host = cand->type == NICE_CANDIDATE_TYPE_HOST;
        const char *name = host ? shoal__mdns_own_name(p->rtc, &cand->addr) : NULL;
        if ((host && !name) ||
            shoal_mdns_candidate_rewrite(text, name, true, hidden, sizeof hidden) != SHOAL_OK) {
            shoal_log(SHOAL_LOG_INFO, "rtc", "a candidate not signalled: it cannot be hidden (%s)",
                      host ? "no mDNS name left for its address" : "unreadable");
            g_free(line);
            return;
        }
        text = hidden;
    }
    if (agent == p->next ? !p->next_described : !p->described) {
        /* a candidate must not overtake the description it belongs to */
        g_ptr_array_add(p->held, g_strdup(text));
    } else if (p->cb.candidate) {
        shoal__rtc_ref(p);
        p->cb.candidate(p, text, p->ud);
        shoal__rtc_unref(p);
    }
    g_free(line);
}

/* Every RTC_HEARTBEAT_MS: a peer that sent nothing for RTC_SILENT_MS is gone. A watch that
 * comes late (our own loop was busy) looks again before it judges: what came meanwhile may be
 * waiting to be read. */
static gboolean watch_peer(gpointer data)
{
    shoal_rtc_peer *p = data;
    gint64 now = g_get_monotonic_time();
    bool late = now - p->watched > 2 * RTC_HEARTBEAT_MS * 1000;
    p->watched = now;
    if (!late && !p->failing && now - p->last_in > RTC_SILENT_MS * (gint64)1000) {
        p->watch = 0;
        shoal__rtc_fail(p, SHOAL_E_RTC_GONE);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

/* The kernel's default UDP buffers (208 KiB) drop datagrams under load, even on loopback: 4 MiB
 * each way on the selected pair's socket. */
static void widen_buffers(shoal_rtc_peer *p)
{
    GSocket *sock = nice_agent_get_selected_socket(p->agent, p->stream, 1);
    if (sock) {
        int size = 4 << 20, fd = g_socket_get_fd(sock);
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        g_object_unref(sock);
    }
}

typedef struct dead_agent {
    NiceAgent *agent;
    guint stream;
} dead_agent;

static void bury(NiceAgent *agent, guint stream)
{
    nice_agent_remove_stream(agent, stream);
    /* lets TURN allocations be released (it holds the agent until done) */
    nice_agent_close_async(agent, NULL, NULL);
    g_object_unref(agent);
}

static gboolean bury_later(gpointer data)
{
    dead_agent *d = data;
    bury(d->agent, d->stream);
    g_free(d);
    return G_SOURCE_REMOVE;
}

/* The agent says no more to the peer at once; it is freed now, or from the main loop when one
 * of its own signals may be running (an agent is not freed under its own feet). */
static void free_agent(shoal_rtc_peer *p, NiceAgent *agent, guint stream, bool later)
{
    g_signal_handlers_disconnect_by_data(agent, p);
    nice_agent_attach_recv(agent, stream, 1, p->rtc->ctx, NULL, NULL);
    if (!later) {
        bury(agent, stream);
        return;
    }
    dead_agent *d = g_new(dead_agent, 1);
    d->agent = agent;
    d->stream = stream;
    GSource *idle = g_idle_source_new(); /* on the peer's context, as all its work is */
    g_source_set_callback(idle, bury_later, d, NULL);
    g_source_attach(idle, p->rtc->ctx);
    g_source_unref(idle);
}

static void drop_next(shoal_rtc_peer *p, bool later)
{
    g_clear_handle_id(&p->next_timer, g_source_remove);
    if (!p->next)
        return;
    free_agent(p, p->next, p->next_stream, later);
    p->next = NULL;
    p->next_stream = 0;
}

/* The restart's agent connected: DTLS moves to it, and the old agent goes. */
static void promote(shoal_rtc_peer *p)
{
    g_clear_handle_id(&p->next_timer, g_source_remove);
    free_agent(p, p->agent, p->stream, true);
    p->agent = p->next;
    p->stream = p->next_stream;
    p->next = NULL;
    p->next_stream = 0;
    memcpy(p->relays, p->next_relays, sizeof p->relays);
    p->path.local_type = p->next_path.local_type;
    p->path.remote_type = p->next_path.remote_type;
    p->path.relay = p->next_path.relay;
    memcpy(p->path.local, p->next_path.local, sizeof p->path.local);
    memcpy(p->path.remote, p->next_path.remote, sizeof p->path.remote);
    p->old_failed = false;
    p->remote_done_waiting = false;
    widen_buffers(p);
    shoal_log(SHOAL_LOG_INFO, "rtc", "ICE restarted: the connection goes on over %s %s -> %s %s",
              p->path.local_type ? p->path.local_type : "?", p->path.local,
              p->path.remote_type ? p->path.remote_type : "?", p->path.remote);
    if (p->cb.restarted)
        p->cb.restarted(p, p->ud);
}

/* The restart's agent changed state: connected, it takes over; failed, the restart is over,
 * and the peer with it when the old path failed too. */
static void next_state(shoal_rtc_peer *p, guint state)
{
    if (state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY) {
        promote(p);
    } else if (state == NICE_COMPONENT_STATE_FAILED) {
        shoal_log(SHOAL_LOG_INFO, "rtc", "ICE restart failed: no path on the new network");
        drop_next(p, true);
        if (p->old_failed)
            shoal__rtc_fail(p, SHOAL_E_RTC_ICE_FAILED);
    }
}

static void on_state(NiceAgent *agent, guint stream, guint component, guint state, gpointer data)
{
    (void)stream, (void)component;
    shoal_rtc_peer *p = data;
    if (p->failing)
        return;
    shoal__rtc_ref(p);
    if (agent == p->next) {
        next_state(p, state);
    } else if ((state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY) &&
               !p->ice_connected) {
        /* start DTLS at CONNECTED, not READY: READY waits for the controlling side's
         * nomination, which can take seconds */
        p->ice_connected = true;
        p->last_in = p->watched = g_get_monotonic_time();
        p->watch = g_timeout_add(RTC_HEARTBEAT_MS, watch_peer, p);
        widen_buffers(p);
        GBytes *d;
        while ((d = g_queue_pop_head(&p->early)) != NULL) {
            gsize n;
            const guint8 *bytes = g_bytes_get_data(d, &n);
            if (nice_agent_send(p->agent, p->stream, 1, (guint)n, (const gchar *)bytes) > 0)
                p->path.bytes_out += n;
            g_bytes_unref(d);
        }
        shoal__dtls_start(p);
    } else if (state == NICE_COMPONENT_STATE_FAILED) {
        if (p->next) /* the restart may find a path yet */
            p->old_failed = true;
        else
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
    p->path.bytes_in += len;
    p->last_in = g_get_monotonic_time();
    shoal__rtc_ref(p);
    if (!p->dtls_started && p->have_remote) /* their DTLS arrived before our CONNECTED */
        shoal__dtls_start(p);
    shoal__dtls_input(p, (const uint8_t *)buf, len);
    shoal__rtc_unref(p);
}

/* libnice's name for a candidate type, kept as a string that lives as long as the program. */
static const char *type_name(NiceCandidateType type)
{
    switch (type) {
    case NICE_CANDIDATE_TYPE_HOST:
        return "host";
    case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE:
        return "srflx";
    case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE:
        return "prflx";
    case NICE_CANDIDATE_TYPE_RELAYED:
        return "relay";
    }
    return "host";
}

static void address_text(const NiceAddress *a, char out[64])
{
    char ip[INET6_ADDRSTRLEN];
    nice_address_to_string(a, ip);
    bool v6 = nice_address_ip_version(a) == 6;
    snprintf(out, 64, "%s%s%s:%u", v6 ? "[" : "", ip, v6 ? "]" : "", nice_address_get_port(a));
}

static void on_selected_pair(NiceAgent *agent, guint stream, guint component, NiceCandidate *local,
                             NiceCandidate *remote, gpointer data)
{
    (void)stream, (void)component;
    shoal_rtc_peer *p = data;
    bool next = agent == p->next;
    shoal_rtc_path *path = next ? &p->next_path : &p->path;
    const char *const *relays = next ? p->next_relays : p->relays;
    path->local_type = type_name(local->type);
    path->remote_type = type_name(remote->type);
    path->relay = NULL;
    if (local->type == NICE_CANDIDATE_TYPE_RELAYED) {
        /* which relay: its place in the list, which libnice writes into the candidate's
         * priority (bits 6-8 of the local preference, RFC 8445 5.1.2.1), the copies it hands
         * out here carrying no other trace of their server */
        unsigned index = (local->priority >> 14) & 7;
        path->relay = relays[index] ? relays[index] : "udp";
    }
    address_text(&local->addr, path->local);
    address_text(&remote->addr, path->remote);
}

/* An agent for the peer, its stream and relays in *stream and relays[]: gathering, its signals
 * connected. NULL when it cannot start. */
static NiceAgent *make_agent(shoal_rtc_peer *p, guint *stream, const char *relays[8])
{
    shoal_rtc *rtc = p->rtc;
    const shoal_ice_servers *ice = &p->ice;
    /* keepalive checks on the selected pair (libnice gives up after 50 s without an answer);
     * a peer that stops answering is noticed sooner by watch_peer (RTC_SILENT_MS) */
    NiceAgent *agent =
        nice_agent_new_full(rtc->ctx, NICE_COMPATIBILITY_RFC5245, NICE_AGENT_OPTION_ICE_TRICKLE);
    if (!agent)
        return NULL;
    /* a restart's agent keeps the roles: whoever offered first stays controlling */
    g_object_set(agent, "keepalive-conncheck", TRUE, "controlling-mode", p->initiator, "upnp",
                 FALSE, "ice-tcp", FALSE, "stun-pacing-timer", 5, "force-relay",
                 rtc->cfg.relay_only, NULL);
    for (size_t i = 0; i < ice->n; i++)
        if (ice->s[i].scheme == SHOAL_ICE_STUN) { /* libnice asks one: the first */
            g_object_set(agent, "stun-server", ice->s[i].host.name, "stun-server-port",
                         (guint)ice->s[i].port, NULL);
            break;
        }
    for (char **a = rtc->addresses; a && *a; a++) {
        NiceAddress addr;
        nice_address_init(&addr);
        if (nice_address_set_from_string(&addr, *a))
            nice_agent_add_local_address(agent, &addr);
    }
    *stream = nice_agent_add_stream(agent, 1);
    if (*stream == 0) {
        g_object_unref(agent);
        return NULL;
    }
    unsigned nrelays = 0;
    memset(relays, 0, 8 * sizeof *relays);
    for (size_t i = 0; i < ice->n && nrelays < 8; i++) {
        const shoal_ice_server *s = &ice->s[i];
        if (s->scheme == SHOAL_ICE_STUN)
            continue;
        const char *host = s->host.name;
        guint port = s->port;
        if (s->scheme == SHOAL_ICE_TURNS) { /* through our own TLS (rtc_internal.h) */
            host = "127.0.0.1";
            port = shoal__tls_relay_port(rtc, s);
            if (port == 0)
                continue;
        }
        if (nice_agent_set_relay_info(agent, *stream, 1, host, port, s->username, s->credential,
                                      s->tcp ? NICE_RELAY_TYPE_TURN_TCP : NICE_RELAY_TYPE_TURN_UDP))
            relays[nrelays++] = shoal_ice_transport_name(s);
    }
    g_signal_connect(agent, "new-candidate-full", G_CALLBACK(on_candidate), p);
    g_signal_connect(agent, "new-selected-pair-full", G_CALLBACK(on_selected_pair), p);
    g_signal_connect(agent, "component-state-changed", G_CALLBACK(on_state), p);
    nice_agent_attach_recv(agent, *stream, 1, rtc->ctx, on_recv, p);
    return agent;
}

bool shoal__ice_start(shoal_rtc_peer *p)
{
    p->agent = make_agent(p, &p->stream, p->relays);
    return p->agent && nice_agent_gather_candidates(p->agent, p->stream);
}

/* RTC_RESTART_MS passed and the restart's agent did not connect: it goes, and the peer with it
 * when the old path failed too. */
static gboolean restart_too_late(gpointer data)
{
    shoal_rtc_peer *p = data;
    p->next_timer = 0;
    shoal_log(SHOAL_LOG_INFO, "rtc", "ICE restart given up: no path within %d s",
              RTC_RESTART_MS / 1000);
    drop_next(p, false);
    if (p->old_failed)
        shoal__rtc_fail(p, SHOAL_E_RTC_ICE_FAILED);
    return G_SOURCE_REMOVE;
}

bool shoal__ice_restart(shoal_rtc_peer *p, bool offered)
{
    drop_next(p, true);         /* a signal of its may be what brought the new restart */
    shoal__mdns_forget_peer(p); /* the old agent's lookups, and its budget: the new one's own */
    p->mdns_lookups = 0;
    p->next_path = (shoal_rtc_path){0};
    p->next_offered = offered;
    p->next_described = false;
    p->next_has_remote = false;
    p->remote_done_waiting = false;
    p->next = make_agent(p, &p->next_stream, p->next_relays);
    if (p->next && nice_agent_gather_candidates(p->next, p->next_stream)) {
        p->next_timer = g_timeout_add(RTC_RESTART_MS, restart_too_late, p);
        return true;
    }
    drop_next(p, false);
    return false;
}

void shoal__ice_restart_remote(shoal_rtc_peer *p, const shoal_sdp *remote)
{
    p->next_has_remote = true;
    nice_agent_set_remote_credentials(p->next, p->next_stream, remote->ice_ufrag, remote->ice_pwd);
    for (size_t i = 0; i < remote->ncandidates; i++)
        (void)shoal__ice_add_candidate(p, remote->candidates[i]);
}

void shoal__ice_credentials(shoal_rtc_peer *p, bool next, char **ufrag, char **pwd)
{
    if (next)
        nice_agent_get_local_credentials(p->next, p->next_stream, ufrag, pwd);
    else
        nice_agent_get_local_credentials(p->agent, p->stream, ufrag, pwd);
}

void shoal__ice_set_remote(shoal_rtc_peer *p)
{
    nice_agent_set_remote_credentials(p->agent, p->stream, p->remote.ice_ufrag, p->remote.ice_pwd);
    for (size_t i = 0; i < p->remote.ncandidates; i++)
        (void)shoal__ice_add_candidate(p, p->remote.candidates[i]);
}

/* Whether the candidate's transport (its third field) is UDP: an ICE-TCP one is not worth a
 * lookup, since it is ignored anyway (below). */
static bool candidate_is_udp(const char *candidate)
{
    const char *f = strchr(candidate, ' ');
    f = f ? strchr(f + 1, ' ') : NULL;
    return f && g_ascii_strncasecmp(f + 1, "udp ", 4) == 0;
}

int shoal__ice_add_candidate(shoal_rtc_peer *p, const char *candidate)
{
    /* the restart's agent takes them while one runs */
    NiceAgent *agent = p->next ? p->next : p->agent;
    guint stream = p->next ? p->next_stream : p->stream;
    if (strncmp(candidate, "a=", 2) == 0)
        candidate += 2;
    if (*candidate == '\0') {
        /* libnice fails a stream whose checks all failed once the last candidate came: one
         * still being looked up must come first */
        p->remote_done_waiting = shoal__mdns_pending(p);
        if (!p->remote_done_waiting)
            nice_agent_peer_candidate_gathering_done(agent, stream);
        return SHOAL_OK;
    }
    if (strncmp(candidate, "candidate:", 10) != 0 || strlen(candidate) > 1024)
        return SHOAL_E_RTC_CANDIDATE;
    char name[SHOAL_MDNS_NAME_SIZE];
    if (shoal_mdns_candidate_name(candidate, name) && candidate_is_udp(candidate))
        return shoal__mdns_resolve(p, name, candidate);
    gchar *line = g_strconcat("a=", candidate, NULL);
    NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(agent, stream, line);
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
    int added = nice_agent_set_remote_candidates(agent, stream, 1, list);
    g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
    return added == 1 ? SHOAL_OK : SHOAL_E_RTC_CANDIDATE;
}

void shoal__ice_lookups_done(shoal_rtc_peer *p)
{
    if (p->remote_done_waiting && p->agent && !p->failing)
        nice_agent_peer_candidate_gathering_done(p->next ? p->next : p->agent,
                                                 p->next ? p->next_stream : p->stream);
    p->remote_done_waiting = false;
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
    if (nice_agent_send(p->agent, p->stream, 1, (guint)len, (const gchar *)data) > 0)
        p->path.bytes_out += len;
}

void shoal__ice_stop(shoal_rtc_peer *p)
{
    if (p->watch)
        g_source_remove(p->watch);
    p->watch = 0;
    g_queue_clear_full(&p->early, (GDestroyNotify)g_bytes_unref);
    shoal__mdns_forget_peer(p);
    drop_next(p, false);
    if (!p->agent)
        return;
    free_agent(p, p->agent, p->stream, false);
    p->agent = NULL;
}

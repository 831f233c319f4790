/* SCTP with usrsctp over DTLS (AF_CONN), and DCEP to open the data channel. usrsctp runs
 * without threads of its own: its timers are driven from a GLib timeout while any association
 * exists, and its upcalls only schedule work on the main loop. */
#include "rtc_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <usrsctp.h>

enum ppid {
    PPID_DCEP = 50,
    PPID_STRING = 51,
    PPID_BINARY = 53,
    PPID_STRING_EMPTY = 56,
    PPID_BINARY_EMPTY = 57,
};

static unsigned users; /* associations alive, for the timer */
static guint timer_source;
static gint64 timer_last;

/* usrsctp's output: an SCTP packet for the peer whose address (its own handle) is `addr`. */
static int output(void *addr, void *buffer, size_t length, uint8_t tos, uint8_t set_df)
{
    (void)tos, (void)set_df;
    shoal__dtls_write(addr, buffer, length);
    return 0;
}

bool shoal__sctp_global_start(void)
{
    static bool started;
    if (started)
        return true;
    usrsctp_init_nothreads(0, output, NULL);
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    usrsctp_sysctl_set_sctp_delayed_sack_time_default(20);
    usrsctp_sysctl_set_sctp_rto_min_default(100);
    usrsctp_sysctl_set_sctp_rto_initial_default(1000);
    usrsctp_sysctl_set_sctp_init_rto_max_default(10000);
    usrsctp_sysctl_set_sctp_sendspace(4u << 20);
    usrsctp_sysctl_set_sctp_recvspace(4u << 20);
    started = true;
    return true;
}

static gboolean on_timers(gpointer data)
{
    (void)data;
    gint64 now = g_get_monotonic_time();
    usrsctp_handle_timers((uint32_t)((now - timer_last) / 1000));
    timer_last = now;
    return G_SOURCE_CONTINUE;
}

static void use_timers(bool more)
{
    users += more ? 1 : -1u;
    if (users == 1 && more && !timer_source) {
        timer_last = g_get_monotonic_time();
        timer_source = g_timeout_add(10, on_timers, NULL);
    } else if (users == 0 && timer_source) {
        g_source_remove(timer_source);
        timer_source = 0;
    }
}

static gboolean process(gpointer data);

/* usrsctp calls up with its locks held: only schedule the work. */
static void upcall(struct socket *sock, void *arg, int flags)
{
    (void)sock, (void)flags;
    shoal_rtc_peer *p = arg;
    if (!p->process_source && !p->failing)
        p->process_source = g_idle_add(process, p);
}

static int raw_send(shoal_rtc_peer *p, const void *data, size_t len, uint32_t ppid)
{
    struct sctp_sendv_spa spa = {0};
    spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
    spa.sendv_sndinfo.snd_sid = p->sid;
    spa.sendv_sndinfo.snd_flags = SCTP_EOR;
    spa.sendv_sndinfo.snd_ppid = htonl(ppid);
    return (int)usrsctp_sendv(p->sock, data, len, NULL, 0, &spa, sizeof spa, SCTP_SENDV_SPA, 0);
}

/* Hands queued messages to SCTP as far as its buffer takes them; a message it takes in part
 * goes on from its offset next time (SCTP_EOR on each piece keeps it whole). */
static void drain_queue(shoal_rtc_peer *p)
{
    while (p->out_count > 0 && !p->failing) {
        out_msg *m = &p->outq[p->out_head];
        int n = raw_send(p, m->data + m->off, m->len - m->off, m->ppid);
        if (n < 0) {
            if (errno != EWOULDBLOCK && errno != EAGAIN)
                shoal__rtc_fail(p, SHOAL_E_RTC_SCTP);
            break;
        }
        m->off += (size_t)n;
        p->buffered -= (size_t)n;
        if (m->off < m->len)
            break;
        g_free(m->data);
        p->out_head = (p->out_head + 1) % p->out_cap;
        p->out_count--;
    }
    if (p->shutdown_pending && p->out_count == 0 && !p->failing) {
        p->shutdown_pending = false;
        p->shutdown_late = true;
        usrsctp_shutdown(p->sock, SHUT_RDWR); /* SCTP sends what it holds, then its SHUTDOWN */
    }
    if (p->want_writable && p->buffered < p->rtc->cfg.low_water && !p->failing) {
        p->want_writable = false;
        if (p->cb.writable)
            p->cb.writable(p, p->ud);
    }
}

static void channel_open(shoal_rtc_peer *p)
{
    if (p->channel_open)
        return;
    p->channel_open = true;
    if (p->cb.open)
        p->cb.open(p, p->ud);
}

/* Confirms the channel of p->sid the other side opened; false when the connection fails. */
static bool send_ack(shoal_rtc_peer *p)
{
    static const uint8_t ack = SHOAL_DCEP_ACK;
    if (raw_send(p, &ack, 1, PPID_DCEP) >= 0)
        return true;
    shoal__rtc_fail(p, SHOAL_E_RTC_SCTP);
    return false;
}

static void stop_keeping(shoal_rtc_peer *p)
{
    if (!p->kept)
        return;
    for (guint i = 0; i < p->kept->len; i++)
        g_free(g_array_index(p->kept, out_msg, i).data);
    g_array_free(p->kept, TRUE);
    p->kept = NULL;
    p->kept_bytes = 0;
}

/* They opened a channel of their own before saying a word on ours: it is the one they read.
 * webrtc-swarm makes a peer that dials (simple-peer's initiator, which opens its own channel and
 * never looks at another) when it hears our announce; if our offer reaches it before it has made
 * its own, the browser answers ours with that peer (an implicit rollback), so the connection is
 * ours and the channel theirs. What we said on ours is said again on theirs, in order, and ours
 * is left unused. Only while everything we said is kept whole: nothing is lost or cut. */
static void take_their_channel(shoal_rtc_peer *p, uint16_t sid, const shoal_dcep *d)
{
    const char *why = d->channel_type != SHOAL_DCEP_RELIABLE ? "it is not reliable and ordered"
                      : !p->kept ? "we said too much on ours, or heard them on it"
                      : p->out_count > 0 && p->outq[p->out_head].off > 0
                          ? "a message is half sent on ours"
                          : NULL;
    if (why) {
        if (p->follow_theirs) /* said once: the peer may open as many as it likes */
            shoal_log(SHOAL_LOG_INFO, "rtc",
                      "the peer opened a channel of its own (stream %u), "
                      "not taken for ours: %s",
                      (unsigned)sid, why);
        p->follow_theirs = false;
        return;
    }
    shoal_log(SHOAL_LOG_INFO, "rtc",
              "the peer opened a channel of its own (stream %u) before using ours (stream %u): "
              "it is the one used",
              (unsigned)sid, (unsigned)p->sid);
    for (; p->out_count > 0; p->out_count--) { /* each is also kept */
        g_free(p->outq[p->out_head].data);
        p->out_head = (p->out_head + 1) % p->out_cap;
    }
    p->out_head = 0;
    p->buffered = 0;
    p->sid = sid;
    p->follow_theirs = false; /* once */
    if (!send_ack(p))
        return;
    GArray *kept = p->kept;
    p->kept = NULL;
    if (kept->len > p->out_cap) {
        g_free(p->outq);
        p->outq = g_new(out_msg, kept->len);
        p->out_cap = kept->len;
    }
    for (guint i = 0; i < kept->len; i++) {
        p->outq[i] = g_array_index(kept, out_msg, i);
        p->buffered += p->outq[i].len;
    }
    p->out_count = kept->len;
    p->kept_bytes = 0;
    g_array_free(kept, TRUE);
    drain_queue(p);
}

static void on_dcep(shoal_rtc_peer *p, uint16_t sid, const uint8_t *msg, size_t len)
{
    shoal_dcep d;
    if (shoal_dcep_parse(msg, len, &d) != SHOAL_OK) {
        shoal__rtc_fail(p, SHOAL_E_DCEP);
        return;
    }
    if (d.type != SHOAL_DCEP_OPEN || (p->channel_open && sid == p->sid))
        return; /* an ACK confirms what we opened */
    if (!p->channel_open) {
        p->sid = sid;
        if (send_ack(p))
            channel_open(p);
        return;
    }
    /* a channel beside ours: taken only as take_their_channel says, else not ours to take */
    take_their_channel(p, sid, &d);
}

static void on_message(shoal_rtc_peer *p, uint16_t sid, uint32_t ppid, const uint8_t *data,
                       size_t len)
{
    switch (ppid) {
    case PPID_DCEP:
        on_dcep(p, sid, data, len);
        break;
    case PPID_STRING:
    case PPID_BINARY:
    case PPID_STRING_EMPTY:
    case PPID_BINARY_EMPTY:
        if (!p->channel_open || sid != p->sid)
            break;       /* not our channel: dropped */
        stop_keeping(p); /* heard on ours: it is the one they use */
        if (p->cb.message)
            p->cb.message(p, data, ppid >= PPID_STRING_EMPTY ? 0 : len,
                          ppid == PPID_BINARY || ppid == PPID_BINARY_EMPTY, p->ud);
        break;
    default:
        break; /* a payload protocol WebRTC does not use */
    }
}

/* Whether a reset names our channel's stream (or every stream: an empty list). */
static bool resets_ours(const shoal_rtc_peer *p, const struct sctp_stream_reset_event *ev,
                        size_t len)
{
    size_t head = offsetof(struct sctp_stream_reset_event, strreset_stream_list);
    size_t size = ev->strreset_length < len ? ev->strreset_length : len;
    size_t count = size > head ? (size - head) / sizeof(uint16_t) : 0;
    for (size_t i = 0; i < count; i++)
        if (ev->strreset_stream_list[i] == p->sid)
            return true;
    return count == 0;
}

static void on_notification(shoal_rtc_peer *p, const union sctp_notification *n, size_t len)
{
    if (len < sizeof n->sn_header)
        return;
    switch (n->sn_header.sn_type) {
    case SCTP_ASSOC_CHANGE:
        switch (n->sn_assoc_change.sac_state) {
        case SCTP_COMM_UP:
            p->sctp_up = true;
            if (p->initiator) {
                /* the DTLS client opens even stream ids, the server odd ones */
                p->sid = SSL_is_server(p->ssl) ? 1 : 0;
                shoal_dcep open = {.type = SHOAL_DCEP_OPEN,
                                   .channel_type = SHOAL_DCEP_RELIABLE,
                                   .label = p->label,
                                   .label_len = (uint16_t)strlen(p->label)};
                shoal_buf b = SHOAL_BUF_INIT;
                shoal_dcep_write(&open, &b);
                int rc = shoal_buf_status(&b) ? -1 : raw_send(p, b.data, b.len, PPID_DCEP);
                shoal_buf_free(&b);
                if (rc < 0) {
                    shoal__rtc_fail(p, SHOAL_E_RTC_SCTP);
                } else {
                    if (p->follow_theirs && !p->kept)
                        p->kept = g_array_new(FALSE, FALSE, sizeof(out_msg));
                    channel_open(p); /* ordered: data may follow the OPEN at once */
                }
            }
            break;
        case SCTP_SHUTDOWN_COMP:
            shoal__rtc_fail(p, SHOAL_OK);
            break;
        case SCTP_COMM_LOST:
        case SCTP_CANT_STR_ASSOC:
            shoal__rtc_fail(p, p->closing ? SHOAL_OK : SHOAL_E_RTC_SCTP);
            break;
        default:
            break;
        }
        break;
    case SCTP_STREAM_RESET_EVENT:
        /* the other side reset our channel's stream: it closed the channel */
        if (p->channel_open &&
            (n->sn_strreset_event.strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN) &&
            resets_ours(p, &n->sn_strreset_event, len))
            shoal__rtc_fail(p, SHOAL_OK);
        break;
    case SCTP_SHUTDOWN_EVENT:
        shoal__rtc_fail(p, SHOAL_OK);
        break;
    default:
        break;
    }
}

static gboolean process(gpointer data)
{
    shoal_rtc_peer *p = data;
    p->process_source = 0;
    shoal__rtc_ref(p);
    static _Alignas(union sctp_notification) uint8_t buf[65536]; /* read as either */
    while (!p->failing && p->sock) {
        struct sctp_rcvinfo info;
        socklen_t info_len = sizeof info, from_len = 0;
        unsigned int info_type = 0;
        int flags = 0;
        ssize_t n = usrsctp_recvv(p->sock, buf, sizeof buf, NULL, &from_len, &info, &info_len,
                                  &info_type, &flags);
        if (n < 0) {
            if (errno != EWOULDBLOCK && errno != EAGAIN)
                shoal__rtc_fail(p, p->closing ? SHOAL_OK : SHOAL_E_RTC_SCTP);
            break;
        }
        if (n == 0) {
            shoal__rtc_fail(p, SHOAL_OK);
            break;
        }
        if (flags & MSG_NOTIFICATION) {
            on_notification(p, (const union sctp_notification *)buf, (size_t)n);
            continue;
        }
        /* pieces of one message gather until its end */
        if (p->in_msg.len + (size_t)n > p->rtc->cfg.max_message) {
            shoal__rtc_fail(p, SHOAL_E_RTC_TOO_LARGE);
            break;
        }
        shoal_buf_append(&p->in_msg, buf, (size_t)n);
        if (shoal_buf_status(&p->in_msg) != SHOAL_OK) {
            shoal__rtc_fail(p, SHOAL_E_NOMEM);
            break;
        }
        if (!(flags & MSG_EOR))
            continue;
        uint32_t ppid = info_type == SCTP_RECVV_RCVINFO ? ntohl(info.rcv_ppid) : 0;
        on_message(p, info.rcv_sid, ppid, (const uint8_t *)p->in_msg.data, p->in_msg.len);
        shoal_buf_reset(&p->in_msg);
    }
    if (!p->failing && p->sock)
        drain_queue(p);
    shoal__rtc_unref(p);
    return G_SOURCE_REMOVE;
}

static void set(shoal_rtc_peer *p, int level, int name, const void *value, socklen_t len)
{
    if (usrsctp_setsockopt(p->sock, level, name, value, len) != 0)
        shoal_log(SHOAL_LOG_DEBUG, "rtc", "SCTP option %d: %s", name, strerror(errno));
}

void shoal__sctp_start(shoal_rtc_peer *p)
{
    usrsctp_register_address(p);
    p->sctp_registered = true;
    p->sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
    if (!p->sock) {
        shoal__rtc_fail(p, SHOAL_E_RTC_SCTP);
        return;
    }
    use_timers(true);
    usrsctp_set_upcall(p->sock, upcall, p);
    usrsctp_set_non_blocking(p->sock, 1);
    struct linger lg = {1, 0};
    set(p, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    int on = 1, buffer = 4 << 20;
    set(p, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
    set(p, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    set(p, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof on);
    set(p, IPPROTO_SCTP, SCTP_EXPLICIT_EOR, &on, sizeof on);
    set(p, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on);
    struct sctp_assoc_value reset = {.assoc_id = SCTP_ALL_ASSOC,
                                     .assoc_value = SCTP_ENABLE_RESET_STREAM_REQ};
    set(p, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &reset, sizeof reset);
    static const uint16_t events[] = {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT,
                                      SCTP_SHUTDOWN_EVENT};
    for (size_t i = 0; i < sizeof events / sizeof *events; i++) {
        struct sctp_event ev = {.se_assoc_id = SCTP_ALL_ASSOC, .se_type = events[i], .se_on = 1};
        set(p, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof ev);
    }
    struct sctp_initmsg init = {.sinit_num_ostreams = 1024, .sinit_max_instreams = 1024};
    set(p, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof init);
    struct sctp_rtoinfo rto = {.srto_assoc_id = SCTP_FUTURE_ASSOC,
                               .srto_initial = 1000,
                               .srto_max = 10000,
                               .srto_min = 100};
    set(p, IPPROTO_SCTP, SCTP_RTOINFO, &rto, sizeof rto);

    struct sockaddr_conn local = {0};
    local.sconn_family = AF_CONN;
    local.sconn_port = htons(RTC_SCTP_PORT);
    local.sconn_addr = p; /* our own handle, also in connect: see RTC-NOTES */
    if (usrsctp_bind(p->sock, (struct sockaddr *)&local, sizeof local) != 0) {
        shoal__rtc_fail(p, SHOAL_E_RTC_SCTP);
        return;
    }
    struct sockaddr_conn remote = local;
    remote.sconn_port = htons(p->remote.sctp_port);
    if (usrsctp_connect(p->sock, (struct sockaddr *)&remote, sizeof remote) != 0 &&
        errno != EINPROGRESS) {
        shoal__rtc_fail(p, SHOAL_E_RTC_SCTP);
        return;
    }
    /* packets near the path MTU, once there is a path; heartbeats often */
    struct sctp_paddrparams pp = {0};
    memcpy(&pp.spp_address, &remote, sizeof remote);
    pp.spp_flags = SPP_PMTUD_DISABLE | SPP_HB_ENABLE;
    pp.spp_pathmtu = RTC_MTU - 60;        /* SCTP and DTLS headers come on top */
    pp.spp_hbinterval = RTC_HEARTBEAT_MS; /* an idle channel still says it is alive */
    set(p, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof pp);
}

void shoal__sctp_input(shoal_rtc_peer *p, const uint8_t *data, size_t len)
{
    if (p->sock)
        usrsctp_conninput(p, data, len, 0);
}

int shoal__sctp_send(shoal_rtc_peer *p, const uint8_t *data, size_t len, bool binary)
{
    if (!p->channel_open || p->failing || p->closing)
        return SHOAL_E_RTC_STATE;
    uint32_t limit = p->remote.max_message_size ? p->remote.max_message_size : 65536;
    if (len > limit)
        return SHOAL_E_RTC_TOO_LARGE;
    if (p->buffered + len > p->rtc->cfg.max_buffered) {
        p->want_writable = true;
        return SHOAL_E_RTC_BUFFER_FULL;
    }
    if (p->out_count == p->out_cap) {
        size_t cap = p->out_cap ? 2 * p->out_cap : 16;
        out_msg *q = g_new(out_msg, cap);
        for (size_t i = 0; i < p->out_count; i++)
            q[i] = p->outq[(p->out_head + i) % p->out_cap];
        g_free(p->outq);
        p->outq = q;
        p->out_cap = cap;
        p->out_head = 0;
    }
    /* an empty message goes as one zero byte with its own payload id */
    static const uint8_t zero = 0;
    uint32_t ppid = len == 0 ? (binary ? PPID_BINARY_EMPTY : PPID_STRING_EMPTY)
                             : (binary ? PPID_BINARY : PPID_STRING);
    size_t n = len ? len : 1;
    out_msg m = {g_memdup2(len ? data : &zero, n), n, 0, ppid};
    p->outq[(p->out_head + p->out_count++) % p->out_cap] = m;
    if (p->kept && p->kept_bytes + n + RTC_KEPT_EACH <= RTC_KEPT_MAX) {
        out_msg copy = {g_memdup2(m.data, n), n, 0, ppid};
        g_array_append_val(p->kept, copy);
        p->kept_bytes += n + RTC_KEPT_EACH;
    } else {
        stop_keeping(p); /* too much to say again: ours stays the channel */
    }
    p->buffered += n;
    drain_queue(p);
    return SHOAL_OK;
}

void shoal__sctp_close(shoal_rtc_peer *p)
{
    stop_keeping(p); /* closing: no channel is taken any more */
    if (!p->sock || !p->sctp_up)
        return;
    if (p->out_count > 0) /* the last words first: drain_queue shuts down once SCTP has them */
        p->shutdown_pending = true;
    else
        usrsctp_shutdown(p->sock, SHUT_RDWR);
}

void shoal__sctp_stop(shoal_rtc_peer *p)
{
    if (p->process_source)
        g_source_remove(p->process_source);
    p->process_source = 0;
    if (p->sock) {
        usrsctp_set_upcall(p->sock, NULL, NULL);
        usrsctp_close(p->sock);
        p->sock = NULL;
        use_timers(false);
    }
    if (p->sctp_registered)
        usrsctp_deregister_address(p);
    p->sctp_registered = false;
    for (; p->out_count > 0; p->out_count--) {
        g_free(p->outq[p->out_head].data);
        p->out_head = (p->out_head + 1) % p->out_cap;
    }
    g_free(p->outq);
    p->outq = NULL;
    p->out_cap = 0;
    stop_keeping(p);
    shoal_buf_free(&p->in_msg);
}

uint32_t shoal__sctp_rtt(const shoal_rtc_peer *p)
{
    if (!p->sock || !p->sctp_up)
        return 0;
    struct sctp_status status = {0};
    socklen_t len = sizeof status;
    if (usrsctp_getsockopt(p->sock, IPPROTO_SCTP, SCTP_STATUS, &status, &len) != 0)
        return 0;
    return status.sstat_primary.spinfo_srtt;
}

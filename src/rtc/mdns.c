/* mDNS candidates (draft-ietf-mmusic-mdns-ice-candidates): the other side's `<uuid>.local` host
 * candidates looked up with multicast DNS queries (RFC 6762) on the LAN, and, when asked, our
 * own host addresses hidden behind such names, answered to whoever on the LAN asks.
 *
 * How this works. One IPv4 socket on port 5353 (shared, as RFC 6762 15.1 asks, with any other
 * responder on the host: Avahi, a browser), joined to 224.0.0.251 on every interface that takes
 * multicast, made when first needed. A lookup belongs to one peer and one candidate line: its
 * query goes out at once and again after a second; an answer rewrites the line with the address
 * and hands it to libnice (a second answer with another address too: one of them may be a
 * neighbour's lie); after three seconds the lookup is dropped. Only what comes from the link it
 * arrived on is read (RFC 6762 11), answers only from port 5353 (RFC 6762 6), and an address of
 * ours is answered only on its own interface (RFC 6762 14). What a remote can make us do is
 * bounded: RTC_MDNS_PER_PEER lookups per peer in its life, RTC_MDNS_PENDING at once in all,
 * each answer of ours multicast at most once a second per name and interface (RFC 6762 6),
 * legacy unicast answers (RFC 6762 6.7) at most RTC_MDNS_UNICAST_RATE a second. Answers are
 * taken only for names being looked up, so the LAN cannot fill a cache; with nothing looked up
 * and no name of ours, what comes is not even read. IPv4 only: the group 224.0.0.251. */
#include "rtc_internal.h"

#include "shoal/mdns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib-unix.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RTC_MDNS_PER_PEER     4    /* lookups one peer may cause, in its life */
#define RTC_MDNS_PENDING      32   /* lookups under way, in all */
#define RTC_MDNS_RESEND_MS    1000 /* a query's second copy */
#define RTC_MDNS_TIMEOUT_MS   3000 /* a lookup with no answer by then is dropped */
#define RTC_MDNS_TICK_MS      250
#define RTC_MDNS_OWN_NAMES    16 /* our addresses hidden behind names */
#define RTC_MDNS_UNICAST_RATE 20 /* legacy unicast answers a second */
#define RTC_MDNS_READS_PER_RUN                                                                     \
    32 /* datagrams read per wake-up, so the LAN cannot hold the loop                              \
        */

typedef struct lookup {
    shoal_rtc_peer *peer;
    char name[SHOAL_MDNS_NAME_SIZE];
    char *candidate;
    gint64 started, sent; /* µs */
    unsigned sends;
    unsigned answers; /* addresses taken: a lookup stays for a second one until its time is up */
    char first[INET6_ADDRSTRLEN];
} lookup;

typedef struct own_name {
    char name[SHOAL_MDNS_NAME_SIZE];
    shoal_mdns_record record;
    gint64 multicast; /* when it was last multicast (µs), and where */
    int multicast_if;
} own_name;

struct rtc_mdns {
    int fd;
    GSource *source;
    GSource *tick;      /* while lookups are under way */
    GPtrArray *lookups; /* lookup* */
    own_name own[RTC_MDNS_OWN_NAMES];
    size_t nown;
    gint64 unicast_second; /* the second legacy unicast answers are counted in */
    unsigned unicast_count;
};

/* ---- The LAN ------------------------------------------------------------------------------- */

#define LAN_MAX 32

typedef struct lan_addr {
    int index;
    sa_family_t family;
    uint8_t addr[16], mask[16];
} lan_addr;

/* The addresses of the interfaces that are up and take multicast. */
static size_t lan_addresses(lan_addr out[LAN_MAX])
{
    struct ifaddrs *ifs;
    size_t n = 0;
    if (getifaddrs(&ifs) != 0)
        return 0;
    for (struct ifaddrs *i = ifs; i && n < LAN_MAX; i = i->ifa_next) {
        if (!i->ifa_addr || !i->ifa_netmask || !(i->ifa_flags & IFF_UP) ||
            !(i->ifa_flags & IFF_MULTICAST))
            continue;
        lan_addr *a = &out[n];
        a->family = i->ifa_addr->sa_family;
        if (a->family == AF_INET) {
            memcpy(a->addr, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
            memcpy(a->mask, &((struct sockaddr_in *)i->ifa_netmask)->sin_addr, 4);
        } else if (a->family == AF_INET6) {
            memcpy(a->addr, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
            memcpy(a->mask, &((struct sockaddr_in6 *)i->ifa_netmask)->sin6_addr, 16);
        } else {
            continue;
        }
        a->index = (int)if_nametoindex(i->ifa_name);
        n += a->index != 0;
    }
    freeifaddrs(ifs);
    return n;
}

/* The IPv4 interfaces among them, each once. */
static size_t lan_interfaces(const lan_addr *a, size_t n, int out[LAN_MAX])
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool seen = a[i].family != AF_INET;
        for (size_t j = 0; j < k && !seen; j++)
            seen = out[j] == a[i].index;
        if (!seen)
            out[k++] = a[i].index;
    }
    return k;
}

/* Joins the group on every interface (again: one that came since is joined; those joined
 * before answer EADDRINUSE). */
static void join_all(int fd)
{
    lan_addr a[LAN_MAX];
    int ifs[LAN_MAX];
    size_t n = lan_interfaces(a, lan_addresses(a), ifs);
    for (size_t i = 0; i < n; i++) {
        struct ip_mreqn m = {.imr_ifindex = ifs[i]};
        inet_pton(AF_INET, SHOAL_MDNS_GROUP4, &m.imr_multiaddr);
        (void)setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m);
    }
}

/* Sends to the group on every interface (ifindex 0), or on one. */
static void send_group(struct rtc_mdns *m, const uint8_t *msg, size_t len, int ifindex)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(SHOAL_MDNS_PORT)};
    inet_pton(AF_INET, SHOAL_MDNS_GROUP4, &to.sin_addr);
    lan_addr a[LAN_MAX];
    int ifs[LAN_MAX];
    size_t n = lan_interfaces(a, lan_addresses(a), ifs);
    for (size_t i = 0; i < n; i++) {
        if (ifindex && ifs[i] != ifindex)
            continue;
        struct ip_mreqn via = {.imr_ifindex = ifs[i]};
        if (setsockopt(m->fd, IPPROTO_IP, IP_MULTICAST_IF, &via, sizeof via) == 0)
            (void)sendto(m->fd, msg, len, 0, (struct sockaddr *)&to, sizeof to);
    }
}

/* Whether `from` is on the link of the interface it came in on (RFC 6762 11: what comes from
 * farther is neither answered nor believed). */
static bool on_link(const lan_addr *a, size_t n, struct in_addr from, int ifindex)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i].family != AF_INET || a[i].index != ifindex)
            continue;
        uint32_t addr, mask;
        memcpy(&addr, a[i].addr, 4);
        memcpy(&mask, a[i].mask, 4);
        if ((addr & mask) == (from.s_addr & mask))
            return true;
    }
    return false;
}

/* Whether the record's address is one of the interface's (RFC 6762 14: an address is answered
 * only on its own link). */
static bool address_on(const lan_addr *a, size_t n, const shoal_mdns_record *r, int ifindex)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].index == ifindex && (a[i].family == AF_INET6) == r->v6 &&
            memcmp(a[i].addr, r->addr, r->v6 ? 16 : 4) == 0)
            return true;
    return false;
}

/* ---- Answering ------------------------------------------------------------------------------ */

static void answer_query(shoal_rtc *rtc, const shoal_mdns_message *q,
                         const struct sockaddr_in *from, int ifindex, const lan_addr *lan,
                         size_t nlan)
{
    struct rtc_mdns *m = rtc->mdns;
    bool legacy = ntohs(from->sin_port) != SHOAL_MDNS_PORT;
    gint64 now = g_get_monotonic_time();
    char who[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &from->sin_addr, who, sizeof who);
    for (size_t i = 0; i < q->nquestions; i++) {
        const shoal_mdns_question *question = &q->questions[i];
        for (size_t j = 0; j < m->nown; j++) {
            own_name *o = &m->own[j];
            bool type_fits = question->type == SHOAL_MDNS_ANY ||
                             (question->type == SHOAL_MDNS_AAAA) == o->record.v6;
            if (strcmp(o->name, question->name) != 0 || !type_fits ||
                !address_on(lan, nlan, &o->record, ifindex))
                continue;
            uint8_t out[512];
            size_t len;
            if (legacy) {
                if (now / G_USEC_PER_SEC != m->unicast_second) {
                    m->unicast_second = now / G_USEC_PER_SEC;
                    m->unicast_count = 0;
                }
                if (m->unicast_count >= RTC_MDNS_UNICAST_RATE)
                    continue;
                m->unicast_count++;
                len = shoal_mdns_answer_write(&o->record, 1, question, q->id, out, sizeof out);
                if (len)
                    (void)sendto(m->fd, out, len, 0, (const struct sockaddr *)from, sizeof *from);
            } else if (o->multicast == 0 || o->multicast_if != ifindex ||
                       now - o->multicast >= G_USEC_PER_SEC) {
                o->multicast = now;
                o->multicast_if = ifindex;
                len = shoal_mdns_answer_write(&o->record, 1, NULL, 0, out, sizeof out);
                if (len)
                    send_group(m, out, len, ifindex);
            } else {
                continue;
            }
            shoal_log(SHOAL_LOG_INFO, "rtc", "mDNS: answered %s for %s", o->name, who);
        }
    }
}

/* ---- Looking up ----------------------------------------------------------------------------- */

static void lookup_free(gpointer data)
{
    lookup *l = data;
    g_free(l->candidate);
    g_free(l);
}

/* The peer's lookups that no answer came for yet. */
static size_t pending_for(const struct rtc_mdns *m, const shoal_rtc_peer *p)
{
    size_t n = 0;
    for (guint i = 0; i < m->lookups->len; i++) {
        const lookup *l = g_ptr_array_index(m->lookups, i);
        n += l->peer == p && l->answers == 0;
    }
    return n;
}

/* A candidate an answer made, to be handed to its peer once the lookups are consistent again. */
typedef struct found {
    shoal_rtc_peer *peer; /* a reference held */
    char line[1024 + 64];
    char name[SHOAL_MDNS_NAME_SIZE], address[INET6_ADDRSTRLEN];
    bool last; /* the peer's last pending lookup was answered */
} found;

static void take_answer(shoal_rtc *rtc, const shoal_mdns_message *a)
{
    struct rtc_mdns *m = rtc->mdns;
    found *f = g_new(found, RTC_MDNS_PENDING);
    size_t nf = 0;
    for (size_t r = 0; r < a->nrecords; r++) {
        const shoal_mdns_record *rec = &a->records[r];
        if (rec->ttl == 0)
            continue;
        char address[INET6_ADDRSTRLEN];
        inet_ntop(rec->v6 ? AF_INET6 : AF_INET, rec->addr, address, sizeof address);
        for (guint i = 0; i < m->lookups->len && nf < RTC_MDNS_PENDING;) {
            lookup *l = g_ptr_array_index(m->lookups, i);
            if (strcmp(l->name, rec->name) != 0 ||
                (l->answers > 0 && strcmp(l->first, address) == 0)) {
                i++;
                continue;
            }
            found *x = &f[nf++];
            x->peer = l->peer;
            shoal__rtc_ref(x->peer);
            g_strlcpy(x->name, l->name, sizeof x->name);
            g_strlcpy(x->address, address, sizeof x->address);
            if (shoal_mdns_candidate_rewrite(l->candidate, address, false, x->line,
                                             sizeof x->line) != SHOAL_OK)
                x->line[0] = '\0';
            /* a second address (the LAN may have more than one answer, and one of them may not
             * be the peer's) is taken too; then the lookup is over */
            if (++l->answers == 1)
                g_strlcpy(l->first, address, sizeof l->first);
            x->last = l->answers == 1 && pending_for(m, l->peer) == 0;
            if (l->answers == 2)
                g_ptr_array_remove_index(m->lookups, i);
            else
                i++;
        }
    }
    /* only now call out: what libnice does with a candidate cannot disturb the list walked */
    for (size_t i = 0; i < nf; i++) {
        shoal_rtc_peer *p = f[i].peer;
        int rc = p->failing || !f[i].line[0] ? SHOAL_E_RTC_STATE
                                             : shoal__ice_add_candidate(p, f[i].line);
        shoal_log(SHOAL_LOG_INFO, "rtc", "mDNS: %s is %s%s", f[i].name, f[i].address,
                  rc == SHOAL_OK ? "" : " (not taken)");
        if (f[i].last)
            shoal__ice_lookups_done(p);
        shoal__rtc_unref(p);
    }
    g_free(f);
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
    (void)cond;
    shoal_rtc *rtc = data;
    uint8_t buf[SHOAL_MDNS_MAX_MESSAGE];
    for (int n = 0; n < RTC_MDNS_READS_PER_RUN && rtc->mdns; n++) {
        struct sockaddr_in from;
        union {
            char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
            struct cmsghdr align;
        } control;
        struct iovec iov = {buf, sizeof buf};
        struct msghdr msg = {.msg_name = &from,
                             .msg_namelen = sizeof from,
                             .msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control.buf,
                             .msg_controllen = sizeof control.buf};
        ssize_t len = recvmsg(fd, &msg, MSG_DONTWAIT);
        if (len < 0)
            break;
        struct rtc_mdns *m = rtc->mdns;
        if ((msg.msg_flags & MSG_TRUNC) || (m->lookups->len == 0 && m->nown == 0))
            continue; /* nothing we asked or answer for: not even read */
        int ifindex = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
                ifindex = ((struct in_pktinfo *)(void *)CMSG_DATA(c))->ipi_ifindex;
        shoal_mdns_message dns;
        if (shoal_mdns_parse(buf, (size_t)len, &dns) != SHOAL_OK)
            continue;
        lan_addr lan[LAN_MAX];
        size_t nlan = lan_addresses(lan);
        if (!on_link(lan, nlan, from.sin_addr, ifindex))
            continue;
        if (dns.response && ntohs(from.sin_port) == SHOAL_MDNS_PORT) /* RFC 6762 6 */
            take_answer(rtc, &dns);
        else if (!dns.response && m->nown > 0)
            answer_query(rtc, &dns, &from, ifindex, lan, nlan);
    }
    return G_SOURCE_CONTINUE;
}

static void send_query(struct rtc_mdns *m, lookup *l, gint64 now)
{
    /* one question a query: Chromium's responder answers no other kind */
    uint8_t q[128];
    join_all(m->fd);
    size_t len = shoal_mdns_query_write(l->name, SHOAL_MDNS_A, q, sizeof q);
    if (len)
        send_group(m, q, len, 0);
    len = shoal_mdns_query_write(l->name, SHOAL_MDNS_AAAA, q, sizeof q);
    if (len)
        send_group(m, q, len, 0);
    l->sent = now;
    l->sends++;
}

static gboolean on_tick(gpointer data)
{
    shoal_rtc *rtc = data;
    struct rtc_mdns *m = rtc->mdns;
    gint64 now = g_get_monotonic_time();
    for (guint i = 0; i < m->lookups->len;) {
        lookup *l = g_ptr_array_index(m->lookups, i);
        if (now - l->started >= RTC_MDNS_TIMEOUT_MS * (gint64)1000) {
            shoal_rtc_peer *p = l->peer;
            bool unanswered = l->answers == 0;
            if (unanswered)
                shoal_log(SHOAL_LOG_INFO, "rtc", "mDNS: no answer for %s", l->name);
            g_ptr_array_remove_index(m->lookups, i);
            if (unanswered && pending_for(m, p) == 0)
                shoal__ice_lookups_done(p); /* what fails there is torn down later */
            continue;
        }
        if (l->answers == 0 && l->sends < 2 && now - l->sent >= RTC_MDNS_RESEND_MS * (gint64)1000)
            send_query(m, l, now);
        i++;
    }
    if (m->lookups->len > 0)
        return G_SOURCE_CONTINUE;
    g_source_unref(m->tick);
    m->tick = NULL;
    return G_SOURCE_REMOVE;
}

/* The socket, made when first needed; NULL when it cannot be (said once). */
static struct rtc_mdns *mdns_get(shoal_rtc *rtc)
{
    if (rtc->mdns || rtc->mdns_failed)
        return rtc->mdns;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1, ttl = 255;
    struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons(SHOAL_MDNS_PORT)};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) != 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&any, sizeof any) != 0) {
        shoal_log(SHOAL_LOG_WARN, "rtc", "mDNS: cannot listen on port %d: %s", SHOAL_MDNS_PORT,
                  g_strerror(errno));
        if (fd >= 0)
            close(fd);
        rtc->mdns_failed = true;
        return NULL;
    }
    join_all(fd);
    struct rtc_mdns *m = g_new0(struct rtc_mdns, 1);
    m->fd = fd;
    m->lookups = g_ptr_array_new_with_free_func(lookup_free);
    m->source = g_unix_fd_source_new(fd, G_IO_IN);
    g_source_set_callback(m->source, G_SOURCE_FUNC(on_readable), rtc, NULL);
    g_source_attach(m->source, rtc->ctx);
    rtc->mdns = m;
    return m;
}

/* ---- What the rest of rtc asks ------------------------------------------------------------- */

int shoal__mdns_resolve(shoal_rtc_peer *p, const char *name, const char *candidate)
{
    shoal_rtc *rtc = p->rtc;
    if (rtc->cfg.mdns == SHOAL_RTC_MDNS_OFF || p->mdns_lookups >= RTC_MDNS_PER_PEER)
        return SHOAL_OK; /* ignored, as a candidate of a kind not used (RFC 8445 5.1) */
    struct rtc_mdns *m = mdns_get(rtc);
    if (!m || m->lookups->len >= RTC_MDNS_PENDING)
        return SHOAL_OK;
    p->mdns_lookups++;
    lookup *l = g_new0(lookup, 1);
    l->peer = p;
    g_strlcpy(l->name, name, sizeof l->name);
    l->candidate = g_strdup(candidate);
    l->started = g_get_monotonic_time();
    bool asked = false; /* another lookup of the same name asked already */
    for (guint i = 0; i < m->lookups->len && !asked; i++)
        asked = strcmp(((lookup *)g_ptr_array_index(m->lookups, i))->name, name) == 0;
    g_ptr_array_add(m->lookups, l);
    if (asked) {
        l->sent = l->started;
        l->sends = 2;
    } else {
        send_query(m, l, l->started);
    }
    if (!m->tick) {
        m->tick = g_timeout_source_new(RTC_MDNS_TICK_MS);
        g_source_set_callback(m->tick, on_tick, rtc, NULL);
        g_source_attach(m->tick, rtc->ctx);
    }
    return SHOAL_OK;
}

bool shoal__mdns_pending(const shoal_rtc_peer *p)
{
    return p->rtc->mdns && pending_for(p->rtc->mdns, p) > 0;
}

const char *shoal__mdns_own_name(shoal_rtc *rtc, const NiceAddress *addr)
{
    struct rtc_mdns *m = mdns_get(rtc);
    if (!m)
        return NULL;
    shoal_mdns_record r = {.ttl = SHOAL_MDNS_TTL};
    if (nice_address_ip_version(addr) == 6) {
        r.v6 = true;
        memcpy(r.addr, &addr->s.ip6.sin6_addr, 16);
    } else {
        memcpy(r.addr, &addr->s.ip4.sin_addr, 4);
    }
    for (size_t i = 0; i < m->nown; i++)
        if (m->own[i].record.v6 == r.v6 && memcmp(m->own[i].record.addr, r.addr, 16) == 0)
            return m->own[i].name;
    if (m->nown == RTC_MDNS_OWN_NAMES)
        return NULL;
    own_name *o = &m->own[m->nown++];
    gchar *uuid = g_uuid_string_random();
    g_snprintf(o->name, sizeof o->name, "%s.local", uuid);
    g_free(uuid);
    o->record = r;
    g_strlcpy(o->record.name, o->name, sizeof o->record.name);
    return o->name;
}

void shoal__mdns_forget_peer(shoal_rtc_peer *p)
{
    struct rtc_mdns *m = p->rtc->mdns;
    for (guint i = 0; m && i < m->lookups->len;) {
        if (((lookup *)g_ptr_array_index(m->lookups, i))->peer == p)
            g_ptr_array_remove_index(m->lookups, i);
        else
            i++;
    }
}

void shoal__mdns_free(shoal_rtc *rtc)
{
    struct rtc_mdns *m = rtc->mdns;
    if (!m)
        return;
    if (m->tick) {
        g_source_destroy(m->tick);
        g_source_unref(m->tick);
    }
    g_source_destroy(m->source);
    g_source_unref(m->source);
    g_ptr_array_free(m->lookups, TRUE);
    close(m->fd);
    g_free(m);
    rtc->mdns = NULL;
}

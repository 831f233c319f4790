/* Peers that cannot be reached, told once: after REACH_WARN_AFTER failed attempts in a row, one
 * warning with the last reason and what to try; again only after the peer has connected. */
#include "daemon_internal.h"

#include "shoal/identity.h"

#define REACH_WARN_AFTER 3

/* What a user can do about a failure of this kind ("" when nothing useful can be said). */
static const char *what_to_try(int err, shoal_transport transport)
{
    switch (err) {
    case SHOAL_E_RTC_ICE_FAILED:
    case SHOAL_E_RTC_GONE:
    case SHOAL_E_CONN_TIMEOUT:
        return transport == SHOAL_TRANSPORT_RTC
                   ? ": a NAT or firewall between us may allow no direct path; configure a TURN "
                     "server (\"turn\" in config.json), or join a hub that offers ICE servers "
                     "(shoal hub --turn)"
                   : ": is the peer listening at that address, and is the port open?";
    case SHOAL_E_NET_CONNECT:
        return ": is the peer listening at that address, and is the port open?";
    case SHOAL_E_SHS_NETWORK:
        return ": the peer runs another SSB network (another network key)";
    case SHOAL_E_SHS_ACCEPT:
    case SHOAL_E_RTC_FINGERPRINT:
        return ": the peer is not the key we dialled";
    default:
        return "";
    }
}

void daemon_reach_init(shoal_daemon *d)
{
    d->unreachable = g_hash_table_new_full(daemon_feed_hash, daemon_feed_equal, g_free, NULL);
}

void daemon_reach_free(shoal_daemon *d)
{
    if (d->unreachable)
        g_hash_table_destroy(d->unreachable);
}

void daemon_reach_note(shoal_daemon *d, const shoal_conn_fx *event)
{
    const shoal_conn_peer *p = event->peer_record;
    if (!p)
        return;
    if (event->type == SHOAL_FX_PEER_FORGOTTEN || p->state == SHOAL_PEER_CONNECTED) {
        g_hash_table_remove(d->unreachable, p->feed);
        return;
    }
    if (event->type != SHOAL_FX_PEER_CHANGED || p->failures < REACH_WARN_AFTER ||
        g_hash_table_contains(d->unreachable, p->feed))
        return;
    g_hash_table_add(d->unreachable, g_memdup2(p->feed, 32));
    char id[SHOAL_REF_STRSIZE];
    shoal_identity_feed_id(p->feed, id);
    shoal_log(SHOAL_LOG_WARN, "run", "peer %s cannot be reached (%u attempts): %s%s", id,
              p->failures,
              p->last_error != SHOAL_OK ? shoal_strerror(p->last_error) : "no reason was told",
              what_to_try(p->last_error, p->transport));
}

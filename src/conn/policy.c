/* The policy's defaults, its checks, the backoff formulas and the names of things. */
#include "conn_internal.h"

#include <string.h>

void shoal_conn_config_default(shoal_conn_config *cfg)
{
    *cfg = (shoal_conn_config){
        .max_peers = 4,
        .heartbeat = SHOAL_SECONDS(60),
        .announce_alone = SHOAL_SECONDS(3),
        .announce_peered = SHOAL_SECONDS(13),
        .announce_jitter = SHOAL_SECONDS(2),
        .timeout_rtc = SHOAL_SECONDS(30),
        .timeout_net = SHOAL_SECONDS(10),
        .hub_timeout = SHOAL_SECONDS(15),
        .timeout_restart = SHOAL_SECONDS(15),
        .backoff = SHOAL_BACKOFF_SHOAL,
        .backoff_base = SHOAL_SECONDS(10),
        .backoff_cap = SHOAL_MINUTES(10),
        .hub_backoff_base = SHOAL_SECONDS(3),
        .hub_backoff_cap = SHOAL_MINUTES(2),
        .reconnect_delay = SHOAL_SECONDS(5),
        .forget_after = SHOAL_SECONDS(60),
        .forget_failures = 5,
        .grace = SHOAL_SECONDS(60),
        .lifetime = SHOAL_MINUTES(30),
        .rest_after_rotation = SHOAL_MINUTES(10),
        .download_window = SHOAL_MS(500),
    };
}

int shoal_conn_config_check(const shoal_conn_config *cfg)
{
    const shoal_time day = SHOAL_HOURS(24);
    const shoal_time positive[] = {
        cfg->heartbeat,        cfg->announce_alone,  cfg->announce_peered, cfg->timeout_rtc,
        cfg->timeout_net,      cfg->hub_timeout,     cfg->backoff_base,    cfg->backoff_cap,
        cfg->hub_backoff_base, cfg->hub_backoff_cap, cfg->forget_after,    cfg->lifetime,
        cfg->download_window,
    };
    for (size_t i = 0; i < sizeof positive / sizeof positive[0]; i++)
        if (positive[i] <= 0 || positive[i] > 30 * day)
            return SHOAL_E_CONN_CONFIG;
    const shoal_time non_negative[] = {cfg->announce_jitter, cfg->reconnect_delay, cfg->grace,
                                       cfg->rest_after_rotation, cfg->timeout_restart};
    for (size_t i = 0; i < sizeof non_negative / sizeof non_negative[0]; i++)
        if (non_negative[i] < 0 || non_negative[i] > 30 * day)
            return SHOAL_E_CONN_CONFIG;
    if (cfg->max_peers == 0 || cfg->max_peers > 10000 || cfg->forget_failures == 0 ||
        cfg->backoff_cap < cfg->backoff_base || cfg->hub_backoff_cap < cfg->hub_backoff_base ||
        (unsigned)cfg->backoff > SHOAL_BACKOFF_LIBP2P)
        return SHOAL_E_CONN_CONFIG;
    return SHOAL_OK;
}

/* min(cap, base * 2^(f-1)) * (1/2 + r/2) */
static shoal_time equal_jitter(shoal_time base, shoal_time cap, uint32_t failures, double r)
{
    shoal_time d = base;
    for (uint32_t i = 1; i < failures && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    return (shoal_time)((double)d * (0.5 + 0.5 * r));
}

shoal_time shoal_conn_backoff(const shoal_conn_config *cfg, uint32_t failures, double r)
{
    if (failures == 0)
        return 0;
    switch (cfg->backoff) {
    case SHOAL_BACKOFF_SSB_CONN: {
        shoal_time f = failures < 64 ? failures : 64;
        return SHOAL_SECONDS(4) + f * f * f * SHOAL_SECONDS(10);
    }
    case SHOAL_BACKOFF_LIBP2P: {
        shoal_time f = failures < 1000 ? failures : 1000;
        shoal_time d = SHOAL_SECONDS(5) + f * f * SHOAL_SECONDS(1);
        return d < SHOAL_MINUTES(5) ? d : SHOAL_MINUTES(5);
    }
    case SHOAL_BACKOFF_SHOAL:
        break;
    }
    return equal_jitter(cfg->backoff_base, cfg->backoff_cap, failures, r);
}

/* Hubs back off the same way, from their own base and cap; a hub that dropped a working
 * subscription (no failure counted) waits one jittered base period, as signalhub's client does. */
shoal_time shoal__conn_hub_backoff(const shoal_conn_config *cfg, uint32_t failures, double r)
{
    return equal_jitter(cfg->hub_backoff_base, cfg->hub_backoff_cap, failures ? failures : 1, r);
}

const char *shoal_conn_act_name(shoal_conn_act_type type)
{
    static const char *const names[] = {
        "HUB_ADDRESS_ADDED",
        "HUB_ADDRESS_REMOVED",
        "HUB_CONNECTION_SUCCEEDED",
        "HUB_CONNECTION_FAILED",
        "HUB_DID_DISCONNECT",
        "REMOTE_PEER_DID_ANNOUNCE",
        "REMOTE_PEER_DID_LEAVE",
        "REMOTE_PEER_CONNECTING",
        "REMOTE_PEER_CONNECTION_SUCCEEDED",
        "REMOTE_PEER_CONNECTION_FAILED",
        "REMOTE_PEER_DISCONNECT",
        "REMOTE_PEER_DID_DISCONNECT",
        "REMOTE_PEER_CLIENT_DID_CONNECT",
        "DOWNLOAD_PROGRESS",
        "PEER_CONNECTION_TIMER_TICKED",
        "NETWORK_DID_RECONNECT",
        "SYSTEM_DID_WAKE",
        "CONFIG_CHANGED",
        "PEER_PROTECT",
        "PEER_UNPROTECT",
        "HUB_RESTORED",
        "PEER_RESTORED",
        "REMOTE_PEER_BUSY",
        "PEER_DIAL",
        "REMOTE_PEER_RESTARTED",
    };
    return (unsigned)type < sizeof names / sizeof names[0] ? names[type] : "UNKNOWN";
}

const char *shoal_conn_fx_name(shoal_conn_fx_type type)
{
    static const char *const names[] = {
        "CONNECT_TO_HUB", "DISCONNECT_HUB", "ANNOUNCE_TO_HUB", "DIAL_PEER",
        "CLOSE_PEER",     "SCHEDULE_TICK",  "HUB_CHANGED",     "HUB_REMOVED",
        "PEER_CHANGED",   "PEER_FORGOTTEN", "RESTART_PEER",
    };
    return (unsigned)type < sizeof names / sizeof names[0] ? names[type] : "UNKNOWN";
}

const char *shoal_peer_state_name(shoal_peer_state state)
{
    static const char *const names[] = {"disconnected", "connecting", "connected", "disconnecting"};
    return (unsigned)state < sizeof names / sizeof names[0] ? names[state] : "unknown";
}

const char *shoal_hub_state_name(shoal_hub_state state)
{
    static const char *const names[] = {"disconnected", "connecting", "connected"};
    return (unsigned)state < sizeof names / sizeof names[0] ? names[state] : "unknown";
}

const char *shoal_close_reason_name(shoal_close_reason reason)
{
    static const char *const names[] = {"requested", "timeout",       "rotated",
                                        "trimmed",   "network-reset", "full"};
    return (unsigned)reason < sizeof names / sizeof names[0] ? names[reason] : "unknown";
}

bool shoal_backoff_parse(const char *name, shoal_backoff_kind *out)
{
    static const char *const names[] = {"shoal", "ssb-conn", "libp2p"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (shoal_backoff_kind)i;
            return true;
        }
    return false;
}

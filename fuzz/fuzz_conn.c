/* libFuzzer target for the peer state manager: the input is a script of actions (each a few
 * bytes: type, peer, hub, time step), applied to one manager. Besides "no crash", it checks that
 * the slot count matches the table and that no dial goes over max_peers. */
#include "shoal/conn.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    shoal_conn_config cfg;
    shoal_conn_config_default(&cfg);
    cfg.max_peers = 3;
    uint8_t self[32];
    memset(self, 'S', sizeof self);
    shoal_conn *c;
    if (shoal_conn_new(&c, &cfg, self, size) != SHOAL_OK)
        return 0;
    static shoal_hub_addr addrs[4];
    for (int h = 0; h < 4; h++) {
        char name[] = "hubN.example";
        name[3] = (char)('0' + h);
        if (shoal_hub_addr_parse(&addrs[h], name, strlen(name), NULL) != SHOAL_OK)
            abort();
    }
    shoal_conn_config other = cfg;
    other.max_peers = 1;
    other.inbound_when_full = true;
    shoal_time now = 0;
    for (size_t i = 0; i + 4 <= size; i += 4) {
        shoal_conn_action a;
        memset(&a, 0, sizeof a);
        a.type = (shoal_conn_act_type)(data[i] % (SHOAL_ACT_REMOTE_PEER_RESTARTED + 2));
        memset(a.feed, data[i + 1] % 8 == 7 ? 'S' : 'a' + data[i + 1] % 8, 32);
        a.hub = data[i + 2] % 5;
        a.transport = data[i + 2] & 0x80 ? SHOAL_TRANSPORT_NET : SHOAL_TRANSPORT_RTC;
        a.addr = &addrs[data[i + 2] % 4];
        a.config = data[i + 2] & 0x40 ? &other : &cfg;
        shoal_conn_hub hub_record = {.addr = addrs[data[i + 2] % 4], .score = data[i + 3]};
        shoal_conn_peer peer_record = {.protected = data[i + 3] & 1};
        memcpy(peer_record.feed, a.feed, 32);
        a.hub_record = &hub_record;
        a.peer_record = &peer_record;
        now += (shoal_time)data[i + 3] * 500;
        const shoal_conn_fx *fx;
        size_t nfx;
        if (shoal_conn_reduce(c, &a, now, &fx, &nfx) != SHOAL_OK)
            continue;
        uint32_t used = 0;
        for (size_t p = 0; p < shoal_conn_peer_count(c); p++) {
            shoal_peer_state st = shoal_conn_peer_at(c, p)->state;
            used += st == SHOAL_PEER_CONNECTING || st == SHOAL_PEER_CONNECTED;
        }
        if (used != shoal_conn_slots_used(c))
            abort();
        for (size_t k = 0; k < nfx; k++)
            if (fx[k].type == SHOAL_FX_DIAL_PEER &&
                shoal_conn_slots_used(c) > shoal_conn_get_config(c)->max_peers)
                abort();
    }
    shoal_conn_free(c);
    return 0;
}

/* libFuzzer target for epidemic broadcast trees: the input is a script of events (each a few
 * bytes: type, session, feed, a value, a time step) applied to one reducer, notes objects made of
 * the bytes that follow. Besides "no crash", it checks after every step: errors are only the
 * documented ones; effects name sessions under way (a CLOCK, the one that left); a SEND covers
 * what we hold past what was sent and no more; notes are values a peer can read; each feed's rx
 * session is one under way. */
#include "shoal/ebt.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#include <stdio.h>

static void check_at(bool ok, int line)
{
    if (!ok) {
        fprintf(stderr, "fuzz_ebt.c:%d: check failed\n", line);
        abort();
    }
}
#define check(ok) check_at((ok), __LINE__)

#define NFEEDS 7 /* 'A'..'G', ours 'A' (max_feeds 5: not all fit) */

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    shoal_ebt_config cfg;
    shoal_ebt_config_default(&cfg);
    cfg.max_feeds = 5;
    cfg.max_peers = 3;
    uint8_t self[32];
    memset(self, 'A', 32);
    shoal_ebt *e;
    if (shoal_ebt_new(&e, &cfg, self) != SHOAL_OK)
        return 0;
    bool live[5] = {false}, client[5] = {false}, spoke[5] = {false};
    int64_t last[5][NFEEDS]; /* the last note each session gave of each feed */
    shoal_time now = 0;
    shoal_ebt_entry entries[8];
    for (size_t i = 0; i + 5 <= size;) {
        const unsigned char *op = data + i;
        i += 5;
        now += op[4] * 97;
        shoal_ebt_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = (shoal_ebt_ev_type)(op[0] % 8);
        ev.peer = op[1] % 5; /* 0 is refused */
        memset(ev.feed, 'A' + op[2] % NFEEDS, 32);
        ev.seq = (int8_t)op[3];
        ev.follow = op[1] & 0x80;
        ev.client = op[1] & 0x40;
        ev.stored = op[2] & 0x80;
        if (ev.type == SHOAL_EBT_EV_NOTES || ev.type == SHOAL_EBT_EV_CONNECT) {
            size_t n = op[3] % 8;
            for (size_t k = 0; k < n && i + 2 <= size; k++, i += 2) {
                memset(entries[ev.nentries].feed, 'A' + data[i] % NFEEDS, 32);
                entries[ev.nentries].value = (int8_t)data[i + 1];
                bool again = false; /* an object's keys: each feed once */
                for (size_t m = 0; m < ev.nentries; m++)
                    again |= entries[m].feed[0] == entries[ev.nentries].feed[0];
                ev.nentries += !again;
            }
            ev.entries = entries;
        }
        const shoal_ebt_fx *fx;
        size_t nfx;
        int rc = shoal_ebt_reduce(e, &ev, now, &fx, &nfx);
        check(rc == SHOAL_OK || rc == SHOAL_E_INVAL || rc == SHOAL_E_EBT_FULL);
        if (rc != SHOAL_OK)
            continue;
        if (ev.type == SHOAL_EBT_EV_CONNECT) {
            live[ev.peer] = true;
            client[ev.peer] = ev.client;
            spoke[ev.peer] = false;
            for (size_t k = 0; k < NFEEDS; k++)
                last[ev.peer][k] = SHOAL_EBT_UNKNOWN;
        }
        if (ev.type == SHOAL_EBT_EV_NOTES && live[ev.peer]) {
            spoke[ev.peer] = true;
            for (size_t k = 0; k < ev.nentries; k++) {
                int64_t seq;
                bool rx;
                if (shoal_ebt_note_read(ev.entries[k].value, &seq, &rx)) /* else dropped */
                    last[ev.peer][ev.entries[k].feed[0] - 'A'] = ev.entries[k].value;
            }
        }
        for (size_t k = 0; k < nfx; k++) {
            const shoal_ebt_fx *f = &fx[k];
            switch (f->type) {
            case SHOAL_EBT_FX_NOTES:
                /* to a session under way (a client only once it spoke), each feed once */
                check(f->peer < 5 && live[f->peer] && f->nentries > 0);
                check(!client[f->peer] || spoke[f->peer]);
                for (size_t j = 0; j < f->nentries; j++) {
                    int64_t seq;
                    bool rx;
                    check(shoal_ebt_note_read(f->entries[j].value, &seq, &rx));
                    for (size_t m = 0; m < j; m++)
                        check(memcmp(f->entries[m].feed, f->entries[j].feed, 32) != 0);
                }
                break;
            case SHOAL_EBT_FX_SEND: {
                check(f->peer < 5 && live[f->peer]);
                int64_t have = shoal_ebt_have(e, f->feed);
                check(f->from >= 1 && f->from <= f->to && f->to <= have);
                /* only what it asked for: its last note of the feed was even */
                int64_t asked = last[f->peer][f->feed[0] - 'A'];
                check(asked >= 0 && asked % 2 == 0 && f->from > asked / 2);
                break;
            }
            case SHOAL_EBT_FX_CLOCK:
                check(ev.type == SHOAL_EBT_EV_DISCONNECT && f->peer == ev.peer);
                live[f->peer] = false;
                for (size_t j = 0; j < f->nentries; j++)
                    check(f->entries[j].value >= -1);
                break;
            case SHOAL_EBT_FX_SCHEDULE_TICK:
                check(f->at > now);
                break;
            }
        }
        for (char c = 'A'; c < 'A' + NFEEDS; c++) {
            uint8_t key[32];
            memset(key, c, 32);
            uint32_t rx = shoal_ebt_rx_peer(e, key);
            check(rx == 0 || (rx < 5 && live[rx]));
        }
    }
    shoal_ebt_free(e);
    return 0;
}

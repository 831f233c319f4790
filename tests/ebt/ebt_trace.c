/* ebt_trace SCENARIO.json: drives shoal's pure EBT core (shoal_ebt_reduce) through a scenario and
 * prints what each step makes it do, one JSON line a step, for test_ebt_trace.py to hold against
 * what epidemic-broadcast-trees' reducer does with the same scenario (ebt_reference.js prints
 * the same lines).
 *
 * A scenario: {"self": "S", "stall": MS, "steps": [STEP, ...]} (stall: shoal's 6 s when not
 * given; the reference's timeout, 3 s); feeds and peers are named by one letter (feed 'B' is 32
 * bytes of 'B'; peer 'P' is the session with handle 'P', whose own feed is 'P'). A step is an
 * object with "ev" and, by its kind:
 *   {"ev": "have", "feed": "B", "seq": 3}              our store holds B up to 3
 *   {"ev": "follow", "feed": "B", "follow": true}      we replicate B (or, false, no longer)
 *   {"ev": "connect", "peer": "P", "client": false,    a session begins; clock: the peer's clock
 *    "clock": {"B": 3} | "kept"}                         kept from last time ("kept": what the
 *                                                        last DISCONNECT of P gave), or none
 *   {"ev": "notes", "peer": "P", "notes": {"B": 6}}    a notes object came from P
 *   {"ev": "receive", "peer": "P", "feed": "B", "seq": 4, "stored": true}
 *                                                      a message came from P (stored: default)
 *   {"ev": "disconnect", "peer": "P"}                  the session ended
 *   {"ev": "tick"}                                     the stall check
 * and "t", the time in ms (default: the previous step's).
 *
 * Each line: {"step": N, "notes": {PEER: {FEED: NOTE}}, "send": {PEER: [[FEED, FROM, TO]]},
 * "clock": {PEER: {FEED: SEQ}}, "error": NAME}, members left out when empty. */
#include "shoal/ebt.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ENTRIES 64

static shoal_ebt_entry kept[256][MAX_ENTRIES]; /* each peer's clock from its last DISCONNECT */
static size_t nkept[256];

static void die(const char *what, int step)
{
    fprintf(stderr, "ebt_trace: step %d: %s\n", step, what);
    exit(2);
}

/* A one-letter name: the letter. */
static int letter(json_t *step, const char *key, int at)
{
    const char *s = json_string_value(json_object_get(step, key));
    if (!s || strlen(s) != 1)
        die(key, at);
    return (unsigned char)s[0];
}

static void name_of(char out[2], int c)
{
    out[0] = (char)c;
    out[1] = '\0';
}

/* An object of letters to integers as entries. */
static size_t entries_of(json_t *obj, shoal_ebt_entry *en, int at)
{
    size_t n = 0;
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        if (strlen(key) != 1 || !json_is_integer(value) || n == MAX_ENTRIES)
            die("an entry", at);
        memset(en[n].feed, key[0], 32);
        en[n++].value = json_integer_value(value);
    }
    return n;
}

static json_t *entries_json(const shoal_ebt_entry *en, size_t n)
{
    json_t *obj = json_object();
    for (size_t i = 0; i < n; i++) {
        char name[2];
        name_of(name, en[i].feed[0]);
        json_object_set_new(obj, name, json_integer(en[i].value));
    }
    return obj;
}

/* obj[name], made an empty object or array when new. */
static json_t *member(json_t *obj, const char *name, bool array)
{
    json_t *m = json_object_get(obj, name);
    if (!m) {
        m = array ? json_array() : json_object();
        json_object_set_new(obj, name, m);
    }
    return m;
}

static void print_step(int at, const shoal_ebt_fx *fx, size_t nfx, int rc)
{
    json_t *line = json_object();
    json_object_set_new(line, "step", json_integer(at));
    if (rc != SHOAL_OK)
        json_object_set_new(line, "error", json_string(shoal_errname(rc)));
    for (size_t i = 0; rc == SHOAL_OK && i < nfx; i++) {
        char peer[2], feed[2];
        name_of(peer, (int)fx[i].peer);
        switch (fx[i].type) {
        case SHOAL_EBT_FX_NOTES: {
            /* one object a peer a step: a later note for a feed replaces an earlier one */
            json_t *notes = entries_json(fx[i].entries, fx[i].nentries);
            json_object_update(member(member(line, "notes", false), peer, false), notes);
            json_decref(notes);
            break;
        }
        case SHOAL_EBT_FX_SEND:
            name_of(feed, fx[i].feed[0]);
            json_array_append_new(
                member(member(line, "send", false), peer, true),
                json_pack("[sII]", feed, (json_int_t)fx[i].from, (json_int_t)fx[i].to));
            break;
        case SHOAL_EBT_FX_CLOCK: {
            json_object_set_new(member(line, "clock", false), peer,
                                entries_json(fx[i].entries, fx[i].nentries));
            uint8_t p = (uint8_t)fx[i].peer;
            nkept[p] = fx[i].nentries < MAX_ENTRIES ? fx[i].nentries : MAX_ENTRIES;
            memcpy(kept[p], fx[i].entries, nkept[p] * sizeof *fx[i].entries);
            break;
        }
        case SHOAL_EBT_FX_SCHEDULE_TICK: /* the reference has no such thing: its timer runs */
            break;
        }
    }
    char *text = json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS);
    puts(text);
    free(text);
    json_decref(line);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: ebt_trace SCENARIO.json\n");
        return 2;
    }
    json_error_t err;
    json_t *sc = json_load_file(argv[1], 0, &err);
    if (!sc) {
        fprintf(stderr, "ebt_trace: %s:%d: %s\n", argv[1], err.line, err.text);
        return 2;
    }
    const char *self_name = json_string_value(json_object_get(sc, "self"));
    uint8_t self[32];
    memset(self, self_name ? self_name[0] : 'S', 32);
    shoal_ebt_config cfg;
    shoal_ebt_config_default(&cfg);
    if (json_is_integer(json_object_get(sc, "stall")))
        cfg.stall = SHOAL_MS(json_integer_value(json_object_get(sc, "stall")));
    shoal_ebt *e;
    if (shoal_ebt_new(&e, &cfg, self) != SHOAL_OK)
        die("shoal_ebt_new", -1);

    shoal_time now = 0;
    size_t i;
    json_t *step;
    json_array_foreach(json_object_get(sc, "steps"), i, step)
    {
        int at = (int)i;
        const char *kind = json_string_value(json_object_get(step, "ev"));
        if (!kind)
            die("no ev", at);
        if (json_is_integer(json_object_get(step, "t")))
            now = SHOAL_MS(json_integer_value(json_object_get(step, "t")));
        shoal_ebt_entry en[MAX_ENTRIES];
        shoal_ebt_event ev = {0};
        if (!strcmp(kind, "have")) {
            ev.type = SHOAL_EBT_EV_HAVE;
            memset(ev.feed, letter(step, "feed", at), 32);
            ev.seq = json_integer_value(json_object_get(step, "seq"));
        } else if (!strcmp(kind, "follow")) {
            ev.type = SHOAL_EBT_EV_FOLLOW;
            memset(ev.feed, letter(step, "feed", at), 32);
            json_t *follow = json_object_get(step, "follow");
            ev.follow = !follow || json_is_true(follow);
        } else if (!strcmp(kind, "connect")) {
            ev.type = SHOAL_EBT_EV_CONNECT;
            ev.peer = (uint32_t)letter(step, "peer", at);
            ev.client = json_is_true(json_object_get(step, "client"));
            json_t *clock = json_object_get(step, "clock");
            if (json_is_string(clock) && !strcmp(json_string_value(clock), "kept")) {
                ev.entries = kept[ev.peer];
                ev.nentries = nkept[ev.peer];
            } else if (clock) {
                ev.entries = en;
                ev.nentries = entries_of(clock, en, at);
            }
        } else if (!strcmp(kind, "notes")) {
            ev.type = SHOAL_EBT_EV_NOTES;
            ev.peer = (uint32_t)letter(step, "peer", at);
            ev.entries = en;
            ev.nentries = entries_of(json_object_get(step, "notes"), en, at);
        } else if (!strcmp(kind, "receive")) {
            ev.type = SHOAL_EBT_EV_RECEIVED;
            ev.peer = (uint32_t)letter(step, "peer", at);
            memset(ev.feed, letter(step, "feed", at), 32);
            ev.seq = json_integer_value(json_object_get(step, "seq"));
            json_t *stored = json_object_get(step, "stored");
            ev.stored = !stored || json_is_true(stored);
        } else if (!strcmp(kind, "disconnect")) {
            ev.type = SHOAL_EBT_EV_DISCONNECT;
            ev.peer = (uint32_t)letter(step, "peer", at);
        } else if (!strcmp(kind, "tick")) {
            ev.type = SHOAL_EBT_EV_TICK;
        } else {
            die(kind, at);
        }
        const shoal_ebt_fx *fx;
        size_t nfx;
        int rc = shoal_ebt_reduce(e, &ev, now, &fx, &nfx);
        print_step(at, fx, nfx, rc);
    }
    shoal_ebt_free(e);
    json_decref(sc);
    return 0;
}

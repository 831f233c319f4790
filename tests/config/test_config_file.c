/* The daemon's configuration file: the defaults, every knob read by its documented name, and
 * each kind of mistake refused with its key's path, the defaults left intact. */
#include "harness.h"
#include "shoal/config.h"

#include <string.h>

static int parse(shoal_config *cfg, const char *text, char *why)
{
    return shoal_config_parse(cfg, text, strlen(text), why, 256);
}

static void an_empty_file_gives_the_defaults(void)
{
    shoal_config cfg, def;
    char why[256] = "";
    shoal_config_default(&def);
    CHECK_EQ_ERR(parse(&cfg, "{}", why), SHOAL_OK);
    CHECK_EQ_STR(cfg.listen.host, "0.0.0.0");
    CHECK_EQ_INT(cfg.listen.port, 8008);
    CHECK_EQ_INT(cfg.status_port, 8009);
    CHECK_EQ_INT(cfg.nhubs, 0);
    CHECK_EQ_INT(cfg.nfollows, 0);
    CHECK(!cfg.replicate_peers);
    CHECK_EQ_MEM(&cfg.conn, sizeof cfg.conn, &def.conn, sizeof def.conn);
    /* the resource manager's safe defaults, as shoal/config.h documents them */
    CHECK_EQ_INT(cfg.limits.handshakes, 64);
    CHECK_EQ_INT(cfg.limits.queued, 16 << 20);
    CHECK_EQ_INT(cfg.limits.queued_total, 48 << 20);
    CHECK_EQ_INT(cfg.limits.silent, 60000);
    CHECK_EQ_INT(cfg.limits.streams, 1024);
    CHECK_EQ_INT(cfg.limits.streams_per_feed, 4);
    CHECK_EQ_INT(cfg.limits.negotiations, 64);
    CHECK(shoal_config_limits_check(&cfg.limits));
    shoal_config_free(&cfg);
}

static void every_setting_is_read(void)
{
    static const char text[] =
        "{\"listen\": \"[::1]:0\", \"hubs\": [\"https://hub.example/\", \"http://127.0.0.1:9000\"],"
        " \"follow\": [\"@"
        "gYCJpN4eGDjHFnWW2Fcusj8O4QYbVDUW6rNYh7nNEnc=.ed25519\"],"
        " \"replicatePeers\": true, \"stun\": \"stun.example:3478\", \"statusPort\": 0,"
        " \"turn\": {\"server\": \"10.0.0.1:3478\", \"user\": \"u\", \"password\": \"p\"},"
        " \"peers\": {\"maxPeers\": 7, \"heartbeat\": \"45s\", \"announceAlone\": 2500,"
        " \"announcePeered\": \"12s\", \"announceJitter\": \"1s\", \"timeoutRtc\": \"20s\","
        " \"timeoutNet\": \"5s\", \"hubTimeout\": \"9s\", \"timeoutRestart\": 0,"
        " \"backoff\": \"libp2p\","
        " \"backoffBase\": \"4s\", \"backoffCap\": \"5m\", \"hubBackoffBase\": \"2s\","
        " \"hubBackoffCap\": \"1m\", \"reconnectDelay\": \"1.5s\", \"forgetAfter\": \"2m\","
        " \"forgetFailures\": 3, \"grace\": \"30s\", \"lifetime\": \"1h\","
        " \"restAfterRotation\": \"15m\", \"downloadWindow\": \"250ms\","
        " \"inboundWhenFull\": true},"
        " \"limits\": {\"handshakes\": 8, \"queued\": \"2MiB\", \"queuedTotal\": 5242880,"
        " \"silent\": \"90s\", \"streams\": 100, \"streamsPerFeed\": 2,"
        " \"negotiations\": 16}}";
    shoal_config cfg;
    char why[256] = "";
    CHECK_EQ_ERR(parse(&cfg, text, why), SHOAL_OK);
    CHECK_EQ_STR(why, "");
    CHECK_EQ_STR(cfg.listen.host, "::1");
    CHECK_EQ_INT(cfg.listen.port, 0);
    CHECK_EQ_INT(cfg.nhubs, 2);
    CHECK_EQ_INT(cfg.hubs[1].port, 9000);
    CHECK_EQ_INT(cfg.nfollows, 1);
    CHECK_EQ_INT(cfg.follows[0][0], 0x81);
    CHECK(cfg.replicate_peers);
    CHECK_EQ_INT(cfg.status_port, 0);
    /* the older forms of stun and turn */
    CHECK_EQ_INT(cfg.ice.n, 2);
    CHECK_EQ_INT(cfg.ice.s[0].scheme, SHOAL_ICE_STUN);
    CHECK_EQ_STR(cfg.ice.s[0].host.name, "stun.example");
    CHECK_EQ_INT(cfg.ice.s[0].port, 3478);
    CHECK_EQ_INT(cfg.ice.s[1].scheme, SHOAL_ICE_TURN);
    CHECK_EQ_STR(cfg.ice.s[1].host.name, "10.0.0.1");
    CHECK_EQ_STR(cfg.ice.s[1].username, "u");
    CHECK_EQ_STR(cfg.ice.s[1].credential, "p");
    CHECK(!cfg.no_stun && !cfg.no_turn);
    const shoal_conn_config *c = &cfg.conn;
    CHECK_EQ_INT(c->max_peers, 7);
    CHECK_EQ_INT(c->heartbeat, 45000);
    CHECK_EQ_INT(c->announce_alone, 2500);
    CHECK_EQ_INT(c->announce_peered, 12000);
    CHECK_EQ_INT(c->announce_jitter, 1000);
    CHECK_EQ_INT(c->timeout_rtc, 20000);
    CHECK_EQ_INT(c->timeout_net, 5000);
    CHECK_EQ_INT(c->hub_timeout, 9000);
    CHECK_EQ_INT(c->timeout_restart, 0); /* no restarts */
    CHECK_EQ_INT(c->backoff, SHOAL_BACKOFF_LIBP2P);
    CHECK_EQ_INT(c->backoff_base, 4000);
    CHECK_EQ_INT(c->backoff_cap, 300000);
    CHECK_EQ_INT(c->hub_backoff_base, 2000);
    CHECK_EQ_INT(c->hub_backoff_cap, 60000);
    CHECK_EQ_INT(c->reconnect_delay, 1500);
    CHECK_EQ_INT(c->forget_after, 120000);
    CHECK_EQ_INT(c->forget_failures, 3);
    CHECK_EQ_INT(c->grace, 30000);
    CHECK_EQ_INT(c->lifetime, 3600000);
    CHECK_EQ_INT(c->rest_after_rotation, 900000);
    CHECK_EQ_INT(c->download_window, 250);
    CHECK(c->inbound_when_full);
    const shoal_config_limits *l = &cfg.limits;
    CHECK_EQ_INT(l->handshakes, 8);
    CHECK_EQ_INT(l->queued, 2 << 20);
    CHECK_EQ_INT(l->queued_total, 5 << 20);
    CHECK_EQ_INT(l->silent, 90000);
    CHECK_EQ_INT(l->streams, 100);
    CHECK_EQ_INT(l->streams_per_feed, 2);
    CHECK_EQ_INT(l->negotiations, 16);
    shoal_config_free(&cfg);
}

static void mistakes_are_refused_with_where_they_are(void)
{
    static const struct {
        const char *text, *why;
    } cases[] = {
        {"{\"listen\": \"0.0.0.0:8008\",\n \"hubs\": [}", "line 2, column 11: "},
        {"[]", "the configuration must be a JSON object"},
        {"{\"lisen\": \"0.0.0.0:8008\"}", "\"lisen\" is not a setting shoal knows"},
        {"{\"listen\": \"0.0.0.0\"}", "listen: \"0.0.0.0\" is not host:port"},
        {"{\"listen\": \"0.0.0.0:65536\"}", "listen: \"0.0.0.0:65536\" is not host:port"},
        {"{\"listen\": \"0.0.0.0: 80\"}", "listen: \"0.0.0.0: 80\" is not host:port"},
        {"{\"listen\": \"bad host!:80\"}", "listen: \"bad host!\" is not a host name"},
        {"{\"listen\": \"localhost:8008\"}", "listen: \"localhost\" is a name: an IP address"},
        {"{\"stun\": \"stun.example:0\"}", "stun: \"stun.example:0\": the port must be"},
        {"{\"stun\": [\"turn:t.example\"]}", "stun[0]: \"turn:t.example\" is not a STUN (stun:)"},
        {"{\"stun\": [\"stuns:s.example\"]}",
         "stun[0]: \"stuns:s.example\": not a STUN or TURN URL"},
        {"{\"stun\": [3478]}", "stun[0]: a STUN URL"},
        {"{\"stun\": {}}", "stun: a list of STUN URLs"},
        {"{\"turn\": [{\"urls\": \"stun:s.example\", \"username\": \"u\", \"credential\": \"c\"}]}",
         "turn[0]: \"stun:s.example\" is not a TURN (turn: or turns:) server"},
        {"{\"turn\": [{\"urls\": \"turn:t.example\"}]}",
         "turn[0]: a TURN server needs \"username\" and \"credential\""},
        {"{\"turn\": [{\"urls\": [], \"username\": \"u\", \"credential\": \"c\"}]}",
         "turn[0]: \"urls\": a TURN URL or a list of them"},
        {"{\"turn\": [{\"urls\": \"turn:t.example?transport=sctp\", \"username\": \"u\", "
         "\"credential\": \"c\"}]}",
         "turn[0]: \"turn:t.example?transport=sctp\": not a STUN or TURN URL"},
        {"{\"turn\": \"turn:t.example\"}", "turn: a list of {\"urls\""},
        {"{\"stun\": [\"stun:a\", \"stun:b\", \"stun:c\", \"stun:d\", \"stun:e\", \"stun:f\", "
         "\"stun:g\", \"stun:h\", \"stun:i\"]}",
         "stun[8]: more than 8 STUN and TURN servers"},
        {"{\"tlsCaFile\": 1}", "tlsCaFile: a string is expected"},
        {"{\"mdns\": true}", "mdns: \"resolve\", \"hide\" or \"off\" is expected"},
        {"{\"mdns\": \"Hide\"}", "mdns: \"resolve\", \"hide\" or \"off\" is expected"},
        {"{\"hubs\": [\"ftp://x\"]}", "hubs[0]: \"ftp://x\": "},
        {"{\"hubs\": \"https://hub.example\"}", "hubs: an array of hub addresses is expected"},
        {"{\"follow\": [\"@abc.ed25519\"]}", "follow[0]: a feed id"},
        {"{\"replicatePeers\": 1}", "replicatePeers: true or false is expected"},
        {"{\"statusPort\": 70000}", "statusPort: a port from 0 to 65535"},
        {"{\"turn\": {\"host\": \"x:1\"}}", "turn: \"host\" is not known"},
        {"{\"peers\": {\"maxpeers\": 4}}", "peers: \"maxpeers\" is not a knob"},
        {"{\"peers\": {\"backoffBase\": \"10 s\"}}", "peers.backoffBase: a duration like"},
        {"{\"peers\": {\"backoffBase\": -5}}", "peers.backoffBase: a duration like"},
        {"{\"peers\": {\"maxPeers\": 1.5}}", "peers.maxPeers: a whole number"},
        {"{\"peers\": {\"backoff\": \"exponential\"}}", "peers.backoff: \"shoal\", \"ssb-conn\""},
        {"{\"peers\": {\"inboundWhenFull\": \"yes\"}}", "peers.inboundWhenFull: true or false"},
        {"{\"peers\": {\"maxPeers\": 0}}", "peers: out of range"},
        {"{\"peers\": {\"backoffBase\": \"20m\"}}", "peers: out of range"},
        {"{\"listen\": \"a:1\", \"listen\": \"b:2\"}", "duplicate object key"},
        {"{\"limits\": []}", "limits: an object of the resource manager's knobs"},
        {"{\"limits\": {\"backlog\": 1}}", "limits: \"backlog\" is not a knob"},
        {"{\"limits\": {\"queued\": \"16 MiB\"}}", "limits.queued: a size like"},
        {"{\"limits\": {\"queued\": \"16MB\"}}", "limits.queued: a size like"},
        {"{\"limits\": {\"queued\": -1}}", "limits.queued: a size like"},
        {"{\"limits\": {\"queued\": \"99999999999999999999GiB\"}}", "limits.queued: a size"},
        {"{\"limits\": {\"queued\": \"512KiB\"}}", "limits: out of range"},
        {"{\"limits\": {\"queuedTotal\": \"8MiB\"}}", "limits: out of range"},
        {"{\"limits\": {\"handshakes\": 0}}", "limits: out of range"},
        {"{\"limits\": {\"silent\": \"10ms\"}}", "limits: out of range"},
        {"{\"limits\": {\"streamsPerFeed\": 2000}}", "limits: out of range"},
        {"{\"limits\": {\"silent\": \"7d\"}}", "limits: out of range"},
        {"{\"limits\": {\"streams\": 10000}}", "limits: out of range"},
        {"{\"limits\": {\"negotiations\": 1}}", "limits: out of range"},
        {"{\"limits\": {\"negotiations\": 5000}}", "limits: out of range"},
        {"{\"limits\": {\"queuedTotal\": \"2048GiB\"}}", "limits: out of range"},
        {"{\"limits\": {\"streams\": true}}", "limits.streams: a whole number"},
    };
    shoal_config def;
    shoal_config_default(&def);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        shoal_config cfg;
        char why[256] = "";
        CHECK_EQ_ERR(parse(&cfg, cases[i].text, why), SHOAL_E_CONFIG);
        if (!strstr(why, cases[i].why))
            CHECK_EQ_STR(why, cases[i].why);
        CHECK_EQ_STR(cfg.listen.host, "0.0.0.0"); /* the defaults, whatever came before */
        CHECK_EQ_INT(cfg.nhubs, 0);
        CHECK(cfg.follows == NULL);
        CHECK_EQ_MEM(&cfg.conn, sizeof cfg.conn, &def.conn, sizeof def.conn);
        CHECK_EQ_MEM(&cfg.limits, sizeof cfg.limits, &def.limits, sizeof def.limits);
    }
    /* a message cut to the room given, still a string */
    shoal_config cfg;
    char small[12];
    memset(small, 'x', sizeof small);
    CHECK_EQ_ERR(shoal_config_parse(&cfg, "{\"lisen\": 1}", 12, small, sizeof small),
                 SHOAL_E_CONFIG);
    CHECK(memchr(small, '\0', sizeof small) != NULL);
}

static void ice_servers_are_read_as_webrtc_writes_them(void)
{
    const char *text =
        "{\"stun\": [\"stun:stun.example\", \"stun:[2001:db8::1]:19302\"],"
        " \"turn\": [{\"urls\": [\"turn:t.example?transport=tcp\", \"turns:t.example:443\"],"
        "            \"username\": \"u\", \"credential\": \"c\"},"
        "           {\"urls\": \"turn:10.0.0.1\", \"username\": \"v\", \"credential\": \"d\"}],"
        " \"tlsCaFile\": \"/etc/ssl/mine.pem\"}";
    shoal_config cfg;
    char why[256] = "";
    CHECK_EQ_ERR(parse(&cfg, text, why), SHOAL_OK);
    CHECK_EQ_STR(why, "");
    CHECK_EQ_INT(cfg.ice.n, 5);
    static const char *const urls[] = {"stun:stun.example:3478", "stun:[2001:db8::1]:19302",
                                       "turn:t.example:3478?transport=tcp", "turns:t.example:443",
                                       "turn:10.0.0.1:3478"};
    for (size_t i = 0; i < cfg.ice.n && i < 5; i++) {
        shoal_buf b = SHOAL_BUF_INIT;
        shoal_ice_url_format(&cfg.ice.s[i], &b);
        CHECK_EQ_STR(b.data, urls[i]);
        shoal_buf_free(&b);
    }
    CHECK_EQ_STR(cfg.ice.s[3].username, "u");
    CHECK_EQ_STR(cfg.ice.s[4].credential, "d");
    CHECK_EQ_STR(cfg.tls_ca_file, "/etc/ssl/mine.pem");
    CHECK(!cfg.no_stun && !cfg.no_turn);
    CHECK_EQ_INT(cfg.mdns, SHOAL_CONFIG_MDNS_RESOLVE);
    shoal_config_free(&cfg);

    static const char *const mdns[] = {"{\"mdns\": \"resolve\"}", "{\"mdns\": \"hide\"}",
                                       "{\"mdns\": \"off\"}"};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_ERR(parse(&cfg, mdns[i], why), SHOAL_OK);
        CHECK_EQ_INT(cfg.mdns, i);
        shoal_config_free(&cfg);
    }

    /* [] means none, not even a hub's */
    const char *none = "{\"stun\": [], \"turn\": []}";
    CHECK_EQ_ERR(parse(&cfg, none, why), SHOAL_OK);
    CHECK(cfg.no_stun && cfg.no_turn);
    CHECK_EQ_INT(cfg.ice.n, 0);
    shoal_config_free(&cfg);
    CHECK_EQ_ERR(parse(&cfg, "{}", why), SHOAL_OK);
    CHECK(!cfg.no_stun && !cfg.no_turn);
    shoal_config_free(&cfg);
}

static void a_hub_listed_again_counts_once(void)
{
    /* 100 copies of one hub, in its forms: one hub, and no "more than 64" */
    shoal_buf text = SHOAL_BUF_INIT;
    shoal_buf_append_str(&text, "{\"hubs\": [");
    for (int i = 0; i < 100; i++)
        shoal_buf_appendf(&text, "%s\"%s\"", i ? ", " : "",
                          i % 2 ? "https://hub.example/" : "https://HUB.example:443");
    shoal_buf_append_str(&text, "]}");
    shoal_config cfg;
    char why[256] = "";
    CHECK_EQ_ERR(parse(&cfg, text.data, why), SHOAL_OK);
    CHECK_EQ_INT(cfg.nhubs, 1);
    shoal_config_free(&cfg);
    shoal_buf_free(&text);

    /* 65 different ones are too many */
    shoal_buf_append_str(&text, "{\"hubs\": [");
    for (int i = 0; i <= SHOAL_CONFIG_MAX_HUBS; i++)
        shoal_buf_appendf(&text, "%s\"http://127.0.0.1:%d\"", i ? ", " : "", 9000 + i);
    shoal_buf_append_str(&text, "]}");
    CHECK_EQ_ERR(parse(&cfg, text.data, why), SHOAL_E_CONFIG);
    CHECK(strstr(why, "hubs: more than 64 hubs") != NULL);
    CHECK_EQ_INT(cfg.nhubs, 0);
    shoal_buf_free(&text);
}

int main(void)
{
    RUN(an_empty_file_gives_the_defaults);
    RUN(every_setting_is_read);
    RUN(mistakes_are_refused_with_where_they_are);
    RUN(ice_servers_are_read_as_webrtc_writes_them);
    RUN(a_hub_listed_again_counts_once);
    return harness_finish();
}

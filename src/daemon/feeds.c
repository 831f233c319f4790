/* What the daemon knows of each feed: how far it has read it (which is how far it holds it) and
 * how far a peer said it holds it. Each message appended, by replication or by publishing, is
 * read from the store once, when the node says the feed grew, and handed to the pure
 * shoal_discover, whose answer is carried out here: a hub named by our own feed or one we
 * follow joins the table (a feed we hold without following it, a peer's own with replicatePeers,
 * names none), and one of our own contact messages follows or unfollows a feed. */
#include "daemon_internal.h"

#include "shoal/discover.h"
#include "shoal/identity.h"

#include <string.h>

typedef struct daemon_feed {
    int64_t read;   /* the last sequence read; our head once read */
    int64_t theirs; /* latestSequence a peer told; 0 until one does */
} daemon_feed;

guint daemon_feed_hash(gconstpointer key)
{
    guint h;
    memcpy(&h, key, sizeof h); /* a public key: its bytes are as good as a hash */
    return h;
}

gboolean daemon_feed_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, 32) == 0;
}

void daemon_feeds_init(shoal_daemon *d)
{
    d->feeds = g_hash_table_new_full(daemon_feed_hash, daemon_feed_equal, g_free, g_free);
}

void daemon_feeds_free(shoal_daemon *d)
{
    if (d->feeds)
        g_hash_table_destroy(d->feeds);
}

static daemon_feed *feed_of(shoal_daemon *d, const uint8_t feed[32])
{
    daemon_feed *known = g_hash_table_lookup(d->feeds, feed);
    if (!known) {
        known = g_new0(daemon_feed, 1);
        g_hash_table_insert(d->feeds, g_memdup2(feed, 32), known);
    }
    return known;
}

/* Whether hubs `author` names are taken: it is our own feed, or one we follow. */
static bool names_hubs(shoal_daemon *d, const uint8_t author[32])
{
    if (memcmp(author, d->keys.pub, 32) == 0)
        return true;
    size_t n;
    const uint8_t(*followed)[32] = shoal_node_follows(d->node, &n);
    for (size_t i = 0; i < n; i++)
        if (memcmp(followed[i], author, 32) == 0)
            return true;
    return false;
}

/* One reading of a feed's new messages. */
typedef struct reading {
    shoal_daemon *d;
    int64_t last;     /* the last sequence read */
    GArray *contacts; /* shoal_discovery: our own contact messages, carried out once the reading
                         is done (a feed followed is read in turn, which would nest readings) */
} reading;

static bool read_one(const char *text, size_t len, int64_t sequence, const uint8_t id[32],
                     int64_t received, void *ud)
{
    (void)id, (void)received;
    reading *r = ud;
    r->last = sequence;
    shoal_discovery found;
    if (shoal_discover(text, len, r->d->keys.pub, &found) != SHOAL_OK)
        return true; /* the store holds valid messages only: nothing for us in it */
    if (found.kind == SHOAL_DISCOVER_FOLLOW || found.kind == SHOAL_DISCOVER_UNFOLLOW) {
        g_array_append_val(r->contacts, found);
    } else if (found.kind == SHOAL_DISCOVER_HUB && names_hubs(r->d, found.feed)) {
        char author[SHOAL_REF_STRSIZE];
        shoal_identity_feed_id(found.feed, author);
        int rc = daemon_hubs_hold(r->d, &found.hub, author);
        if (rc != SHOAL_OK && rc != SHOAL_E_INVAL) { /* SHOAL_E_INVAL: blocked */
            char *url = daemon_hub_url(&found.hub);
            /* a feed that names many is no news: its first few are held */
            shoal_log(SHOAL_LOG_INFO, "run", "the hub %s named by %s is left out: %s", url, author,
                      shoal_strerror(rc));
            g_free(url);
        }
    }
    return true;
}

/* A feed just followed: the hubs named in what we held of it before (a feed held unfollowed
 * names none), then what it has new. */
static void feeds_followed(shoal_daemon *d, const uint8_t feed[32])
{
    const daemon_feed *known = g_hash_table_lookup(d->feeds, feed);
    if (known && known->read > 0) {
        reading r = {d, 0, g_array_new(FALSE, FALSE, sizeof(shoal_discovery))};
        if (shoal_feed_store_history(d->store, feed, 1, known->read, read_one, &r) != SHOAL_OK)
            shoal_log(SHOAL_LOG_WARN, "run", "the feed store cannot be read");
        g_array_free(r.contacts, TRUE); /* contact messages count in our own feed alone */
    }
    daemon_feeds_appended(d, feed);
}

int64_t daemon_feeds_appended(shoal_daemon *d, const uint8_t feed[32])
{
    daemon_feed *known = feed_of(d, feed);
    int64_t from = known->read;
    reading r = {d, from, g_array_new(FALSE, FALSE, sizeof(shoal_discovery))};
    if (shoal_feed_store_history(d->store, feed, from + 1, 0, read_one, &r) != SHOAL_OK) {
        g_array_free(r.contacts, TRUE);
        return 0;
    }
    known->read = r.last;
    for (guint i = 0; i < r.contacts->len; i++) {
        const shoal_discovery *one = &g_array_index(r.contacts, shoal_discovery, i);
        if (shoal_node_follow(d->node, one->feed, one->kind == SHOAL_DISCOVER_FOLLOW) != SHOAL_OK)
            shoal_log(SHOAL_LOG_WARN, "run", "following a feed: not every peer was asked for it");
        if (one->kind == SHOAL_DISCOVER_UNFOLLOW)
            daemon_hubs_leave_named_by(d, one->feed);
    }
    /* the hubs the feeds followed now name (one unfollowed again since names none) */
    for (guint i = 0; i < r.contacts->len; i++) {
        const shoal_discovery *one = &g_array_index(r.contacts, shoal_discovery, i);
        if (one->kind == SHOAL_DISCOVER_FOLLOW && names_hubs(d, one->feed))
            feeds_followed(d, one->feed);
    }
    g_array_free(r.contacts, TRUE);
    return r.last - from;
}

void daemon_feeds_head_known(shoal_daemon *d, const uint8_t feed[32], int64_t head)
{
    daemon_feed *known = feed_of(d, feed);
    if (head > known->theirs)
        known->theirs = head;
}

int64_t daemon_feeds_left(shoal_daemon *d, const uint8_t feed[32])
{
    const daemon_feed *known = g_hash_table_lookup(d->feeds, feed);
    if (!known || known->theirs == 0)
        return -1;
    return known->theirs > known->read ? known->theirs - known->read : 0;
}

json_t *daemon_feeds_json(shoal_daemon *d)
{
    json_t *feeds = json_array();
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, d->feeds);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const daemon_feed *known = value;
        char id[SHOAL_REF_STRSIZE];
        shoal_identity_feed_id(key, id);
        json_array_append_new(feeds,
                              json_pack("{s:s, s:I, s:o}", "id", id, "sequence",
                                        (json_int_t)known->read, "peerSequence",
                                        known->theirs ? json_integer(known->theirs) : json_null()));
    }
    return feeds;
}

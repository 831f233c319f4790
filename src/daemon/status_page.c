/* The daemon's status page: libsoup's server on 127.0.0.1 only. GET / is one HTML page whose
 * script reads GET /status.json (what `shoal status --json` answers, with the last changes) every
 * second and draws it: identity, addresses, hubs, peers (downloading or not), feeds (how far we
 * hold each and how far a peer does, a progress bar while we fetch), recent changes. */
#include "status_page.h"

#include <libsoup/soup.h>
#include <stdlib.h>
#include <string.h>

struct shoal_status_page {
    SoupServer *server;
    shoal_control *control;
    char *url;
};

static const char page[] =
    "<!doctype html>\n"
    "<html lang=\"en\"><head><meta charset=\"utf-8\"><title>shoal</title>\n"
    "<style>\n"
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1b2733;background:#f6f8fa}\n"
    "h1{font-size:20px;margin:0 0 .2em}h2{font-size:15px;margin:1.4em 0 .4em}\n"
    "table{border-collapse:collapse;background:#fff;min-width:40em}\n"
    "td,th{border:1px solid #d0d7de;padding:.25em .6em;text-align:left}\n"
    "th{background:#eaeef2}code{font-size:12px}.connected{color:#1a7f37;font-weight:600}\n"
    ".connecting{color:#9a6700}.disconnected{color:#cf222e}#error{color:#cf222e}\n"
    "</style></head><body>\n"
    "<h1>shoal</h1><div id=\"id\"></div><div id=\"error\"></div>\n"
    "<h2>Addresses</h2><ul id=\"addresses\"></ul>\n"
    "<h2>Hubs</h2><table id=\"hubs\"></table>\n"
    "<h2>Peers</h2><table id=\"peers\"></table>\n"
    "<h2>Feeds</h2><table id=\"feeds\"></table>\n"
    "<h2>Recent changes</h2><table id=\"recent\"></table>\n"
    "<script>\n"
    "const esc = (s) => String(s).replace(/[&<>\"]/g, (c) => "
    "({'&':'&amp;','<':'&lt;','>':'&gt;','\"':'&quot;'})[c]);\n"
    "const row = (cells, th) => '<tr>' + cells.map((c) => (th ? '<th>' : '<td>') + c + "
    "(th ? '</th>' : '</td>')).join('') + '</tr>';\n"
    "const state = (s) => '<span class=\"' + esc(s) + '\">' + esc(s) + '</span>';\n"
    "async function refresh () {\n"
    "  try {\n"
    "    const s = await (await fetch('/status.json', {cache: 'no-store'})).json();\n"
    "    document.getElementById('id').innerHTML = '<code>' + esc(s.id) + '</code> &middot; "
    "sequence ' + esc(s.sequence);\n"
    "    document.getElementById('addresses').innerHTML = s.addresses.map((a) => '<li><code>' + "
    "esc(a) + '</code></li>').join('');\n"
    "    document.getElementById('hubs').innerHTML = row(['hub', 'state', 'failures', 'named by'], "
    "true) + s.hubs.map((h) => row([esc(h.address), state(h.state), esc(h.failures), "
    "'<code>' + esc(h.source) + '</code>'])).join('');\n"
    "    document.getElementById('peers').innerHTML = row(['peer', 'state', 'via'], true) + "
    "s.peers.map((p) => row(['<code>' + esc(p.id) + '</code>', state(p.state), esc(p.transport) + "
    "(p.inbound ? ' (dialled us)' : '') + (p.downloading ? ', downloading' : '')])).join('');\n"
    "    document.getElementById('feeds').innerHTML = row(['feed', 'held', 'a peer holds', ''], "
    "true) + s.feeds.map((f) => row(['<code>' + esc(f.id) + '</code>', esc(f.sequence), "
    "f.peerSequence === null ? '?' : esc(f.peerSequence), f.peerSequence > f.sequence ? "
    "'<progress max=\"' + esc(f.peerSequence) + '\" value=\"' + esc(f.sequence) + "
    "'\"></progress>' : (f.peerSequence === null ? '' : 'synced')])).join('');\n"
    "    document.getElementById('recent').innerHTML = row(['when', 'what'], true) + "
    "s.recent.slice().reverse().map((e) => row([new Date(e.at).toLocaleTimeString(), "
    "esc(e.event) + ' ' + '<code>' + esc(e.id || e.address) + '</code> ' + "
    "state((e.forgotten || e.removed) ? 'gone' : e.state)])).join('');\n"
    "    document.getElementById('error').textContent = '';\n"
    "    document.body.dataset.ready = '1';\n"
    "  } catch (e) {\n"
    "    document.getElementById('error').textContent = 'the daemon does not answer: ' + e;\n"
    "  }\n"
    "}\n"
    "refresh();\n"
    "setInterval(refresh, 1000);\n"
    "</script></body></html>\n";

static void on_request(SoupServer *server, SoupServerMessage *msg, const char *path,
                       GHashTable *query, gpointer ud)
{
    (void)server, (void)query;
    shoal_status_page *sp = ud;
    if (strcmp(soup_server_message_get_method(msg), "GET") != 0) {
        soup_server_message_set_status(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
        return;
    }
    if (strcmp(path, "/") == 0) {
        soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
        soup_server_message_set_response(msg, "text/html; charset=utf-8", SOUP_MEMORY_STATIC, page,
                                         sizeof page - 1);
    } else if (strcmp(path, "/status.json") == 0) {
        json_t *s = shoal_control_status(sp->control, true);
        char *text = s ? json_dumps(s, JSON_COMPACT) : NULL;
        json_decref(s);
        if (!text) {
            soup_server_message_set_status(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, NULL);
            return;
        }
        soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
        soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, text,
                                         strlen(text));
        free(text);
    } else {
        soup_server_message_set_status(msg, SOUP_STATUS_NOT_FOUND, NULL);
    }
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Cache-Control",
                                 "no-store");
}

shoal_status_page *shoal_status_page_start(shoal_control *control, uint16_t port)
{
    shoal_status_page *sp = g_new0(shoal_status_page, 1);
    sp->control = control;
    sp->server = soup_server_new("server-header", "shoal", NULL);
    soup_server_add_handler(sp->server, NULL, on_request, sp, NULL);
    GError *error = NULL;
    if (!soup_server_listen_local(sp->server, port, SOUP_SERVER_LISTEN_IPV4_ONLY, &error)) {
        shoal_log(SHOAL_LOG_WARN, "run", "no status page on 127.0.0.1:%u: %s", port,
                  error->message);
        g_error_free(error);
        shoal_status_page_free(sp);
        return NULL;
    }
    GSList *uris = soup_server_get_uris(sp->server);
    sp->url = uris ? g_strdup_printf("http://127.0.0.1:%d/", g_uri_get_port(uris->data)) : NULL;
    g_slist_free_full(uris, (GDestroyNotify)g_uri_unref);
    return sp;
}

const char *shoal_status_page_url(const shoal_status_page *sp)
{
    return sp ? sp->url : NULL;
}

void shoal_status_page_free(shoal_status_page *sp)
{
    if (!sp)
        return;
    soup_server_disconnect(sp->server);
    g_object_unref(sp->server);
    g_free(sp->url);
    g_free(sp);
}

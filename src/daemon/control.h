/* The daemon's control socket: `control.sock` in its home, the protocol of shoal/daemon.h. */
#ifndef SHOAL_DAEMON_CONTROL_H
#define SHOAL_DAEMON_CONTROL_H

#include "daemon_internal.h"

/* Listens on <home>/control.sock (a stale socket file is replaced). `d` is borrowed for the
 * control's life. SHOAL_E_NET_LISTEN when it cannot. */
SHOAL_MUST_CHECK int shoal_control_start(shoal_daemon *d, shoal_control **out);
/* Closes the socket and every client, and removes the socket file. NULL is a no-op. */
void shoal_control_free(shoal_control *c);

/* A request whose answer comes later (connect: once the peer has proved its key): answers it,
 * ok when `error` is NULL. The call is gone after this. */
void shoal_control_call_done(shoal_control_call *call, const char *error);

/* Tells the watchers (see "watch") that a hub or a peer changed: one of the node's `changed`
 * events, which also joins the last changes status tells. NULL control: nothing. */
void shoal_control_changed(shoal_control *c, const shoal_conn_fx *event);

/* What {"cmd":"status"} answers (a new reference), with the last 50 changes under "recent"
 * when asked (the status page shows them). */
json_t *shoal_control_status(shoal_control *c, bool recent);
/* The daemon's figures in Prometheus' text format (g_free it), for the status page's /metrics. */
char *shoal_control_metrics(shoal_control *c);

#endif

/* The daemon's status page (HTML and JSON) on 127.0.0.1: see status_page.c. */
#ifndef SHOAL_DAEMON_STATUS_PAGE_H
#define SHOAL_DAEMON_STATUS_PAGE_H

#include "control.h"

/* Serves on 127.0.0.1:port (0: a free port); `control` is borrowed. NULL (said why in the log)
 * when it cannot listen: the daemon runs on without it. */
shoal_status_page *shoal_status_page_start(shoal_control *control, uint16_t port);
/* "http://127.0.0.1:PORT/"; NULL for a NULL page. */
const char *shoal_status_page_url(const shoal_status_page *sp);
void shoal_status_page_free(shoal_status_page *sp);

#endif

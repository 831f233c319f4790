/* Helpers shared inside the ref module. */
#ifndef SHOAL_REF_INTERNAL_H
#define SHOAL_REF_INTERNAL_H

#include "shoal/ref.h"

/* A decimal port, 1-65535 (leading zeros allowed). */
int shoal__parse_port(const char *s, size_t len, uint16_t *port, size_t *err_at);

/* `host:port` as multiserver's net, onion and rtc write it: the port is the last ':' field and
 * an IPv6 host may be bare (`::1:8008`) or bracketed. */
int shoal__parse_hostport(const char *s, size_t len, shoal_host *host, uint16_t *port,
                          size_t *err_at);

/* The rtc protocol's data (everything after `rtc:`), into a hub address. */
int shoal__parse_rtc_data(const char *s, size_t len, shoal_hub_addr *hub, size_t *err_at);

/* Checks the multiserver grammar without allocating. */
int shoal__ms_check(const char *s, size_t len, size_t *err_at);

#endif

/* What the test tools print: one JSON value a line on standard output, flushed at once. */
#ifndef SHOAL_TOOLS_SAY_H
#define SHOAL_TOOLS_SAY_H

#include <jansson.h>

/* Prints `event` compactly on a line of its own and drops the reference (taken). */
void say(json_t *event);

#endif

#include "say.h"

#include <stdio.h>
#include <stdlib.h>

void say(json_t *event)
{
    char *text = event ? json_dumps(event, JSON_COMPACT) : NULL;
    if (text)
        puts(text);
    fflush(stdout);
    free(text);
    json_decref(event);
}

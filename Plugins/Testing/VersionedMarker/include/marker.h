#ifndef EASYJOBS_VERSIONED_MARKER_H
#define EASYJOBS_VERSIONED_MARKER_H

/* The version patched into this copy of the plugin. */
int easyjobs_marker_version(void);
/* How this copy misbehaves: 0 none, 1 duplicate task names, 2 invalid cron string, 3 cycle, 4 crash while describing. */
int easyjobs_marker_mode(void);

#endif

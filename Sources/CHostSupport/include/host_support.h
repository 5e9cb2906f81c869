/* What the host needs from Linux that Swift's Glibc module does not import. */
#ifndef EASYJOBS_HOST_SUPPORT_H
#define EASYJOBS_HOST_SUPPORT_H

#include <signal.h>
#include <sys/prctl.h>

/* Asks the kernel to send `signal` to this process when its parent dies. */
static inline int easyjobs_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0);
}

/* Names the calling thread (at most 15 bytes are kept), as tools such as `top -H` show it. */
static inline int easyjobs_set_thread_name(const char *name) {
    return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

#endif

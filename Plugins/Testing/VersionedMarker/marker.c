/*
 * Bytes a test patches in a copy of libVersioned.so to make a new build without compiling:
 * the digits after "EJVERSION=" are the plugin's version, the digit after "EJMODE=" picks how
 * the copy misbehaves (0: not at all). Both lengths are fixed so patching keeps the layout.
 */
#include "marker.h"

__attribute__((used)) volatile const char easyjobs_version_marker[] = "EJVERSION=00000001";
__attribute__((used)) volatile const char easyjobs_mode_marker[] = "EJMODE=0";

int easyjobs_marker_version(void) {
    int value = 0;
    for (int i = 10; i < 18; i++) value = value * 10 + (easyjobs_version_marker[i] - '0');
    return value;
}

int easyjobs_marker_mode(void) {
    return easyjobs_mode_marker[7] - '0';
}

#include "cmath_plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The manifest: tasks, their C signatures and options. `scale` and `negate8` run in the host's
// process ("subprocess": false); the others in a child, the default for foreign code.
static const char manifest[] =
    "{\"abi\": \"1.0\", \"name\": \"cmath\", \"version\": \"1.0.0\", \"tasks\": ["
    "{\"name\": \"add\", \"description\": \"a + b\", \"returns\": \"int64\","
    " \"parameters\": [{\"name\": \"a\", \"type\": \"int64\"}, {\"name\": \"b\", \"type\": \"int64\", \"default\": 1}]},"
    "{\"name\": \"negate8\", \"returns\": \"int8\", \"parameters\": [{\"name\": \"value\", \"type\": \"int8\"}],"
    " \"options\": {\"subprocess\": false}},"
    "{\"name\": \"checksum\", \"description\": \"FNV-1a of the text\", \"returns\": \"uint32\","
    " \"parameters\": [{\"name\": \"text\", \"type\": \"const char*\"}]},"
    "{\"name\": \"scale\", \"returns\": \"void\", \"result\": \"values\","
    " \"parameters\": [{\"name\": \"values\", \"type\": \"double[]\"}, {\"name\": \"factor\", \"type\": \"double\"}],"
    " \"options\": {\"subprocess\": false}},"
    "{\"name\": \"is_even\", \"returns\": \"bool\", \"parameters\": [{\"name\": \"value\", \"type\": \"int64\"}]},"
    "{\"name\": \"describe\", \"returns\": \"json\", \"free\": \"cmath_free\","
    " \"parameters\": [{\"name\": \"name\", \"type\": \"string\"}, {\"name\": \"count\", \"type\": \"int32\"}]},"
    "{\"name\": \"crash\", \"returns\": \"void\", \"options\": {\"retry_policy\": \"never\"}},"
    "{\"name\": \"noop\", \"description\": \"nothing: the cost of a call\", \"returns\": \"void\", \"options\": {\"subprocess\": false}}"
    "]}";

// A manifest naming a function the library does not export, chosen by the tests through the
// environment, to show how a broken plugin is refused.
static const char broken_manifest[] =
    "{\"abi\": \"1.0\", \"name\": \"cmath\", \"version\": \"1.0.1\", \"tasks\": ["
    "{\"name\": \"subtract\", \"returns\": \"int64\", \"parameters\": [{\"name\": \"a\", \"type\": \"int64\"}]}]}";

const char *easyjobs_ffi_manifest_v1(void) {
    const char *mode = getenv("CMATH_PLUGIN_MANIFEST");
    return mode != NULL && strcmp(mode, "broken") == 0 ? broken_manifest : manifest;
}

int64_t add(int64_t a, int64_t b) {
    // Wraps instead of the undefined behaviour of signed overflow.
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

int8_t negate8(int8_t value) { return (int8_t)-value; }

uint32_t checksum(const char *text) {
    uint32_t hash = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)text; *p != 0; p++) {
        hash ^= *p;
        hash *= 16777619u;
    }
    return hash;
}

void scale(double *values, size_t count, double factor) {
    for (size_t i = 0; i < count; i++) values[i] *= factor;
}

bool is_even(int64_t value) { return value % 2 == 0; }

char *describe(const char *name, int32_t count) {
    // The name is the caller's; a real plugin would escape it for JSON.
    size_t size = strlen(name) + 64;
    char *json = malloc(size);
    if (json == NULL) return NULL;
    snprintf(json, size, "{\"name\": \"%s\", \"count\": %d, \"twice\": %d}", name, count, count * 2);
    return json;
}

void cmath_free(void *pointer) { free(pointer); }

void crash(void) { abort(); }

void noop(void) {}

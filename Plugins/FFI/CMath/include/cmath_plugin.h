// An EasyJobs plugin written in C: plain C functions and a manifest, called by the host through
// libffi. Nothing here knows about EasyJobs but the manifest function.
#ifndef CMATH_PLUGIN_H
#define CMATH_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

const char *easyjobs_ffi_manifest_v1(void);

int64_t add(int64_t a, int64_t b);
int8_t negate8(int8_t value);
uint32_t checksum(const char *text);
void scale(double *values, size_t count, double factor);
bool is_even(int64_t value);
char *describe(const char *name, int32_t count);
void cmath_free(void *pointer);
void crash(void);
void noop(void);

#endif

/*
 * A plugin built for a future ABI major. Only its frozen header (magic, size, major, minor)
 * means anything to a 1.x host, which must refuse it without calling anything else.
 */
#include "easyjobs_plugin.h"

static const struct {
    uint32_t magic;
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
} descriptor_v2 = {EASYJOBS_DESCRIPTOR_MAGIC, sizeof(descriptor_v2), 2, 0};

__attribute__((visibility("default"))) const void *easyjobs_plugin_entry_v2(void) {
    return &descriptor_v2;
}

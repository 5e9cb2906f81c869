// libffi (Debian: libffi-dev), for calling the C functions of foreign-language plugins.
#include <ffi.h>

// libffi's type descriptions are mutable C globals, which Swift 6 does not let code touch from
// any thread: these return their addresses (never written to after libffi's start).
enum easyjobs_ffi_type_code {
    EASYJOBS_FFI_VOID, EASYJOBS_FFI_SINT8, EASYJOBS_FFI_SINT16, EASYJOBS_FFI_SINT32, EASYJOBS_FFI_SINT64,
    EASYJOBS_FFI_UINT8, EASYJOBS_FFI_UINT16, EASYJOBS_FFI_UINT32, EASYJOBS_FFI_UINT64,
    EASYJOBS_FFI_FLOAT, EASYJOBS_FFI_DOUBLE, EASYJOBS_FFI_POINTER
};

static inline ffi_type *easyjobs_ffi_type(enum easyjobs_ffi_type_code code) {
    switch (code) {
    case EASYJOBS_FFI_SINT8: return &ffi_type_sint8;
    case EASYJOBS_FFI_SINT16: return &ffi_type_sint16;
    case EASYJOBS_FFI_SINT32: return &ffi_type_sint32;
    case EASYJOBS_FFI_SINT64: return &ffi_type_sint64;
    case EASYJOBS_FFI_UINT8: return &ffi_type_uint8;
    case EASYJOBS_FFI_UINT16: return &ffi_type_uint16;
    case EASYJOBS_FFI_UINT32: return &ffi_type_uint32;
    case EASYJOBS_FFI_UINT64: return &ffi_type_uint64;
    case EASYJOBS_FFI_FLOAT: return &ffi_type_float;
    case EASYJOBS_FFI_DOUBLE: return &ffi_type_double;
    case EASYJOBS_FFI_POINTER: return &ffi_type_pointer;
    case EASYJOBS_FFI_VOID:
    default: return &ffi_type_void;
    }
}

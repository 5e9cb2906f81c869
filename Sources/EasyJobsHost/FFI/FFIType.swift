import CFFI
import EasyJobsCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// A C scalar type a foreign-function plugin may declare, with how it maps to JSON.
enum FFIScalar: String, CaseIterable, Sendable {
    case int8, int16, int32, int64, uint8, uint16, uint32, uint64, float, double, bool

    /// libffi's description. (The `ffi_type_*` globals live as long as the process.)
    var ffiType: UnsafeMutablePointer<ffi_type> {
        switch self {
        case .int8: easyjobs_ffi_type(EASYJOBS_FFI_SINT8)
        case .int16: easyjobs_ffi_type(EASYJOBS_FFI_SINT16)
        case .int32: easyjobs_ffi_type(EASYJOBS_FFI_SINT32)
        case .int64: easyjobs_ffi_type(EASYJOBS_FFI_SINT64)
        case .uint8, .bool: easyjobs_ffi_type(EASYJOBS_FFI_UINT8)
        case .uint16: easyjobs_ffi_type(EASYJOBS_FFI_UINT16)
        case .uint32: easyjobs_ffi_type(EASYJOBS_FFI_UINT32)
        case .uint64: easyjobs_ffi_type(EASYJOBS_FFI_UINT64)
        case .float: easyjobs_ffi_type(EASYJOBS_FFI_FLOAT)
        case .double: easyjobs_ffi_type(EASYJOBS_FFI_DOUBLE)
        }
    }

    var size: Int {
        switch self {
        case .int8, .uint8, .bool: 1
        case .int16, .uint16: 2
        case .int32, .uint32, .float: 4
        case .int64, .uint64, .double: 8
        }
    }

    /// The JSON parameter type the manager checks arguments against.
    var parameterType: ParameterType {
        switch self {
        case .float, .double: .double
        case .bool: .bool
        default: .int
        }
    }

    /// The range of an integer type (JSON integers are 64-bit signed: `uint64` tops at Int64.max).
    var range: (minimum: Double, maximum: Double)? {
        switch self {
        case .int8: (Double(Int8.min), Double(Int8.max))
        case .int16: (Double(Int16.min), Double(Int16.max))
        case .int32: (Double(Int32.min), Double(Int32.max))
        case .int64: (Double(Int64.min), Double(Int64.max))
        case .uint8: (0, Double(UInt8.max))
        case .uint16: (0, Double(UInt16.max))
        case .uint32: (0, Double(UInt32.max))
        case .uint64: (0, Double(Int64.max))
        case .float: (-Double(Float.greatestFiniteMagnitude), Double(Float.greatestFiniteMagnitude))
        case .double, .bool: nil
        }
    }

    /// Writes `value` at `pointer` as this C type; `nil` when it does not fit.
    func store(_ value: JSONValue, at pointer: UnsafeMutableRawPointer) -> Bool {
        switch (self, value) {
        case (.bool, .bool(let flag)): pointer.storeBytes(of: flag ? 1 : 0, as: UInt8.self)
        case (.float, .int(let int)): pointer.storeBytes(of: Float(int), as: Float.self)
        case (.float, .double(let double)):
            guard double.isFinite, abs(double) <= Double(Float.greatestFiniteMagnitude) else { return false }
            pointer.storeBytes(of: Float(double), as: Float.self)
        case (.double, .int(let int)): pointer.storeBytes(of: Double(int), as: Double.self)
        case (.double, .double(let double)): pointer.storeBytes(of: double, as: Double.self)
        case (_, .int(let int)):
            switch self {
            case .int8: guard let v = Int8(exactly: int) else { return false }; pointer.storeBytes(of: v, as: Int8.self)
            case .int16: guard let v = Int16(exactly: int) else { return false }; pointer.storeBytes(of: v, as: Int16.self)
            case .int32: guard let v = Int32(exactly: int) else { return false }; pointer.storeBytes(of: v, as: Int32.self)
            case .int64: pointer.storeBytes(of: Int64(int), as: Int64.self)
            case .uint8: guard let v = UInt8(exactly: int) else { return false }; pointer.storeBytes(of: v, as: UInt8.self)
            case .uint16: guard let v = UInt16(exactly: int) else { return false }; pointer.storeBytes(of: v, as: UInt16.self)
            case .uint32: guard let v = UInt32(exactly: int) else { return false }; pointer.storeBytes(of: v, as: UInt32.self)
            case .uint64: guard let v = UInt64(exactly: int) else { return false }; pointer.storeBytes(of: v, as: UInt64.self)
            default: return false
            }
        default: return false
        }
        return true
    }

    /// Reads a value of this type at `pointer` (an argument buffer's element).
    func load(from pointer: UnsafeRawPointer) -> JSONValue {
        switch self {
        case .int8: .int(Int(pointer.loadUnaligned(as: Int8.self)))
        case .int16: .int(Int(pointer.loadUnaligned(as: Int16.self)))
        case .int32: .int(Int(pointer.loadUnaligned(as: Int32.self)))
        case .int64: .int(Int(pointer.loadUnaligned(as: Int64.self)))
        case .uint8: .int(Int(pointer.loadUnaligned(as: UInt8.self)))
        case .uint16: .int(Int(pointer.loadUnaligned(as: UInt16.self)))
        case .uint32: .int(Int(pointer.loadUnaligned(as: UInt32.self)))
        case .uint64: Self.json(pointer.loadUnaligned(as: UInt64.self))
        case .float: .double(Double(pointer.loadUnaligned(as: Float.self)))
        case .double: .double(pointer.loadUnaligned(as: Double.self))
        case .bool: .bool(pointer.loadUnaligned(as: UInt8.self) != 0)
        }
    }

    /// A `uint64` past `Int.max` does not fit a JSON integer: it becomes a (rounded) number.
    private static func json(_ value: UInt64) -> JSONValue {
        value <= UInt64(Int.max) ? .int(Int(value)) : .double(Double(value))
    }

    /// Reads a function's return value: libffi widens integer returns narrower than a register
    /// to a full `ffi_arg`/`ffi_sarg`.
    func loadReturn(from pointer: UnsafeRawPointer) -> JSONValue {
        switch self {
        case .int8, .int16, .int32, .int64: .int(Int(pointer.load(as: Int64.self)))
        case .uint8, .uint16, .uint32: .int(Int(pointer.load(as: UInt64.self) & (size == 4 ? 0xFFFF_FFFF : size == 2 ? 0xFFFF : 0xFF)))
        case .uint64: load(from: pointer)
        case .bool: .bool((pointer.load(as: UInt64.self) & 0xFF) != 0)
        case .float, .double: load(from: pointer)
        }
    }
}

/// A parameter of a foreign function as the manifest declares it.
enum FFIParameterType: Sendable, Equatable {
    case scalar(FFIScalar)
    /// `const char*`, NUL-terminated UTF-8, owned by the host for the call.
    case string
    /// A pointer to `count` elements followed by a `size_t` count: two C arguments.
    case buffer(FFIScalar)

    init?(declared: String) {
        let text = declared.trimmingWhitespace
        if text == "string" || text == "const char*" || text == "const char *" {
            self = .string
        } else if text.hasSuffix("[]"), let element = FFIScalar(rawValue: String(text.dropLast(2))), element != .bool {
            self = .buffer(element)
        } else if let scalar = FFIScalar(rawValue: text) {
            self = .scalar(scalar)
        } else {
            return nil
        }
    }

    var cDescription: String {
        switch self {
        case .scalar(let scalar): scalar.rawValue
        case .string: "const char*"
        case .buffer(let element): "\(element.rawValue)[]"
        }
    }
}

/// What a foreign function returns.
enum FFIReturnType: Sendable, Equatable {
    case void
    case scalar(FFIScalar)
    /// `char*`: a NUL-terminated UTF-8 string, the job's result as a JSON string.
    case string
    /// `char*`: NUL-terminated JSON text, the job's result.
    case json

    init?(declared: String) {
        switch declared.trimmingWhitespace {
        case "void": self = .void
        case "string", "char*", "char *": self = .string
        case "json": self = .json
        case let other:
            guard let scalar = FFIScalar(rawValue: other) else { return nil }
            self = .scalar(scalar)
        }
    }
}

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

/// One C function of a foreign-language plugin, with its `ffi_cif` prepared once at load.
/// Calls convert the job's JSON arguments per the declared signature, with range checks.
final class FFIFunction: @unchecked Sendable {
    // Immutable after init; the cif and type arrays live as long as the process (plugins are never unloaded).
    let task: String
    let parameters: [(name: String, type: FFIParameterType)]
    let returns: FFIReturnType
    let resultBuffer: String?
    private let function: @convention(c) () -> Void
    private let free: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?
    private let cif: UnsafeMutablePointer<ffi_cif>
    private let argumentCount: Int

    init(
        task: String, symbol: UnsafeMutableRawPointer, parameters: [(name: String, type: FFIParameterType)], returns: FFIReturnType,
        free: UnsafeMutableRawPointer?, resultBuffer: String?
    ) throws(FFIFunctionError) {
        self.task = task
        self.parameters = parameters
        self.returns = returns
        self.resultBuffer = resultBuffer
        function = unsafeBitCast(symbol, to: (@convention(c) () -> Void).self)
        self.free = free.map { unsafeBitCast($0, to: (@convention(c) (UnsafeMutableRawPointer?) -> Void).self) }
        var types: [UnsafeMutablePointer<ffi_type>?] = []
        for (_, type) in parameters {
            switch type {
            case .scalar(let scalar): types.append(scalar.ffiType)
            case .string: types.append(easyjobs_ffi_type(EASYJOBS_FFI_POINTER))
            case .buffer:
                types.append(easyjobs_ffi_type(EASYJOBS_FFI_POINTER))
                // size_t: 64 bits on the platforms the host runs on.
                types.append(easyjobs_ffi_type(EASYJOBS_FFI_UINT64))
            }
        }
        argumentCount = types.count
        let argumentTypes = UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>.allocate(capacity: max(types.count, 1))
        argumentTypes.initialize(from: types, count: types.count)
        let returnType: UnsafeMutablePointer<ffi_type> =
            switch returns {
            case .void: easyjobs_ffi_type(EASYJOBS_FFI_VOID)
            case .scalar(let scalar): scalar.ffiType
            case .string, .json: easyjobs_ffi_type(EASYJOBS_FFI_POINTER)
            }
        cif = .allocate(capacity: 1)
        let status = ffi_prep_cif(cif, FFI_DEFAULT_ABI, UInt32(types.count), returnType, argumentTypes)
        guard status == FFI_OK else { throw FFIFunctionError("libffi cannot prepare the call (status \(status.rawValue))") }
    }

    /// Calls the function with `arguments` (the job's keyword arguments); returns the job's
    /// result, or why the call could not be made or its result read.
    func call(_ arguments: [String: JSONValue]) -> Result<JSONValue, FFIFunctionError> {
        var allocations: [UnsafeMutableRawPointer] = []
        var strings: [UnsafeMutablePointer<CChar>] = []
        defer {
            for allocation in allocations { allocation.deallocate() }
            for string in strings { Glibc.free(string) }
        }
        func slot(_ bytes: Int = 8) -> UnsafeMutableRawPointer {
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 8), alignment: 16)
            allocations.append(pointer)
            return pointer
        }
        let values = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(argumentCount, 1))
        defer { values.deallocate() }
        var index = 0
        var buffers: [String: (data: UnsafeMutableRawPointer, count: Int, element: FFIScalar)] = [:]
        for (name, type) in parameters {
            let value = arguments[name] ?? .null
            switch type {
            case .scalar(let scalar):
                let storage = slot()
                guard scalar.store(value, at: storage) else {
                    return .failure(FFIFunctionError("argument '\(name)' does not fit \(scalar.rawValue): \(value.jsonString)"))
                }
                values[index] = storage
                index += 1
            case .string:
                guard case .string(let text) = value, !text.utf8.contains(0) else {
                    return .failure(FFIFunctionError("argument '\(name)' must be a string without NUL characters for const char*"))
                }
                guard let copy = strdup(text) else { return .failure(FFIFunctionError("out of memory")) }
                strings.append(copy)
                let storage = slot()
                storage.storeBytes(of: copy, as: UnsafeMutablePointer<CChar>.self)
                values[index] = storage
                index += 1
            case .buffer(let element):
                guard case .array(let items) = value else {
                    return .failure(FFIFunctionError("argument '\(name)' must be an array for \(element.rawValue)*"))
                }
                let data = slot(items.count * element.size)
                for (offset, item) in items.enumerated() where !element.store(item, at: data + offset * element.size) {
                    return .failure(FFIFunctionError("argument '\(name)[\(offset)]' does not fit \(element.rawValue): \(item.jsonString)"))
                }
                let pointer = slot()
                pointer.storeBytes(of: data, as: UnsafeMutableRawPointer.self)
                let count = slot()
                count.storeBytes(of: UInt64(items.count), as: UInt64.self)
                values[index] = pointer
                values[index + 1] = count
                index += 2
                buffers[name] = (data, items.count, element)
            }
        }
        let returned = slot(16)
        ffi_call(cif, function, returned, values)

        switch returns {
        case .void:
            guard let name = resultBuffer, let buffer = buffers[name] else { return .success(.null) }
            return Self.finite(.array((0..<buffer.count).map { buffer.element.load(from: buffer.data + $0 * buffer.element.size) }))
        case .scalar(let scalar):
            return Self.finite(scalar.loadReturn(from: returned))
        case .string, .json:
            guard let text = returned.load(as: UnsafeMutablePointer<CChar>?.self) else {
                return .failure(FFIFunctionError("the function returned NULL"))
            }
            let string = String(cString: text)
            free?(text)
            guard returns == .json else { return .success(.string(string)) }
            do {
                return .success(try JSONValue.parse(string))
            } catch {
                return .failure(FFIFunctionError("the function returned text that is not JSON: \(error.message)"))
            }
        }
    }

    /// JSON has no NaN or infinity: a result holding one is a failure that says so.
    private static func finite(_ value: JSONValue) -> Result<JSONValue, FFIFunctionError> {
        switch value {
        case .double(let number) where !number.isFinite:
            .failure(FFIFunctionError("the function returned \(number), which JSON cannot carry"))
        case .array(let items) where items.contains { if case .double(let n) = $0 { !n.isFinite } else { false } }:
            .failure(FFIFunctionError("the function left a non-finite number in its result buffer, which JSON cannot carry"))
        default:
            .success(value)
        }
    }
}

struct FFIFunctionError: Error, Sendable {
    var message: String
    init(_ message: String) { self.message = message }
}

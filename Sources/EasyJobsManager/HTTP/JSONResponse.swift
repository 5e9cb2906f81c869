import EasyJobsCore
import Foundation
import Hummingbird
import NIOCore

/// Builds JSON responses with the API's coding conventions.
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try WireCoding.makeEncoder().encode(value)
        return raw(data, status: status)
    }

    /// A host-protocol message, written with the project's own JSON writer.
    static func message(_ message: some JSONMessage, status: HTTPResponse.Status = .ok) -> Response {
        raw(message.encoded(), status: status)
    }

    static func raw(_ data: Data, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ error: EasyJobsError) -> Response {
        let data =
            (try? WireCoding.makeEncoder().encode(ErrorResponse(error: error)))
            ?? Data(#"{"error":{"code":"internal_error","message":"cannot encode error","context":{}}}"#.utf8)
        return raw(data, status: error.code.httpStatus)
    }
}

extension Request {
    /// The body as JSON, within the size limit; an empty body is `{}`.
    mutating func jsonBody(limit: Int) async throws -> JSONValue {
        let buffer = try await body(limit: limit)
        if buffer.readableBytes == 0 { return [:] }
        try JSONNesting.check(buffer.readableBytesView)
        do {
            return try JSONValue.decode(buffer.readableBytesView)
        } catch {
            throw EasyJobsError(.malformedRequest, "request body is not valid JSON: \(Self.describe(error))")
        }
    }

    /// The body decoded as `T`, within the size limit.
    mutating func decode<T: Decodable>(_ type: T.Type, limit: Int) async throws -> T {
        let buffer = try await body(limit: limit)
        // Checked before decoding: Foundation's decoder recurses once per level. The values inside
        // are checked against the limit itself where they are taken (results, arguments).
        try JSONNesting.check(buffer.readableBytesView, limit: JSONNesting.maximumDepth + JSONNesting.envelopeDepth)
        do {
            return try WireCoding.makeDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw EasyJobsError(.malformedRequest, "request body is not a valid \(T.self): \(Self.describe(error))")
        }
    }

    /// The body read as a host-protocol message through the project's own JSON parser (see
    /// ``JSONMessage``), within the size limit.
    mutating func decodeMessage<T: JSONMessage>(_ type: T.Type, limit: Int) async throws -> T {
        let buffer = try await body(limit: limit)
        try JSONNesting.check(buffer.readableBytesView, limit: JSONNesting.maximumDepth + JSONNesting.envelopeDepth)
        do {
            return try T.decode(buffer.readableBytesView)
        } catch {
            throw EasyJobsError(error.code, "request body is not a valid \(T.self): \(error.message)", context: error.context)
        }
    }

    private mutating func body(limit: Int) async throws -> ByteBuffer {
        do {
            return try await collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw EasyJobsError(.payloadTooLarge, "request body is over the limit of \(limit) bytes", context: ["limit": "\(limit)"])
        }
    }

    /// The query parameter `name`, or the first of its aliases.
    func query(_ names: String...) -> String? {
        for name in names {
            if let value = uri.queryParameters.get(name) { return value }
        }
        return nil
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context):
            return (context.underlyingError.map { "\($0)" } ?? context.debugDescription)
        case DecodingError.keyNotFound(let key, _):
            return "missing field '\(key.stringValue)'"
        case DecodingError.typeMismatch(let type, let context):
            return "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' must be \(type)"
        case DecodingError.valueNotFound(let type, let context):
            return "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' must be \(type), got null"
        default:
            return "\(error)"
        }
    }
}

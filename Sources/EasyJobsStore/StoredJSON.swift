import EasyJobsCore
import Foundation

/// How every store writes a Codable value as JSON text: keys sorted, so equal values store equal text.
public enum StoredJSON {
    public static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw EasyJobsError(.storeFailure, "Could not encode a JSON value: \(error)")
        }
    }
}

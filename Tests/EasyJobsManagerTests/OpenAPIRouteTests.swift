import EasyJobsCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// `/openapi.json` is written from the routes the manager registers (issue 15: eight endpoints
/// the README documents were missing from it): every endpoint a user reads about is in the
/// document, every fixed path in the document is answered, and none is left undocumented.
@Suite struct OpenAPIRouteTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `METHOD /path` pairs of the README's API table, with `a|b` alternatives spelled out.
    static func readmeEndpoints() throws -> [(method: String, path: String)] {
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        guard let start = readme.range(of: "## The API\n"), let end = readme.range(of: "\n### ", range: start.upperBound..<readme.endIndex) else {
            throw TestFailure("README.md has no API table")
        }
        var endpoints: [(String, String)] = []
        for row in readme[start.upperBound..<end.lowerBound].split(separator: "\n") where row.hasPrefix("| `") {
            // The first cell: cells are separated by " | ", a pipe inside one is written `\|`.
            let cell = row.dropFirst(2).components(separatedBy: " | ")[0]
            var method = "GET"
            for code in cell.split(separator: "`", omittingEmptySubsequences: false).enumerated().filter({ $0.offset % 2 == 1 }).map(\.element) {
                var text = String(code).replacingOccurrences(of: "\\|", with: "|")
                if let space = text.firstIndex(of: " "), ["GET", "POST"].contains(String(text[..<space])) {
                    method = String(text[..<space])
                    text = String(text[text.index(after: space)...])
                }
                let path = String(text.prefix { $0 != "?" })
                guard path.hasPrefix("/") else { continue }
                // `/schedules/{queue}/{task}/pause|resume|trigger`: one endpoint per alternative.
                if let last = path.split(separator: "/").last, last.contains("|") {
                    let base = path.dropLast(last.count)
                    for alternative in last.split(separator: "|") { endpoints.append((method, String(base) + alternative)) }
                } else {
                    endpoints.append((method, path))
                }
            }
        }
        return endpoints
    }

    @Test func everyEndpointOfTheREADMEIsInTheDocumentAndNoneIsUndocumented() async throws {
        let endpoints = try Self.readmeEndpoints()
        #expect(endpoints.count >= 25, "\(endpoints)")
        try await ManagerFixture.withManager { client in
            let document = try await client.execute(uri: "/openapi.json", method: .get, headers: [:], body: nil)
            #expect(document.status == .ok)
            let paths = try JSONValue.decode(Data(buffer: document.body))["paths"]?.objectValue ?? [:]
            for (method, path) in endpoints where !path.hasPrefix("/{queue}/") {
                #expect(paths[path]?[method.lowercased()] != nil, "\(method) \(path) is in the README but not in /openapi.json")
            }
            for (path, item) in paths {
                for (method, operation) in item.objectValue ?? [:] {
                    #expect(operation["x-undocumented"] == nil, "\(method) \(path) is served but undocumented")
                }
            }
        }
    }

    /// Each fixed path of the document reaches a handler: a request may be refused (no
    /// request id, no such schedule), but never with "no endpoint".
    @Test func everyDocumentedPathIsAnswered() async throws {
        try await ManagerFixture.withManager { client in
            let document = try await client.execute(uri: "/openapi.json", method: .get, headers: [:], body: nil)
            let paths = try JSONValue.decode(Data(buffer: document.body))["paths"]?.objectValue ?? [:]
            #expect(paths.count >= 25)
            for (path, item) in paths {
                let concrete = path.replacingOccurrences(of: "{queue}", with: "q").replacingOccurrences(of: "{task}", with: "t")
                    .replacingOccurrences(of: "{name}", with: "h")
                for method in (item.objectValue ?? [:]).keys {
                    let response = try await client.execute(
                        uri: concrete, method: method == "post" ? .post : .get, headers: [.contentType: "application/json"],
                        body: method == "post" ? ByteBuffer(string: "{}") : nil)
                    let body = String(buffer: response.body)
                    #expect(!body.contains("no endpoint"), "\(method.uppercased()) \(concrete): \(response.status) \(body.prefix(200))")
                }
            }
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

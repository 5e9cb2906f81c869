import EasyJobsCore
import Foundation
import PostgresNIO

extension PostgresJobStore {
    /// How the store uses its connection pool.
    ///
    /// ```swift
    /// let store = try PostgresJobStore(url: url, options: .init(maximumConnections: 10))
    /// ```
    public struct Options: Sendable, Hashable {
        /// The most connections the pool opens to the server. Defaults to 20: every store call
        /// holds one connection for one short transaction, and several managers share the
        /// server's `max_connections` (100 by default).
        public var maximumConnections: Int

        /// How long opening a connection may take. Defaults to 10 seconds; when the server stays
        /// unreachable for that long, waiting calls fail with `store_failure`.
        public var connectTimeout: Duration

        public init(maximumConnections: Int = 20, connectTimeout: Duration = .seconds(10)) {
            self.maximumConnections = maximumConnections
            self.connectTimeout = connectTimeout
        }
    }

    /// A server as a URL names it: what the pool connects to, and what ``migrate()`` probes
    /// with one direct connection first.
    struct Server: Sendable {
        var host: String
        var port: Int
        var username: String
        var password: String?
        var database: String
        /// `nil`: no TLS.
        var tls: TLSConfiguration?

        var clientConfiguration: PostgresClient.Configuration {
            PostgresClient.Configuration(
                host: host, port: port, username: username, password: password, database: database,
                tls: tls.map { .require($0) } ?? .disable)
        }

        func connectionConfiguration(connectTimeout: Duration) throws -> PostgresConnection.Configuration {
            var configuration = PostgresConnection.Configuration(
                host: host, port: port, username: username, password: password, database: database,
                tls: try tls.map { .require(try NIOSSLContext(configuration: $0)) } ?? .disable)
            let (seconds, attoseconds) = connectTimeout.components
            configuration.options.connectTimeout = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
            return configuration
        }
    }

    /// Parses `postgres://user[:password]@host[:port]/database[?sslmode=disable|require|verify-full]`.
    static func server(url: String) throws -> Server {
        func invalid(_ reason: String) -> EasyJobsError {
            EasyJobsError(
                .invalidConfiguration,
                "Invalid PostgreSQL URL: \(reason) (expected postgres://user:password@host:port/database)",
                context: ["url": redacted(url)])
        }
        guard let components = URLComponents(string: url), let scheme = components.scheme else {
            throw invalid("it is not a URL")
        }
        guard ["postgres", "postgresql"].contains(scheme.lowercased()) else {
            throw invalid("the scheme is '\(scheme)', not postgres or postgresql")
        }
        guard let host = components.host, !host.isEmpty else {
            throw invalid("it names no host")
        }
        guard let user = components.user, !user.isEmpty else {
            throw invalid("it names no user")
        }
        if let port = components.port, !(1...65_535).contains(port) {
            throw invalid("the port \(port) is out of range")
        }
        // URLComponents percent-decodes user, password and path.
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !database.isEmpty else {
            throw invalid("it names no database")
        }
        guard !database.contains("/") else {
            throw invalid("the database name '\(database)' contains '/'")
        }
        var tls: TLSConfiguration?
        for item in components.queryItems ?? [] {
            switch (item.name, item.value ?? "") {
            case ("sslmode", "disable"):
                tls = nil
            case ("sslmode", "require"):
                // As libpq's `require`: encrypted, the server's certificate not checked.
                var configuration = TLSConfiguration.makeClientConfiguration()
                configuration.certificateVerification = .none
                tls = configuration
            case ("sslmode", "verify-full"):
                tls = .makeClientConfiguration()
            case ("sslmode", let mode):
                throw invalid("sslmode '\(mode)' is not supported (use disable, require or verify-full)")
            case (let name, _):
                throw invalid("the parameter '\(name)' is not supported (only sslmode is)")
            }
        }
        // An IPv6 host keeps its brackets in URLComponents.
        let address = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return Server(
            host: address, port: components.port ?? 5432, username: user, password: components.password, database: database, tls: tls)
    }

    /// The URL without its password, for messages.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "(not a URL)" }
        if components.password != nil { components.password = "***" }
        return components.string ?? "(not a URL)"
    }
}

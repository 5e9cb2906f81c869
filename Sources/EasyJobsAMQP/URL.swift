/// The parts of an `amqp://user:password@host:port/vhost` URL.
struct AMQPURL: Equatable {
    var host = "127.0.0.1"
    var port = 5672
    var user = "guest"
    var password = "guest"
    var vhost = "/"

    init(_ string: String) throws {
        let invalid = AMQPError(.invalidArgument, "not an amqp:// URL: \(string)")
        guard string.hasPrefix("amqp://") else { throw invalid }
        var rest = Substring(string.dropFirst("amqp://".count))
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = try Self.percentDecoded(credentials[..<colon])
                password = try Self.percentDecoded(credentials[credentials.index(after: colon)...])
            } else {
                user = try Self.percentDecoded(credentials)
            }
        }
        if let colon = rest.lastIndex(of: ":") {
            guard let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else { throw invalid }
            self.port = port
            rest = rest[..<colon]
        }
        if !rest.isEmpty { host = String(rest) }
        if !path.isEmpty { vhost = try Self.percentDecoded(path) }
    }

    private static func percentDecoded(_ text: Substring) throws -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { throw AMQPError(.invalidArgument, "a bad percent escape in \(text)") }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

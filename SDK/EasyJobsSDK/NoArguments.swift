/// Arguments of a task that takes none.
public struct NoArguments: Codable, Sendable, Hashable {
    public init() {}
}

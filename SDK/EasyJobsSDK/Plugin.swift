import CEasyJobsABI

/// A plugin: a name, a version and its tasks. Export it from the plugin's one C entry point.
///
/// ```swift
/// import EasyJobsSDK
///
/// let plugin = Plugin(name: "greeter", version: "1.0.0") {
///     TaskDefinition("greet") { (args: GreetArguments, context) in
///         context.print("hello, \(args.name)")
///         return ["greeted": args.name] as JSONValue
///     }
/// }
///
/// @_cdecl("easyjobs_plugin_entry_v1")
/// public func easyjobsPluginEntry() -> UnsafePointer<easyjobs_plugin_descriptor> {
///     plugin.export()
/// }
/// ```
public final class Plugin: Sendable {
    public let name: String
    public let version: String
    public let tasks: [TaskDefinition]

    public init(name: String, version: String, @TaskListBuilder tasks: () -> [TaskDefinition]) {
        self.name = name
        self.version = version
        self.tasks = tasks()
    }

    public init(name: String, version: String, tasks: [TaskDefinition]) {
        self.name = name
        self.version = version
        self.tasks = tasks
    }

    /// The descriptor the entry point returns. Built once; lives as long as the process.
    public func export() -> UnsafePointer<easyjobs_plugin_descriptor> {
        PluginRuntime.shared.export(self)
    }
}

/// Builds a plugin's task list from a block of `TaskDefinition`s.
@resultBuilder
public enum TaskListBuilder {
    public static func buildExpression(_ task: TaskDefinition) -> [TaskDefinition] { [task] }
    public static func buildExpression(_ tasks: [TaskDefinition]) -> [TaskDefinition] { tasks }
    public static func buildBlock(_ parts: [TaskDefinition]...) -> [TaskDefinition] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [TaskDefinition]?) -> [TaskDefinition] { part ?? [] }
    public static func buildEither(first: [TaskDefinition]) -> [TaskDefinition] { first }
    public static func buildEither(second: [TaskDefinition]) -> [TaskDefinition] { second }
    public static func buildArray(_ parts: [[TaskDefinition]]) -> [TaskDefinition] { parts.flatMap { $0 } }
}

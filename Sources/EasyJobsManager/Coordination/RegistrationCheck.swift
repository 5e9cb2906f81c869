import EasyJobsCore
import Foundation

/// Limits on what a host may register, checked before anything is stored.
///
/// A registration is stored and replayed at every manager start, so one that could exhaust
/// memory or the stack (200,000 chained tasks, megabytes of options) would take the manager
/// down on every restart. Each limit is far above what a real plugin declares.
enum RegistrationCheck {
    static let maxNameLength = 200
    static let maxPlugins = 256
    static let maxTasksPerPlugin = 1_000
    static let maxParameters = 256
    static let maxLinks = 64
    static let maxTextLength = 8_192
    static let maxOptionBytes = 64 << 10
    static let maxRefused = 256
    static let maxQueues = 64

    /// Throws `invalid_arguments` naming the first thing over a limit or malformed.
    static func validate(_ registration: HostRegistration) throws(EasyJobsError) {
        try name(registration.hostID, "host_id")
        try name(registration.name, "name")
        try name(registration.queue, "queue")
        guard !registration.queues.isEmpty, registration.queues.count <= maxQueues else {
            throw refusal("a host serves 1 to \(maxQueues) queues, got \(registration.queues.count)", field: "queues")
        }
        guard registration.queues[0].name == registration.queue else {
            throw refusal(
                "queue must be the first of queues ('\(registration.queues[0].name)'), got '\(registration.queue)'", field: "queue")
        }
        var queues: Set<String> = []
        for queue in registration.queues {
            try name(queue.name, "queues[].name")
            guard (1...QueueWeight.maximumWeight).contains(queue.weight) else {
                throw refusal(
                    "the weight of queue '\(queue.name)' must be from 1 to \(QueueWeight.maximumWeight), got \(queue.weight)",
                    field: "queues[].weight")
            }
            guard queues.insert(queue.name).inserted else {
                throw refusal("queue '\(queue.name)' is listed twice", field: "queues[].name")
            }
        }
        guard registration.maxTasks >= 1 && registration.maxTasks <= 10_000 else {
            throw refusal("max_tasks must be between 1 and 10000, got \(registration.maxTasks)", field: "max_tasks")
        }
        guard registration.plugins.count <= maxPlugins else {
            throw refusal("a host may register at most \(maxPlugins) plugins, got \(registration.plugins.count)", field: "plugins")
        }
        guard registration.refused.count <= maxRefused else {
            throw refusal("a host may list at most \(maxRefused) refused plugins, got \(registration.refused.count)", field: "refused")
        }
        for refused in registration.refused {
            guard refused.file.count <= maxTextLength && refused.reason.count <= maxTextLength else {
                throw refusal("a refused plugin's file or reason is over \(maxTextLength) characters", field: "refused")
            }
        }
        var seen: Set<String> = []
        for plugin in registration.plugins {
            try name(plugin.name, "plugins[].name")
            guard plugin.version.count <= maxNameLength, plugin.sha256.count <= 128, plugin.abi.count <= 32 else {
                throw refusal("plugin '\(plugin.name)': version, sha256 or abi is too long", field: "plugins[].version")
            }
            guard plugin.tasks.count <= maxTasksPerPlugin else {
                throw refusal(
                    "plugin '\(plugin.name)' declares \(plugin.tasks.count) tasks; at most \(maxTasksPerPlugin) are allowed",
                    field: "plugins[].tasks")
            }
            for task in plugin.tasks {
                try self.task(task, plugin: plugin.name)
                guard seen.insert(task.name).inserted else {
                    throw refusal("task '\(task.name)' is registered twice by this host", field: "plugins[].tasks[].name")
                }
            }
        }
    }

    private static func task(_ task: TaskSpec, plugin: String) throws(EasyJobsError) {
        try name(task.name, "tasks[].name")
        let label = "task '\(task.name)' of plugin '\(plugin)'"
        guard task.parameters.count <= maxParameters else {
            throw refusal("\(label) declares \(task.parameters.count) parameters; at most \(maxParameters) are allowed", field: "parameters")
        }
        for parameter in task.parameters {
            try name(parameter.name, "parameters[].name")
            if let value = parameter.default { try jsonValue(value, "\(label): the default of '\(parameter.name)'") }
        }
        let options = task.options
        for (option, names) in [("run_before", options.runBefore), ("run_after", options.runAfter)] {
            guard names.count <= maxLinks else {
                throw refusal("\(label): \(option) lists \(names.count) tasks; at most \(maxLinks) are allowed", field: option)
            }
            for linked in names { try self.name(linked, option) }
        }
        if let handler = options.onFailure { try name(handler, "on_failure") }
        if let description = task.description, description.count > maxTextLength {
            throw refusal("\(label): the description is over \(maxTextLength) characters", field: "description")
        }
        for (option, text) in [("schedule", options.schedule), ("time_zone", options.timeZone)] {
            if let text, text.count > maxNameLength {
                throw refusal("\(label): \(option) is over \(maxNameLength) characters", field: option)
            }
        }
        if let defaults = options.defaultArgs { try jsonValue(.object(defaults), "\(label): default_args") }
        if let attempts = options.maxAttempts, attempts < 1 {
            throw refusal("\(label): max_attempts must be at least 1, got \(attempts)", field: "max_attempts")
        }
        for (option, value) in [("timeout", options.timeout), ("backoff", options.backoff)] {
            if let value, !(value.isFinite && value >= 0 && value <= 365 * 86_400) {
                throw refusal("\(label): \(option) must be between 0 and one year in seconds, got \(value)", field: option)
            }
        }
        if let cap = options.concurrency, !(1...1_000_000).contains(cap) {
            throw refusal("\(label): concurrency must be from 1 to 1000000 jobs at once, got \(cap)", field: "concurrency")
        }
        if let rate = options.rateLimit {
            guard (1...1_000_000).contains(rate.limit), rate.period.isFinite, rate.period >= 0.001, rate.period <= 365 * 86_400 else {
                throw refusal(
                    "\(label): rate_limit must be {\"limit\": 1 to 1000000, \"period\": 0.001 s to one year}, got \(rate.limit) per \(rate.period) s",
                    field: "rate_limit")
            }
        }
    }

    private static func jsonValue(_ value: JSONValue, _ what: String) throws(EasyJobsError) {
        guard JSONNesting.depth(of: value) <= JSONNesting.maximumDepth else {
            throw refusal("\(what) nests JSON deeper than \(JSONNesting.maximumDepth) levels", field: "default")
        }
        guard value.encoded().count <= maxOptionBytes else {
            throw refusal("\(what) is over \(maxOptionBytes) bytes of JSON", field: "default")
        }
    }

    private static func name(_ text: String, _ field: String) throws(EasyJobsError) {
        guard !text.isEmpty, text.count <= maxNameLength else {
            throw refusal("\(field) must be 1 to \(maxNameLength) characters, got \(text.count)", field: field)
        }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0 == "/" || $0.value == 0x7F }) else {
            throw refusal("\(field) '\(text.prefix(40))' contains '/' or a control character", field: field)
        }
    }

    private static func refusal(_ message: String, field: String) -> EasyJobsError {
        EasyJobsError(.invalidArguments, "registration refused: \(message)", context: ["field": field])
    }
}

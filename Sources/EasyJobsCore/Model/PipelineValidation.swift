/// Checks how the tasks of one queue refer to each other, so that a broken pipeline is
/// reported when its tasks are registered rather than discovered when a job runs.
public enum PipelineValidation {
    /// Task name → problems: names in `run_before`, `run_after` or `on_failure` that no task
    /// of the queue has, `run_before` tasks that cannot start without arguments, and cycles.
    public static func problems(in tasks: [TaskSpec]) -> [String: [String]] {
        let byName = Dictionary(tasks.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var problems: [String: [String]] = [:]
        for task in tasks.sorted(by: { $0.name < $1.name }) {
            for (option, names) in [("run_before", task.options.runBefore), ("run_after", task.options.runAfter), ("on_failure", task.options.onFailure.map { [$0] } ?? [])] {
                for name in names where byName[name] == nil {
                    problems[task.name, default: []].append("\(option) names '\(name)', which no task of this queue has")
                }
            }
            for name in task.options.runBefore {
                guard let dependency = byName[name] else { continue }
                let required = dependency.parameters.filter { $0.required && $0.default == nil }.map(\.name)
                if !required.isEmpty {
                    problems[task.name, default: []].append(
                        "run_before task '\(name)' is started without arguments but requires \(required.joined(separator: ", "))")
                }
            }
        }
        for cycle in cycles(in: tasks) {
            let text = "cycle through run_before/run_after: " + (cycle + [cycle[0]]).joined(separator: " → ")
            for name in Set(cycle) { problems[name, default: []].append(text) }
        }
        return problems
    }

    /// The cycles of the graph whose edges are `run_before` and `run_after`; each cycle once,
    /// starting at its smallest name.
    public static func cycles(in tasks: [TaskSpec]) -> [[String]] {
        let edges = Dictionary(
            tasks.map { ($0.name, Array(Set($0.options.runBefore + $0.options.runAfter)).sorted()) },
            uniquingKeysWith: { first, _ in first })
        var found: Set<[String]> = []
        var state: [String: Int] = [:]  // 1: on the path, 2: done
        var path: [String] = []

        func visit(_ node: String) {
            state[node] = 1
            path.append(node)
            for next in edges[node] ?? [] where edges[next] != nil {
                if state[next] == 1, let start = path.firstIndex(of: next) {
                    var cycle = Array(path[start...])
                    let smallest = cycle.indices.min { cycle[$0] < cycle[$1] }!
                    cycle = Array(cycle[smallest...] + cycle[..<smallest])
                    found.insert(cycle)
                } else if state[next] == nil {
                    visit(next)
                }
            }
            path.removeLast()
            state[node] = 2
        }
        for name in edges.keys.sorted() where state[name] == nil {
            visit(name)
        }
        return found.sorted { $0.joined() < $1.joined() }
    }
}

/// Checks how the tasks of one queue refer to each other, so that a broken pipeline is
/// reported when its tasks are registered rather than discovered when a job runs.
public enum PipelineValidation {
    /// Task name → problems: names in `run_before`, `run_after` or `on_failure` that no task
    /// of the queue has, `run_before` tasks that cannot start without arguments, and cycles.
    public static func problems(in tasks: [TaskSpec]) -> [String: [String]] {
        let byName = Dictionary(tasks.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var problems: [String: [String]] = [:]
        for task in tasks.sorted(by: { $0.name < $1.name }) {
            for (option, names) in [
                ("run_before", task.options.runBefore), ("run_after", task.options.runAfter),
                ("on_failure", task.options.onFailure.map { [$0] } ?? []),
            ] {
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
            // A long cycle is named by its ends: the text is stored with each of its tasks.
            let shown = cycle.count <= 12 ? cycle + [cycle[0]] : Array(cycle.prefix(6)) + ["… (\(cycle.count) tasks)"] + [cycle[0]]
            let text = "cycle through run_before/run_after: " + shown.joined(separator: " → ")
            for name in Set(cycle) { problems[name, default: []].append(text) }
        }
        return problems
    }

    /// The cycles of the graph whose edges are `run_before` and `run_after`; each cycle once,
    /// starting at its smallest name; at most `limit` of them.
    ///
    /// Iterative, with its own stack: a registration may chain many thousands of tasks, and a
    /// recursive walk would overflow the thread's stack on the request that carries it.
    public static func cycles(in tasks: [TaskSpec], limit: Int = 20) -> [[String]] {
        let edges = Dictionary(
            tasks.map { ($0.name, Array(Set($0.options.runBefore + $0.options.runAfter)).sorted()) },
            uniquingKeysWith: { first, _ in first })
        var found: Set<[String]> = []
        var state: [String: Int] = [:]  // 1: on the path, 2: done
        var path: [String] = []
        var positions: [String: Int] = [:]
        // Each frame: a node on the path and the index of its next edge to follow.
        var stack: [(node: String, next: Int)] = []

        for root in edges.keys.sorted() where state[root] == nil {
            state[root] = 1
            positions[root] = path.count
            path.append(root)
            stack.append((root, 0))
            while let frame = stack.last {
                let targets = edges[frame.node] ?? []
                guard frame.next < targets.count else {
                    stack.removeLast()
                    path.removeLast()
                    positions[frame.node] = nil
                    state[frame.node] = 2
                    continue
                }
                stack[stack.count - 1].next += 1
                let next = targets[frame.next]
                guard edges[next] != nil else { continue }
                if state[next] == 1, let start = positions[next] {
                    if found.count < limit {
                        var cycle = Array(path[start...])
                        let smallest = cycle.indices.min { cycle[$0] < cycle[$1] }!
                        cycle = Array(cycle[smallest...] + cycle[..<smallest])
                        found.insert(cycle)
                    }
                } else if state[next] == nil {
                    state[next] = 1
                    positions[next] = path.count
                    path.append(next)
                    stack.append((next, 0))
                }
            }
        }
        return found.sorted { $0.joined() < $1.joined() }
    }
}

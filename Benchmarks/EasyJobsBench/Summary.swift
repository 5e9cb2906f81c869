import EasyJobsCore
import Foundation

/// The headline figures of one benchmark invocation, as JSON for scripts that compare them
/// (`scripts/compare.sh`): rates in jobs or chains per second, latencies in milliseconds.
struct Summary {
    var single: Double?
    var wrk: Double?
    var batch: Double?
    var chainP50: Double?
    var chains: Double?
    var subprocessP50: Double?
    var idleRSS: (manager: Double, host: Double)?
    var reruns: Int?

    func write(to path: String, jobs: Int, chains chainCount: Int) throws {
        var object: [String: JSONValue] = ["jobs": .int(jobs), "chains": .int(chainCount)]
        let figures: [(String, Double?)] = [
            ("single_jobs_per_s", single), ("wrk_jobs_per_s", wrk), ("batch_jobs_per_s", batch), ("chain_p50_ms", chainP50),
            ("chains_per_s", chains), ("subprocess_p50_ms", subprocessP50), ("idle_rss_manager_mib", idleRSS?.manager),
            ("idle_rss_host_mib", idleRSS?.host),
        ]
        for case (let key, let value?) in figures where value.isFinite { object[key] = .double(value) }
        if let reruns { object["jobs_run_more_than_once"] = .int(reruns) }
        try JSONValue.object(object).encoded().write(to: URL(fileURLWithPath: path))
    }
}

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
        var object: [String: Any] = ["jobs": jobs, "chains": chainCount]
        object["single_jobs_per_s"] = single
        object["wrk_jobs_per_s"] = wrk
        object["batch_jobs_per_s"] = batch
        object["chain_p50_ms"] = chainP50
        object["chains_per_s"] = chains
        object["subprocess_p50_ms"] = subprocessP50
        object["idle_rss_manager_mib"] = idleRSS?.manager
        object["idle_rss_host_mib"] = idleRSS?.host
        object["jobs_run_more_than_once"] = reruns
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: path))
    }
}

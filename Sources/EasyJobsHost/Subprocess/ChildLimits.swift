#if canImport(Glibc)
import Glibc
#endif

/// A task's memory and CPU limits, set on the process that runs it: a host's `run-task` child
/// once it has its job, and `easyjobs plugin test`'s child, so a plugin's own tests see the
/// limits its jobs will.
public enum ChildLimits {
    /// Sets the limits on this process. The address space limit counts what the process mapped
    /// before (the runtime, the plugin), as it did when the limit was set before loading; CPU
    /// time already used is added to the CPU limit, since `RLIMIT_CPU` counts the process's
    /// whole life and the task's share is what is bounded.
    public static func apply(memoryMB: Int?, cpuSeconds: Int?) {
        if let megabytes = memoryMB {
            var limit = rlimit(rlim_cur: rlim_t(megabytes) << 20, rlim_max: rlim_t(megabytes) << 20)
            setrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit)
        }
        if let seconds = cpuSeconds {
            var usage = rusage()
            getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
            let used = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
            let soft = rlim_t((used + Double(seconds)).rounded(.up))
            // SIGXCPU at the soft limit, SIGKILL a second later if it is ignored.
            var limit = rlimit(rlim_cur: soft, rlim_max: soft + 1)
            setrlimit(__rlimit_resource_t(RLIMIT_CPU.rawValue), &limit)
        }
    }
}

import EasyJobsCore
import EasyJobsStore
import Foundation
import Logging

/// Cron schedules and paused work.
extension Coordinator {
    /// Stores the schedules of the tasks a host registered (new ones start now: earlier times
    /// are not missed), and forgets those of its tasks that no longer have one: a schedule
    /// removed from a plugin stops firing.
    func syncSchedules(of host: HostRecord) async throws {
        let stored = Set(try await store.schedules().filter { $0.queue == host.queue }.map(\.task))
        for task in host.plugins.flatMap(\.tasks) {
            guard let expression = task.options.schedule else {
                if stored.contains(task.name), (try? registry.spec(queue: host.queue, task: task.name))?.options.schedule == nil,
                    try await store.deleteSchedule(queue: host.queue, task: task.name)
                {
                    logger.notice("schedule removed: the task no longer has one", metadata: ["queue": "\(host.queue)", "task": "\(task.name)"])
                }
                continue
            }
            try await store.syncSchedule(
                ScheduleRecord(
                    queue: host.queue, task: task.name, expression: expression, timeZone: task.options.timeZone ?? "UTC",
                    catchUp: task.options.catchUp ?? .once, defaultArgs: task.options.defaultArgs ?? [:], createdAt: .now))
        }
    }

    static func cron(_ schedule: ScheduleRecord) -> CronSchedule? {
        try? CronSchedule(parsing: schedule.expression, timeZone: TimeZone(identifier: schedule.timeZone) ?? .gmt)
    }

    /// Fires what is due of one schedule. Times missed while no manager ran follow its catch-up policy.
    func fireDue(_ schedule: ScheduleRecord, now: Date) async throws {
        guard !schedule.paused, let cron = Self.cron(schedule) else { return }
        let due = cron.fires(between: schedule.lastFireAt ?? schedule.createdAt, and: now, limit: 10_000)
        guard let latest = due.last else { return }
        // A task no host serves keeps its place: its fires count as missed when it comes back.
        // Only what the task declares now fires: a schedule the task dropped or changed waits for its sync.
        guard isServed(queue: schedule.queue, task: schedule.task), let spec = try? registry.spec(queue: schedule.queue, task: schedule.task),
            spec.options.schedule == schedule.expression
        else { return }
        var times = due
        if due.count > 1 {
            switch schedule.catchUp {
            case .once: times = [latest]
            case .all: times = Array(due.suffix(1000))
            case .skip: times = []
            }
            logger.notice(
                "schedule missed \(due.count) fires while no manager ran; catch-up policy \(schedule.catchUp.rawValue): firing \(times.count)",
                metadata: [
                    "queue": "\(schedule.queue)", "task": "\(schedule.task)", "first_missed": "\(WireCoding.format(due[0]))",
                    "last_missed": "\(WireCoding.format(latest))",
                ])
        }
        let arguments = try spec.bind(.object(schedule.defaultArgs))
        var jobs: [NewJob] = []
        for time in times {
            var planned = try plan(queue: schedule.queue, spec: spec, arguments: arguments, origin: JobOrigin(.schedule))
            planned[0].scheduledFor = time
            jobs += planned
        }
        guard try await store.fire(queue: schedule.queue, task: schedule.task, at: latest, previous: schedule.lastFireAt, jobs: jobs) else {
            return
        }
        if !jobs.isEmpty {
            metrics.enqueued(jobs)
            notifier.workArrived(in: schedule.queue)
            logger.debug(
                "schedule fired", metadata: ["queue": "\(schedule.queue)", "task": "\(schedule.task)", "for": "\(WireCoding.format(latest))"])
        }
    }

    /// Fires a scheduled task now, outside its schedule (its fire times are unchanged).
    public func trigger(queue: String, task: String) async throws -> Job {
        guard let schedule = try await store.schedules().first(where: { $0.queue == queue && $0.task == task }) else {
            throw EasyJobsError(.notFound, "no schedule for task '\(task)' in queue '\(queue)'", context: ["queue": queue, "task": task])
        }
        let spec = try registry.spec(queue: queue, task: task)
        let jobs = try plan(queue: queue, spec: spec, arguments: try spec.bind(.object(schedule.defaultArgs)), origin: JobOrigin(.schedule))
        try await batcher.enqueue(jobs)
        metrics.enqueued(jobs)
        notifier.workArrived(in: queue)
        return jobs[0].job
    }

    public func scheduleViews(now: Date = .now) async throws -> [ScheduleView] {
        var views: [ScheduleView] = []
        for schedule in try await store.schedules() {
            let last = try await schedule.lastJobID.asyncMap { try await store.job(id: $0) } ?? nil
            views.append(
                ScheduleView(
                    queue: schedule.queue, task: schedule.task, expression: schedule.expression, timeZone: schedule.timeZone,
                    catchUp: schedule.catchUp, defaultArgs: schedule.defaultArgs, paused: schedule.paused,
                    nextFireAt: Self.cron(schedule)?.nextFire(after: max(now, schedule.lastFireAt ?? now)),
                    lastFireAt: schedule.lastFireAt, lastJobID: schedule.lastJobID, lastOutcome: last?.status))
        }
        return views
    }

    public func setSchedulePaused(queue: String, task: String, paused: Bool) async throws {
        guard try await store.setSchedulePaused(queue: queue, task: task, paused: paused) else {
            throw EasyJobsError(.notFound, "no schedule for task '\(task)' in queue '\(queue)'", context: ["queue": queue, "task": task])
        }
        logger.info("schedule \(paused ? "paused" : "resumed")", metadata: ["queue": "\(queue)", "task": "\(task)"])
    }

    /// Pauses or resumes a host (by name) or a queue: it finishes what it runs and claims nothing new.
    public func setPaused(_ kind: PauseKind, name: String, paused: Bool) async throws -> PausedWork {
        // A host is paused by the name it registers with: a name no host has is a typo that
        // would otherwise be kept, and pause nothing, silently. (A paused host that is gone may
        // still be resumed.)
        if kind == .host, !pauses.names(of: .host).contains(name), !registry.hosts.contains(where: { $0.name == name }) {
            let known = Set(registry.hosts.map(\.name)).sorted()
            throw EasyJobsError(
                .hostNotFound, "no host named '\(name)' has registered" + (known.isEmpty ? "" : " (hosts: \(known.joined(separator: ", ")))"),
                context: ["name": name])
        }
        try await store.setPaused(kind, name: name, paused: paused)
        pauses.set(kind, name: name, paused: paused)
        logger.notice("\(kind.rawValue) \(paused ? "paused" : "resumed")", metadata: [kind.rawValue: "\(name)"])
        if !paused { notifier.workArrivedEverywhere() }
        return PausedWork(hosts: pauses.names(of: .host), queues: pauses.names(of: .queue))
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}

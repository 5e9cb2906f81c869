import EasyJobsCore
import Foundation

/// Cron schedules and when each last fired. Firing is a compare-and-set on the last fire time,
/// so of several managers sharing one store exactly one fires each time.
public protocol ScheduleStore: Sendable {
    /// Adds a schedule, or updates its definition (expression, zone, policy, arguments) and keeps its state.
    func syncSchedule(_ schedule: ScheduleRecord) async throws

    /// Every schedule, by queue and task.
    func schedules() async throws -> [ScheduleRecord]

    /// Forgets a schedule (its task no longer has one); false when there was none.
    func deleteSchedule(queue: String, task: String) async throws -> Bool

    /// Records that the schedule fired for `time` and stores `jobs`, in one transaction, only
    /// if its last fire time is still `previous`: of several managers, exactly one fires each
    /// time. Returns false when another got there first. `jobs` may be empty (skipped fires).
    func fire(queue: String, task: String, at time: Date, previous: Date?, jobs: [NewJob]) async throws -> Bool

    /// Returns false when there is no such schedule.
    func setSchedulePaused(queue: String, task: String, paused: Bool) async throws -> Bool
}

/// Everything a manager keeps: the roles a store implements to back one. ``JobRetention`` is
/// optional: a store without it keeps finished jobs until they are discarded.
///
/// ```swift
/// let store: any ManagerStore = try SQLiteJobStore(path: ".easyjobs/easyjobs.sqlite")
/// ```
public typealias ManagerStore = JobStore & DeadJobStore & WebhookStore & JobLogStore & ScheduleStore & LockStore & PauseStore & HostStore

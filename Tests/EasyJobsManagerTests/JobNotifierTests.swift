import EasyJobsManager
import Testing

/// What wakes the manager's long polls (issue 15): each claim waits on its queue, each pull on
/// its job. A wait that is not woken runs to its hour-long timeout, past the test's time limit.
@Suite(.timeLimit(.minutes(1))) struct JobNotifierTests {
    @Test func workInAQueueWakesTheClaimsOfThatQueue() async {
        let notifier = JobNotifier()
        let version = notifier.version(of: "etl")
        async let woken: Void = notifier.waitForWork(in: "etl", after: version, timeout: .seconds(3_600))
        try? await Task.sleep(for: .milliseconds(50))
        notifier.workArrived(in: "etl")
        await woken
        #expect(notifier.version(of: "etl") != version)
    }

    @Test func workInAnyOfAHostsQueuesWakesItsClaim() async {
        let notifier = JobNotifier()
        let version = notifier.version(of: ["hi", "lo"])
        async let woken: Void = notifier.waitForWork(in: ["hi", "lo"], after: version, timeout: .seconds(3_600))
        try? await Task.sleep(for: .milliseconds(50))
        notifier.workArrived(in: "elsewhere")
        #expect(notifier.version(of: ["hi", "lo"]) == version)
        notifier.workArrived(in: "lo")
        await woken
        #expect(notifier.version(of: ["hi", "lo"]) != version)
    }

    @Test func workHandedBackAnywhereWakesTheClaimsOfEveryQueue() async {
        let notifier = JobNotifier()
        let etl = notifier.version(of: "etl")
        let mail = notifier.version(of: "mail")
        async let first: Void = notifier.waitForWork(in: "etl", after: etl, timeout: .seconds(3_600))
        async let second: Void = notifier.waitForWork(in: "mail", after: mail, timeout: .seconds(3_600))
        try? await Task.sleep(for: .milliseconds(50))
        notifier.workArrivedEverywhere()
        _ = await (first, second)
        #expect(notifier.version(of: "etl") != etl)
        #expect(notifier.version(of: "never-seen") != 0)
    }

    /// A change between reading the version and waiting is never missed.
    @Test func workThatArrivedBeforeTheWaitEndsItAtOnce() async {
        let notifier = JobNotifier()
        let version = notifier.version(of: "etl")
        notifier.workArrived(in: "etl")
        await notifier.waitForWork(in: "etl", after: version, timeout: .seconds(3_600))
        let finished = notifier.finishVersion
        notifier.jobFinished("other")
        await notifier.waitForFinish(of: "job", after: finished, timeout: .seconds(3_600))
    }

    @Test func aJobsFinishWakesItsPulls() async {
        let notifier = JobNotifier()
        let version = notifier.finishVersion
        async let woken: Void = notifier.waitForFinish(of: "job-1", after: version, timeout: .seconds(3_600))
        try? await Task.sleep(for: .milliseconds(50))
        notifier.jobFinished("job-1")
        await woken
        #expect(notifier.finishVersion != version)
    }

    @Test func aWaitWithNothingToWakeItEndsAtItsTimeout() async {
        let notifier = JobNotifier()
        let started = ContinuousClock.now
        await notifier.waitForWork(in: "etl", after: notifier.version(of: "etl"), timeout: .milliseconds(100))
        #expect(ContinuousClock.now - started >= .milliseconds(100))
    }
}

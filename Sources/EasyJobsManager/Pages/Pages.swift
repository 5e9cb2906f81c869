/// The manager's HTML pages, written as HTML files beside this one (`dashboard.html`,
/// `docs.html`) and embedded in the executable when it is built (SwiftPM's `embedInCode`): they
/// are edited as what they are, and served with no file to install beside the executable.
/// Plain HTML and JavaScript, no build step, nothing fetched from elsewhere.
enum Pages {
    /// `GET /`: hosts, queues, tasks and schedules, jobs with server-side paging, a job's page
    /// with its pipeline graph; every view has an address (`#/jobs/<id>`, `#/tasks/<queue>/<task>`).
    /// It refreshes itself every two seconds.
    static let dashboard = String(decoding: PackageResources.dashboard_html, as: UTF8.self)

    /// `GET /docs`: an interactive page over the live OpenAPI document.
    static let docs = String(decoding: PackageResources.docs_html, as: UTF8.self)
}

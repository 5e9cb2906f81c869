import EasyJobsCore

/// The live OpenAPI 3.1 document: every task registered now as `POST /{queue}/task/{task}`
/// with a request schema built from its parameters, plus every other endpoint.
enum OpenAPIDocument {
    /// `routes`: the fixed routes the manager registered (its `RouteBook`); each is documented
    /// from `operations`, and one without an entry there still appears, marked
    /// `x-undocumented`, so a route cannot go missing from the document.
    static func make(
        queues: [String: [TaskSpec]], routes: [RouteBook.Route], compatibility: APICompatibility = .native, authenticated: Bool
    ) -> JSONValue {
        var paths: [String: JSONValue] = [:]
        for queue in queues.keys.sorted() {
            for task in queues[queue]! {
                paths["/\(queue)/task/\(task.name)"] = ["post": taskOperation(queue: queue, task: task)]
            }
            paths["/\(queue)/tasks"] = ["post": batchOperation(queue: queue, tasks: queues[queue]!)]
        }
        for route in routes where !perTaskPaths.contains(route.path) {
            var item = paths[route.openAPIPath]?.objectValue ?? [:]
            item[route.method] = operation(for: route, compatibility: compatibility)
            paths[route.openAPIPath] = .object(item)
        }
        var document: [String: JSONValue] = [
            "openapi": "3.1.0",
            "info": [
                "title": "EasyJobs",
                "version": "1.0.0",
                "description":
                    "Jobs and results of an EasyJobs manager. Every task a host registers appears here as POST /{queue}/task/{task} the moment it is registered.",
            ],
            "paths": .object(paths),
            "components": [
                "schemas": .object(schemas),
                "securitySchemes": [
                    "bearer": ["type": "http", "scheme": "bearer", "description": "The manager's --api-token, when it has one."]
                ],
            ],
        ]
        if authenticated { document["security"] = [["bearer": []]] }
        return .object(document)
    }

    static func schema(of parameter: TaskParameter) -> JSONValue {
        var schema: [String: JSONValue]
        switch parameter.type {
        case .string: schema = ["type": "string"]
        case .int: schema = ["type": "integer"]
        case .double: schema = ["type": "number"]
        case .bool: schema = ["type": "boolean"]
        case .object: schema = ["type": "object"]
        case .array: schema = ["type": "array"]
        case .any: schema = [:]
        }
        if let value = parameter.default { schema["default"] = value }
        // A C parameter's range, so clients (and fuzzers) know what the manager accepts.
        if let minimum = parameter.minimum { schema["minimum"] = Self.number(minimum, integer: parameter.type == .int) }
        if let maximum = parameter.maximum { schema["maximum"] = Self.number(maximum, integer: parameter.type == .int) }
        if let cType = parameter.cType { schema["x-c-type"] = .string(cType) }
        return .object(schema)
    }

    private static func number(_ value: Double, integer: Bool) -> JSONValue {
        integer && value.magnitude <= 9.2e18 ? .int(Int(value)) : .double(value)
    }

    static func taskOperation(queue: String, task: TaskSpec) -> JSONValue {
        var properties: [String: JSONValue] = [:]
        for parameter in task.parameters { properties[parameter.name] = schema(of: parameter) }
        let required = task.parameters.filter { $0.required && $0.default == nil }.map { JSONValue.string($0.name) }
        var body: [String: JSONValue] = ["type": "object", "properties": .object(properties), "additionalProperties": false]
        if !required.isEmpty { body["required"] = .array(required) }
        var description = task.description ?? "Runs task \(task.name)."
        let options = task.options
        var notes: [String] = []
        if !options.runBefore.isEmpty { notes.append("runs after \(options.runBefore.joined(separator: ", "))") }
        if !options.runAfter.isEmpty { notes.append("then starts \(options.runAfter.joined(separator: ", "))") }
        if options.subprocess { notes.append("runs in a child process") }
        if let schedule = options.schedule { notes.append("scheduled: \(schedule)") }
        if !notes.isEmpty { description += " (" + notes.joined(separator: "; ") + ")" }
        return [
            "tags": [.string(queue)],
            "x-queue": .string(queue),
            "operationId": .string("\(queue).\(task.name)"),
            "summary": .string(task.signature),
            "description": .string(description),
            "parameters": .array(
                [
                    [
                        "name": "queue_anyway", "in": "query", "required": false, "schema": ["type": "boolean"],
                        "description": "Queue the job even when no host serves the task now.",
                    ]
                ] + enqueueOptionParameters),
            "requestBody": ["required": true, "content": ["application/json": ["schema": .object(body)]]],
            "responses": [
                "200": response("The job is stored; its request id.", ref: "EnqueueResponse"),
                "400": errorResponse("The body is not JSON."),
                "401": errorResponse("An API token is needed."),
                "403": errorResponse("The API token is wrong."),
                "404": errorResponse("No such queue or task."),
                "409": errorResponse("No host serves the task now."),
                "413": errorResponse("The body is over the size limit."),
                "422": errorResponse("The arguments do not fit the task's signature."),
            ],
        ]
    }

    /// The ``EnqueueOptions`` of one job, by wire name.
    static var enqueueOptionSchemas: [String: JSONValue] {
        let time: JSONValue = [
            "oneOf": [["type": "string", "format": "date-time"], ["type": "number", "minimum": 0]]
        ]
        let seconds: JSONValue = ["type": "number", "minimum": 0, "maximum": .double(EnqueueOptions.maxHorizon)]
        return [
            "run_at": time, "delay": seconds,
            "priority": [
                "type": "integer", "minimum": .int(EnqueueOptions.priorityRange.lowerBound), "maximum": .int(EnqueueOptions.priorityRange.upperBound),
            ],
            "expires_at": time, "expires_in": ["type": "number", "exclusiveMinimum": 0, "maximum": .double(EnqueueOptions.maxHorizon)],
            "idempotency_key": ["type": "string", "minLength": 1, "maxLength": .int(EnqueueOptions.maxKeyLength)],
            "unique_for": ["type": "number", "exclusiveMinimum": 0, "maximum": .double(EnqueueOptions.maxHorizon)],
            "webhook": ["type": "string", "format": "uri", "maxLength": .int(EnqueueOptions.maxURLLength)],
        ]
    }

    static let enqueueOptionDescriptions: [String: String] = [
        "run_at": "Run no sooner than this time (ISO 8601 in UTC, or seconds since 1970); the job waits as `scheduled`.",
        "delay": "Run no sooner than this many seconds from now (instead of run_at).",
        "priority": "Higher runs first among the queue's ready jobs; equal priorities run oldest first. Default 0.",
        "expires_at": "End the job `expired` if it has not started by this time.",
        "expires_in": "End the job `expired` if it has not started within this many seconds (instead of expires_at).",
        "idempotency_key": "As the Idempotency-Key header: a repeat answers the first job (`deduplicated: true`).",
        "webhook":
            "An http(s) URL the manager POSTs the outcome to when the job ends ({request_id, status, result or error, …}), signed in EasyJobs-Signature (t=<unix time>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">) with the manager's --webhook-secret; tried again with backoff until a 2xx answer. 409 webhooks_unavailable when the manager has no secret.",
        "unique_for":
            "A repeat of this task with the same arguments within this many seconds answers the earlier job, unless it failed, was cancelled or expired.",
    ]

    /// The options of a single enqueue: query parameters, and the key as a header.
    static var enqueueOptionParameters: [JSONValue] {
        enqueueOptionSchemas.sorted { $0.key < $1.key }.map { name, schema in
            [
                "name": .string(name), "in": "query", "required": false, "schema": schema,
                "description": .string(enqueueOptionDescriptions[name] ?? ""),
            ]
        } + [
            [
                "name": .string(EnqueueOptions.idempotencyHeader), "in": "header", "required": false,
                "schema": ["type": "string", "minLength": 1, "maxLength": .int(EnqueueOptions.maxKeyLength)],
                "description":
                    "A repeat of this key in the queue answers the job the first request made, which is not made again (kept as long as that job); with other arguments it is refused (422 idempotency_conflict).",
            ]
        ]
    }

    /// `POST /{queue}/tasks`: each element is one of the queue's tasks with its own argument schema.
    static func batchOperation(queue: String, tasks: [TaskSpec]) -> JSONValue {
        let elements: [JSONValue] = tasks.map { task in
            var arguments: [String: JSONValue] = [:]
            for parameter in task.parameters { arguments[parameter.name] = schema(of: parameter) }
            let required = task.parameters.filter { $0.required && $0.default == nil }.map { JSONValue.string($0.name) }
            var argumentsSchema: [String: JSONValue] = ["type": "object", "properties": .object(arguments), "additionalProperties": false]
            if !required.isEmpty { argumentsSchema["required"] = .array(required) }
            return [
                "type": "object", "required": ["task"], "additionalProperties": false,
                "properties": .object(
                    ["task": ["const": .string(task.name)], "arguments": .object(argumentsSchema)].merging(enqueueOptionSchemas) { a, _ in a }),
            ]
        }
        return [
            "tags": [.string(queue)],
            "x-queue": .string(queue),
            "operationId": .string("\(queue).batch"),
            "summary": "Enqueue many jobs of this queue at once",
            "description":
                "Every job is checked as a single enqueue checks it; then all are stored in one transaction, or none is (the error's context names the job by its `index`). At most the manager's batch limit (10,000 by default).",
            "parameters": [
                [
                    "name": "queue_anyway", "in": "query", "required": false, "schema": ["type": "boolean"],
                    "description": "Queue the jobs even when no host serves their tasks now.",
                ]
            ],
            "requestBody": [
                "required": true,
                "content": ["application/json": ["schema": ["type": "array", "minItems": 1, "items": ["oneOf": .array(elements)]]]],
            ],
            "responses": [
                "200": response("The jobs are stored; their request ids in the order given.", ref: "BatchEnqueueResponse"),
                "400": errorResponse("The body is not a JSON array of jobs, or it is empty."),
                "401": errorResponse("An API token is needed."),
                "403": errorResponse("The API token is wrong."),
                "404": errorResponse("No such queue or task."),
                "409": errorResponse("No host serves a task of the batch now."),
                "413": errorResponse("The body or the number of jobs is over the limit."),
                "422": errorResponse("A job's arguments do not fit its task's signature."),
            ],
        ]
    }

    static func response(_ description: String, ref: String) -> JSONValue {
        ["description": .string(description), "content": ["application/json": ["schema": ["$ref": .string("#/components/schemas/\(ref)")]]]]
    }

    static func errorResponse(_ description: String) -> JSONValue {
        response(description, ref: "Error")
    }

    static func query(_ name: String, _ description: String, required: Bool = false, type: String = "string") -> JSONValue {
        ["name": .string(name), "in": "query", "required": .bool(required), "schema": ["type": .string(type)], "description": .string(description)]
    }

    static func path(_ name: String) -> JSONValue {
        ["name": .string(name), "in": "path", "required": true, "schema": ["type": "string"]]
    }

    static func operation(
        _ summary: String, tag: String = "jobs", parameters: [JSONValue] = [], ok: JSONValue, errors: [String: String] = [:]
    ) -> JSONValue {
        var responses: [String: JSONValue] = ["200": ok]
        for (status, text) in errors { responses[status] = errorResponse(text) }
        return ["tags": [.string(tag)], "summary": .string(summary), "parameters": .array(parameters), "responses": .object(responses)]
    }

    /// Which dead jobs a bulk retry or discard takes.
    static let deadFilterParameters: [JSONValue] = [
        query("queue", "Only this queue."), query("task", "Only this task."),
        query("status", "Among failed, expired and cancelled, comma separated (default failed,expired)."),
        query("before", "Only jobs that ended before this time (ISO 8601 in UTC, or seconds since 1970)."),
        query("limit", "At most this many (1-10000, default 1000).", type: "integer"),
    ]

    static let requestID = query("request_id", "The job's request id (job_id is accepted too).", required: true)

    /// The routes documented per registered task above.
    static let perTaskPaths: Set<String> = ["/:queue/task/:task", "/:queue/tasks"]

    /// A fixed route's operation, with its path parameters declared.
    static func operation(for route: RouteBook.Route, compatibility: APICompatibility) -> JSONValue {
        var operation =
            operations["\(route.method) \(route.path)"]?.objectValue ?? [
                "summary": .string("\(route.method.uppercased()) \(route.path)"), "x-undocumented": true,
                "responses": ["200": ["description": "OK."]],
            ]
        if compatibility == .easyjobs, EasyJobsCompatibleRoutes.paths.contains(route.path) {
            operation["description"] = "Answered in the Python EasyJobs' shapes (the manager runs with --compat easyjobs)."
            operation["responses"] = ["200": ["description": "As the Python EasyJobs answers.", "content": ["application/json": ["schema": [:]]]]]
        }
        if !route.parameters.isEmpty {
            operation["parameters"] = .array(route.parameters.map(path) + (operation["parameters"]?.arrayValue ?? []))
        }
        return .object(operation)
    }

    /// What each fixed route does, by `"<method> <Hummingbird path>"`.
    static var operations: [String: JSONValue] {
        let listParameters = [
            query("namespace", "Only this queue."), query("name", "Only this task."), query("limit", "At most this many (1-1000).", type: "integer"),
        ]
        let list = response("Jobs, newest first.", ref: "JobList")
        let paused = response("What is paused now.", ref: "PausedWork")
        let schedule = ["description": "The schedule after.", "content": ["application/json": ["schema": ["type": "object"]]]] as JSONValue
        let html: JSONValue = ["description": "An HTML page.", "content": ["text/html": ["schema": ["type": "string"]]]]
        return [
            "get /job/view/result": operation(
                "A job: status, arguments, result or error, origin and the jobs it triggered.", parameters: [requestID],
                ok: response("The job.", ref: "JobView"), errors: ["400": "No request_id.", "404": "No such job.", "410": "Its result was pulled."]),
            "get /job/pull/result": [
                "tags": ["jobs"], "summary": "Waits for a job's result and consumes it.",
                "parameters": [requestID, query("wait", "Seconds to wait (default 5).", type: "number")],
                "responses": [
                    "200": ["description": "The result, as the task returned it.", "content": ["application/json": ["schema": [:]]]],
                    "202": response("Not finished within the wait.", ref: "PendingResult"),
                    "400": errorResponse("No request_id, or a wait that is not a number."), "404": errorResponse("No such job."),
                    "409": errorResponse("The job was cancelled (code job_cancelled)."),
                    "410": errorResponse("Already pulled (of concurrent pulls, all but one)."), "422": errorResponse("The job failed."),
                ],
            ],
            "get /job/view/graph": operation(
                "The whole pipeline reachable from a job.", parameters: [requestID], ok: response("Jobs and edges.", ref: "JobGraph"),
                errors: ["400": "No request_id.", "404": "No such job."]),
            "get /job/view/log": operation(
                "The lines a subprocess job wrote.", parameters: [requestID, query("limit", "Last lines.", type: "integer")],
                ok: response("The log.", ref: "JobLog"), errors: ["400": "No request_id.", "404": "No such job."]),
            "get /job/view/results": operation("Finished jobs.", parameters: listParameters, ok: list),
            "get /job/view/queued": operation("Queued jobs.", parameters: listParameters, ok: list),
            "get /job/view/running": operation("Running jobs.", parameters: listParameters, ok: list),
            "post /job/cancel": operation(
                "Cancels a job.", parameters: [requestID], ok: response("The job after.", ref: "JobView"),
                errors: ["400": "No request_id.", "404": "No such job."]),
            "get /tasks": operation(
                "Registered tasks by queue.", tag: "system",
                ok: [
                    "description": "Queues and their tasks.",
                    "content": ["application/json": ["schema": ["type": "array", "items": ["type": "object"]]]],
                ]),
            "get /hosts": operation(
                "Hosts with their queues (and weights) and plugins.", tag: "system",
                ok: ["description": "Hosts.", "content": ["application/json": ["schema": ["type": "array", "items": ["type": "object"]]]]]),
            "get /schedules": operation(
                "Schedules.", tag: "schedules",
                ok: ["description": "Schedules.", "content": ["application/json": ["schema": ["type": "array", "items": ["type": "object"]]]]]),
            "get /stats": operation(
                "Job counts by status.", tag: "system", parameters: [query("queue", "Only this queue.")],
                ok: [
                    "description": "Counts.",
                    "content": ["application/json": ["schema": ["type": "object", "additionalProperties": ["type": "integer"]]]],
                ]),
            "get /jobs": operation(
                "Jobs of any status, newest first, filtered and paged on the server.",
                parameters: [
                    query("queue", "Only this queue."), query("task", "Only this task."), query("status", "Only these statuses, comma separated."),
                    query("since", "Only jobs created after this time, in seconds since 1970.", type: "number"),
                    query("limit", "At most this many (1-1000, default 50).", type: "integer"), query("offset", "Skip this many.", type: "integer"),
                ],
                ok: list, errors: ["400": "An unknown status."]),
            "get /queues": operation(
                "Each queue: jobs by status now, finished in the last minute, paused.", tag: "system",
                ok: ["description": "Queues.", "content": ["application/json": ["schema": ["type": "array", "items": ["type": "object"]]]]]),
            "post /job/retry": operation(
                "Runs a failed, cancelled or expired job again, as a new job.", parameters: [requestID],
                ok: response("The new job's request id.", ref: "EnqueueResponse"),
                errors: ["400": "No request_id.", "404": "No such job.", "409": "The job has not ended."]),
            "post /jobs/retry": operation(
                "Queues dead jobs again in bulk, oldest first, each under its own request id: its tries start over. A job whose run_before dependencies did not all complete stays dead.",
                parameters: deadFilterParameters,
                ok: [
                    "description": "The jobs queued again.",
                    "content": [
                        "application/json": [
                            "schema": [
                                "type": "object",
                                "properties": ["retried": ["type": "integer"], "request_ids": ["type": "array", "items": ["type": "string"]]],
                            ]
                        ]
                    ],
                ],
                errors: ["400": "A status that is not dead, or a bad before or limit."]),
            "post /jobs/discard": operation(
                "Deletes dead jobs in bulk, oldest first, with their logs.", parameters: deadFilterParameters,
                ok: [
                    "description": "How many were deleted.",
                    "content": ["application/json": ["schema": ["type": "object", "properties": ["discarded": ["type": "integer"]]]]],
                ],
                errors: ["400": "A status that is not dead, or a bad before or limit."]),
            "post /job/discard": operation(
                "Deletes an ended job and its log.", parameters: [requestID],
                ok: [
                    "description": "The job is gone.",
                    "content": ["application/json": ["schema": ["type": "object", "properties": ["discarded": ["type": "string"]]]]],
                ],
                errors: ["400": "No request_id.", "404": "No such job.", "409": "The job has not ended."]),
            "post /schedules/:queue/:task/pause": operation(
                "Pauses a schedule: it fires no more until resumed.", tag: "schedules", ok: schedule, errors: ["404": "No such schedule."]),
            "post /schedules/:queue/:task/resume": operation(
                "Resumes a paused schedule.", tag: "schedules", ok: schedule, errors: ["404": "No such schedule."]),
            "post /schedules/:queue/:task/trigger": operation(
                "Fires a schedule now, with its default arguments.", tag: "schedules", ok: response("The job's request id.", ref: "EnqueueResponse"),
                errors: ["404": "No such schedule."]),
            "post /control/hosts/:name/pause": operation(
                "Pauses a host: it finishes its running jobs and claims no more.", tag: "control", ok: paused,
                errors: ["404": "No host of that name has registered."]),
            "post /control/hosts/:name/resume": operation(
                "Resumes a paused host.", tag: "control", ok: paused, errors: ["404": "No host of that name has registered."]),
            "post /control/queues/:queue/pause": operation("Pauses a queue: no host claims its jobs.", tag: "control", ok: paused),
            "post /control/queues/:queue/resume": operation("Resumes a paused queue.", tag: "control", ok: paused),
            "get /control/paused": operation("The paused hosts and queues.", tag: "control", ok: paused),
            "post /job/report": [
                "tags": ["hosts"], "summary": "A subprocess child's outcome, with its job token (X-EasyJobs-Job-Token) only.", "security": [],
                "parameters": [["name": "X-EasyJobs-Job-Token", "in": "header", "required": true, "schema": ["type": "string"]]],
                "requestBody": ["required": true, "content": ["application/json": ["schema": ["type": "object"]]]],
                "responses": [
                    "200": [
                        "description": "Recorded.",
                        "content": ["application/json": ["schema": ["type": "object", "properties": ["accepted": ["type": "string"]]]]],
                    ],
                    "400": errorResponse("Not a report."), "403": errorResponse("No token, a wrong one, or one of a run that is over."),
                    "413": errorResponse("Over the report size limit."),
                ],
            ],
            "post /job/progress": [
                "tags": ["hosts"], "summary": "A subprocess child's progress, with its job token (X-EasyJobs-Job-Token) only.", "security": [],
                "parameters": [["name": "X-EasyJobs-Job-Token", "in": "header", "required": true, "schema": ["type": "string"]]],
                "requestBody": [
                    "required": true,
                    "content": [
                        "application/json": [
                            "schema": [
                                "type": "object", "required": ["job_id", "lease", "fraction"],
                                "properties": [
                                    "job_id": ["type": "string"], "lease": ["type": "integer"],
                                    "fraction": ["type": "number", "minimum": 0, "maximum": 1],
                                    "message": ["type": "string"],
                                ],
                            ]
                        ]
                    ],
                ],
                "responses": [
                    "200": [
                        "description": "Recorded.",
                        "content": ["application/json": ["schema": ["type": "object", "properties": ["recorded": ["type": "boolean"]]]]],
                    ],
                    "400": errorResponse("Not a progress report."), "403": errorResponse("No token, a wrong one, or one of a run that is over."),
                    "413": errorResponse("Over the body size limit."),
                ],
            ],
            "get /openapi.json": [
                "tags": ["system"], "summary": "This document.", "security": [],
                "responses": ["200": ["description": "OpenAPI 3.1.", "content": ["application/json": ["schema": ["type": "object"]]]]],
            ],
            "get /docs": ["tags": ["system"], "summary": "An interactive page over this document.", "security": [], "responses": ["200": html]],
            "get /": ["tags": ["system"], "summary": "The dashboard.", "security": [], "responses": ["200": html]],
            "get /health": ["tags": ["system"], "summary": "For load balancers.", "security": [], "responses": ["200": ["description": "Up."]]],
            "get /metrics": [
                "tags": ["system"], "summary": "Prometheus metrics.", "security": [],
                "responses": ["200": ["description": "Prometheus text format.", "content": ["text/plain": ["schema": ["type": "string"]]]]],
            ],
        ]
    }

    static var schemas: [String: JSONValue] {
        let job: JSONValue = [
            "type": "object",
            "properties": [
                "request_id": ["type": "string"], "queue": ["type": "string"], "task": ["type": "string"],
                "status": ["type": "string", "enum": .array(JobStatus.allCases.map { .string($0.rawValue) })],
                "args": ["type": "object"], "attempts": ["type": "integer"], "result": [:], "error": ["type": "string"],
                "host": ["type": "string"], "created_at": ["type": "string", "format": "date-time"],
                "started_at": ["type": "string", "format": "date-time"], "finished_at": ["type": "string", "format": "date-time"],
                "origin": ["type": "object"], "triggered": ["type": "array"], "waits_on": ["type": "array"],
                "run_at": ["type": "string", "format": "date-time"], "priority": ["type": "integer"],
                "expires_at": ["type": "string", "format": "date-time"],
            ],
            "required": ["request_id", "queue", "task", "status"],
        ]
        return [
            "Error": [
                "type": "object", "required": ["error"],
                "properties": [
                    "error": [
                        "type": "object", "required": ["code", "message"],
                        "properties": ["code": ["type": "string"], "message": ["type": "string"], "context": ["type": "object"]],
                    ]
                ],
            ],
            "EnqueueResponse": [
                "type": "object", "required": ["request_id"],
                "properties": ["request_id": ["type": "string"], "deduplicated": ["type": "boolean"]],
            ],
            "BatchEnqueueResponse": [
                "type": "object", "required": ["request_ids"],
                "properties": [
                    "request_ids": ["type": "array", "items": ["type": "string"]],
                    "deduplicated": ["type": "array", "items": ["type": "integer"]],
                ],
            ],
            "PendingResult": ["type": "object", "properties": ["request_id": ["type": "string"], "status": ["type": "string"]]],
            "JobView": job,
            "JobList": [
                "type": "object",
                "properties": ["jobs": ["type": "array", "items": ["$ref": "#/components/schemas/JobView"]], "count": ["type": "integer"]],
            ],
            "JobGraph": [
                "type": "object",
                "properties": [
                    "root": ["type": "string"], "jobs": ["type": "array", "items": ["$ref": "#/components/schemas/JobView"]],
                    "edges": ["type": "array"],
                ],
            ],
            "JobLog": ["type": "object", "properties": ["request_id": ["type": "string"], "lines": ["type": "array"]]],
            "PausedWork": [
                "type": "object",
                "properties": ["hosts": ["type": "array", "items": ["type": "string"]], "queues": ["type": "array", "items": ["type": "string"]]],
            ],
        ]
    }
}

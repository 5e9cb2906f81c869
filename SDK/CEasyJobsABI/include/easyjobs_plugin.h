/*
 * easyjobs_plugin.h: the one boundary between an EasyJobs host and a plugin.
 *
 * A plugin is a shared library that exports one function,
 *
 *     const easyjobs_plugin_descriptor *easyjobs_plugin_entry_v1(void);
 *
 * whose name carries the ABI major version. The host resolves that symbol with
 * dlsym(), calls it, and checks the fixed header of the returned descriptor
 * (magic, size, ABI major and minor) before it reads anything else or calls any
 * other plugin function.
 *
 * No Swift type crosses this boundary: the host and each plugin carry their own
 * copy of every Swift type, and a cast between the copies fails silently.
 * Arguments, results, errors and task specifications cross as UTF-8 JSON bytes.
 *
 * Versioning rules
 *   - The first four fields of the descriptor (magic, struct_size, abi_major,
 *     abi_minor) are frozen for every ABI major, present and future, so a host
 *     can always read them to report a mismatch.
 *   - A new major renames the entry symbol (easyjobs_plugin_entry_v2, ...).
 *   - A new minor only appends fields to the end of a struct; struct_size tells
 *     the reader which fields exist. A host accepts plugins whose minor is less
 *     than or equal to its own.
 */
#ifndef EASYJOBS_PLUGIN_H
#define EASYJOBS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EASYJOBS_ABI_MAJOR 1
#define EASYJOBS_ABI_MINOR 2

/* "EJOB" in ASCII: tells a descriptor from random memory. */
#define EASYJOBS_DESCRIPTOR_MAGIC 0x454A4F42u

/* The versioned entry symbol of ABI major 1. */
#define EASYJOBS_ENTRY_SYMBOL_V1 "easyjobs_plugin_entry_v1"

/* How a task run ended, passed to easyjobs_complete_fn. */
typedef enum easyjobs_status {
    /* bytes: the result, a JSON value. */
    EASYJOBS_STATUS_SUCCESS = 0,
    /* bytes: a JSON object {"message": string, "type": string}. */
    EASYJOBS_STATUS_FAILURE = 1,
    /* bytes: a JSON object {"message": string}; the run observed cancellation. */
    EASYJOBS_STATUS_CANCELLED = 2,
} easyjobs_status;

/* Log levels of easyjobs_log_fn, ordered like swift-log's. */
typedef enum easyjobs_log_level {
    EASYJOBS_LOG_TRACE = 0,
    EASYJOBS_LOG_DEBUG = 1,
    EASYJOBS_LOG_INFO = 2,
    EASYJOBS_LOG_NOTICE = 3,
    EASYJOBS_LOG_WARNING = 4,
    EASYJOBS_LOG_ERROR = 5,
    EASYJOBS_LOG_CRITICAL = 6,
    /* A line the task printed as output (the seed's print()); the host shows it verbatim. */
    EASYJOBS_LOG_OUTPUT = 7,
} easyjobs_log_level;

/*
 * Called by the plugin exactly once per started run, from any thread. The bytes
 * are only valid during the call: the host copies them.
 */
typedef void (*easyjobs_complete_fn)(void *_Nullable host_ctx, int32_t status,
                                     const uint8_t *_Nullable bytes, size_t len);

/* Called by the plugin for each log line of a run, from any thread, before complete. */
typedef void (*easyjobs_log_fn)(void *_Nullable host_ctx, int32_t level,
                                const uint8_t *_Nullable message, size_t len);

/*
 * Answers a call (easyjobs_call_fn) exactly once, from any thread. status is an
 * easyjobs_status; bytes are the called job's result (SUCCESS) or a JSON object
 * {"message": string} (FAILURE), valid only during the call.
 */
typedef void (*easyjobs_call_reply_fn)(void *_Nullable reply_ctx, int32_t status,
                                       const uint8_t *_Nullable bytes, size_t len);

/*
 * ABI 1.1. A running task calls another task of its queue by name with keyword
 * arguments (a JSON object) and is answered through reply once that job has
 * finished. The host frees the caller's run slot while it waits, so a task
 * that awaits another can never deadlock a host. Only valid before the run's
 * complete; task and args are valid only during the call.
 */
typedef void (*easyjobs_call_fn)(void *_Nullable host_ctx, const char *_Nonnull task,
                                 const uint8_t *_Nullable args, size_t args_len,
                                 void *_Nullable reply_ctx, easyjobs_call_reply_fn _Nonnull reply);

/*
 * ABI 1.2. A running task asks the host for something other than a call, named by
 * kind, with a JSON object body; answered through reply exactly once, as a call is
 * (SUCCESS with a JSON object, or FAILURE with {"message": string}). Kinds:
 *   "enqueue"  {"task": name, "arguments": {...}, "options": {"delay": 30, ...}}
 *              makes a job of the run's queue without waiting for it; replies
 *              {"request_id": id}. Options are the manager's enqueue options
 *              (run_at, delay, priority, expires_at, expires_in, idempotency_key,
 *              unique_for).
 * A host answers FAILURE for a kind it does not know. Only valid before the run's
 * complete; kind and body are valid only during the call.
 */
typedef void (*easyjobs_request_fn)(void *_Nullable host_ctx, const char *_Nonnull kind,
                                    const uint8_t *_Nullable body, size_t body_len,
                                    void *_Nullable reply_ctx, easyjobs_call_reply_fn _Nonnull reply);

/*
 * One run of one task, built by the host. Every pointer is valid only for the
 * duration of the start call: the plugin copies what it keeps.
 */
typedef struct easyjobs_run {
    uint32_t struct_size;
    /* Host-chosen id of this run, unique within the process; used to cancel it. */
    uint64_t run_id;
    /* The job's id, NUL-terminated. */
    const char *_Nonnull job_id;
    /* The job's keyword arguments: a JSON object. */
    const uint8_t *_Nullable args;
    size_t args_len;
    /* What the job knows about itself: a JSON object with at least
       {"job_id", "queue", "task", "attempt"}, and "dependencies" (task name →
       result of each run_before task) when it has any. */
    const uint8_t *_Nullable context;
    size_t context_len;
    void *_Nullable host_ctx;
    easyjobs_complete_fn _Nonnull complete;
    easyjobs_log_fn _Nonnull log;

    /* ABI 1.1: read only when struct_size covers it. */
    easyjobs_call_fn _Nullable call;

    /* ABI 1.2: read only when struct_size covers it. */
    easyjobs_request_fn _Nullable request;
} easyjobs_run;

/*
 * Starts a run of the task at task_index (its index in tasks_json) and returns
 * at once; the run completes through run->complete. Returns 0 when the run was
 * started, non-zero when the index is out of range (complete is then not called).
 */
typedef int32_t (*easyjobs_start_fn)(uint32_t task_index, const easyjobs_run *_Nonnull run);

/* Asks a run to stop. A run that already completed is ignored. */
typedef void (*easyjobs_cancel_fn)(uint64_t run_id);

/* Runs started and not yet completed, so a host can tell when a version has drained. */
typedef uint64_t (*easyjobs_in_flight_fn)(void);

/*
 * What a plugin is. Returned by the entry point; lives as long as the process.
 * Strings are NUL-terminated UTF-8.
 */
typedef struct easyjobs_plugin_descriptor {
    /* Frozen header: identical for every ABI major. */
    uint32_t magic;        /* EASYJOBS_DESCRIPTOR_MAGIC */
    uint32_t struct_size;  /* sizeof(easyjobs_plugin_descriptor) of the plugin's build */
    uint16_t abi_major;
    uint16_t abi_minor;

    /* ABI 1.0 */
    const char *_Nonnull sdk_version;     /* e.g. "0.1.0" */
    const char *_Nonnull swift_version;   /* compiler that built the plugin, e.g. "6.3" */
    const char *_Nonnull target;          /* e.g. "x86_64-unknown-linux-gnu" */
    const char *_Nonnull plugin_name;
    const char *_Nonnull plugin_version;
    /*
     * The tasks, a JSON array; each element:
     *   {"name": "extract",
     *    "description": "…",
     *    "parameters": [{"name": "url", "type": "string", "required": true, "default": …}],
     *    "options": {"run_before": [], "run_after": ["transform"], "on_failure": null,
     *                "retry_policy": "retry_once", "subprocess": false,
     *                "schedule": "* * * * *", "default_args": {"url": "http://stats"},
     *                "timeout": 30.0}}
     * Parameter types: string, int, double, bool, object, array, any.
     * The task's entry is start_task with the element's index.
     */
    const uint8_t *_Nonnull tasks_json;
    size_t tasks_json_len;
    easyjobs_start_fn _Nonnull start_task;
    easyjobs_cancel_fn _Nonnull cancel_task;
    easyjobs_in_flight_fn _Nonnull in_flight;
} easyjobs_plugin_descriptor;

/* The entry point of ABI major 1, exported by every plugin of that major. */
typedef const easyjobs_plugin_descriptor *_Nonnull (*easyjobs_plugin_entry_v1_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* EASYJOBS_PLUGIN_H */

import EasyJobsCore
import HTTPTypes

extension EasyJobsError.Code {
    /// The HTTP status an error of this code is answered with.
    var httpStatus: HTTPResponse.Status {
        switch self {
        case .malformedRequest: .badRequest
        case .invalidArguments, .jobFailed, .idempotencyConflict: .unprocessableContent
        case .unknownQueue, .unknownTask, .jobNotFound, .hostNotFound, .notFound: .notFound
        case .resultConsumed: .gone
        case .leaseLost, .taskUnavailable, .hostIDInUse, .jobCancelled, .jobExpired, .jobStateConflict, .webhooksUnavailable: .conflict
        case .timedOut: .gatewayTimeout
        case .unauthorized, .sessionInvalid: .unauthorized
        case .forbidden: .forbidden
        case .payloadTooLarge: .contentTooLarge
        case .storeFailure, .managerUnavailable: .serviceUnavailable
        default: .internalServerError
        }
    }
}

import EasyJobsCore
import Hummingbird
import Logging
import NIOCore

/// Renders every error in the API's one JSON shape, `{"error": {"code", "message", "context"}}`,
/// whatever threw it: our own errors, Hummingbird's (no such route, body too large) or others.
/// With `--compat easyjobs` the shape is the Python EasyJobs' (FastAPI's) `{"detail": message}`.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    var compatibility: APICompatibility = .native

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        await render(request, context: context, next: next)
    }

    private func render(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async -> Response {
        do {
            return try await next(request, context)
        } catch let error as EasyJobsError {
            return self.error(error)
        } catch is NIOTooManyBytesError {
            return self.error(
                EasyJobsError(
                    .payloadTooLarge, "request body is over the limit of \(context.maxUploadSize) bytes",
                    context: ["limit": "\(context.maxUploadSize)"]))
        } catch let error as HTTPError {
            let code: EasyJobsError.Code =
                switch error.status {
                case .notFound: .notFound
                case .contentTooLarge: .payloadTooLarge
                case .badRequest: .malformedRequest
                case .unauthorized: .unauthorized
                case .forbidden: .forbidden
                default: .internalError
                }
            let message =
                error.status == .notFound
                ? "no endpoint \(request.method) \(request.uri.path)" : (error.body ?? error.status.reasonPhrase)
            var response = self.error(EasyJobsError(code, message))
            response.status = error.status
            return response
        } catch {
            context.logger.error("unexpected error: \(error)", metadata: ["path": "\(request.uri.path)"])
            return self.error(EasyJobsError(.internalError, "internal error: \(error)"))
        }
    }

    private func error(_ error: EasyJobsError) -> Response {
        switch compatibility {
        case .native: JSONResponse.error(error)
        case .easyjobs: JSONResponse.raw(JSONValue.object(["detail": .string(error.message)]).encoded(), status: error.code.httpStatus)
        }
    }
}

import EasyJobsCore
import Hummingbird
import Logging
import NIOCore

/// Renders every error in the API's one JSON shape, `{"error": {"code", "message", "context"}}`,
/// whatever threw it: our own errors, Hummingbird's (no such route, body too large) or others.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as EasyJobsError {
            return JSONResponse.error(error)
        } catch is NIOTooManyBytesError {
            return JSONResponse.error(
                EasyJobsError(.payloadTooLarge, "request body is over the limit of \(context.maxUploadSize) bytes",
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
            var response = JSONResponse.error(EasyJobsError(code, message))
            response.status = error.status
            return response
        } catch {
            context.logger.error("unexpected error: \(error)", metadata: ["path": "\(request.uri.path)"])
            return JSONResponse.error(EasyJobsError(.internalError, "internal error: \(error)"))
        }
    }
}

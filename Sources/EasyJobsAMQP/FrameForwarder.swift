import NIOCore

/// The last handler of the pipeline: hands decoded frames to the connection's actor, in order,
/// and ends the stream when the TCP connection ends or the decoder fails.
final class AMQPFrameForwarder: ChannelInboundHandler {
    typealias InboundIn = AMQPFrame

    private let continuation: AsyncThrowingStream<AMQPFrame, any Error>.Continuation

    init(_ continuation: AsyncThrowingStream<AMQPFrame, any Error>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        continuation.finish(throwing: error)
        context.close(promise: nil)
    }
}

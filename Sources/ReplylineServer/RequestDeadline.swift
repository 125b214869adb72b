import NIOCore
import NIOHTTPTypes

/// Closes a connection whose client does not send a whole request (head and body) within
/// `timeout` of the connection opening or of the previous response, so slow clients cannot
/// hold connections open by trickling bytes. Hummingbird's idle timeout resets on every
/// byte read; this deadline does not. The time spent answering is not counted.
///
/// Each response moves the deadline, but only a time is written then: the connection's one
/// timer, when it fires, closes the connection if the deadline has passed and otherwise
/// waits for it. Scheduling a task per request and cancelling it at the next took 1.6% of a
/// webhook's profile samples (a heap insert and removal, a promise and a closure each time).
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let timeout: TimeAmount
    /// When the request being read must be complete; nil while none is being read.
    private var deadline: NIODeadline?
    private var timer: Scheduled<Void>?
    /// Requests read whole and not yet answered (more than one when pipelined).
    private var unanswered = 0

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) {
            unanswered += 1
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            unanswered = max(0, unanswered - 1)
            if unanswered == 0 { arm(context) }
        }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    /// No clock and no timer: the connection is closed, or this handler left it.
    private func disarm() {
        timer?.cancel()
        timer = nil
        deadline = nil
    }

    /// Starts the clock for the next request.
    private func arm(_ context: ChannelHandlerContext) {
        let deadline = context.eventLoop.now + timeout
        self.deadline = deadline
        // A timer already set fires no later than this deadline and waits on from there.
        if timer == nil { wait(until: deadline, context) }
    }

    private func wait(until time: NIODeadline, _ context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: time) {
            let (handler, context) = loopBound.value
            handler.expire(context)
        }
    }

    private func expire(_ context: ChannelHandlerContext) {
        timer = nil
        // No request being read: the next response arms the clock again.
        guard let deadline else { return }
        if deadline <= context.eventLoop.now {
            context.close(promise: nil)
        } else {
            wait(until: deadline, context)
        }
    }
}

public import HummingbirdCore
import Logging
import NIOCore

/// Runs a Swift task's jobs on one NIO event loop: the task executor that keeps a connection's
/// handler on the thread that does the connection's I/O.
///
/// Without it, Hummingbird hands every request from the connection's event loop to Swift's
/// cooperative pool and back, and the upstream call and its answer make the same round trip: a
/// thread wake-up each way, which on a 2-core machine is most of what a gateway adds to a call.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}

/// A child channel whose connection handling task prefers the connection's event loop as its
/// executor, so parsing, the gateway's pipeline, the upstream call (AsyncHTTPClient prefers a
/// pooled connection on the loop it is called from), the group commit and the response all run
/// on one thread per connection.
struct EventLoopBoundChannel<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value
    let inner: Inner

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor(value.channel.eventLoop)) {
            await inner.handle(value: value, logger: logger)
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1, each connection handled on its own event loop.
    public static func http1BoundToEventLoops(configuration: HTTP1Channel.Configuration = .init()) -> HTTPServerBuilder {
        .init { responder in EventLoopBoundChannel(inner: HTTP1Channel(responder: responder, configuration: configuration)) }
    }
}

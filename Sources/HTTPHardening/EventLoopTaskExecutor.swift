import NIOCore

/// A Swift concurrency task executor that runs every job on one NIO event loop.
///
/// A task that prefers it (`withTaskExecutorPreference`) runs its nonisolated code, its child tasks and the jobs of
/// the default actors it calls on that loop's thread, so the work of a request and the socket work of its
/// connection stay on one thread instead of handing over to the cooperative pool and back at every suspension.
/// Anything run under it holds up every other channel of the loop while it runs: work of milliseconds (an embedding
/// model, an index build) must prefer `globalConcurrentExecutor` (or other threads) for its duration.
public final class EventLoopTaskExecutor: TaskExecutor {
    /// The loop the jobs run on.
    public let eventLoop: any EventLoop

    /// An executor over `eventLoop`.
    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Schedules `job` on the loop (behind whatever the loop has queued).
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
